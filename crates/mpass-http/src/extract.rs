//! Request body parsing that answers in problem+json: strict JSON with clear errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use mpass_domain::error::FieldError;

use crate::error::ApiError;

mod strict;

/// A JSON body, parsed strictly (unknown fields refused by the domain input types).
pub struct Json<T>(pub T);

/// A JSON body kept as bytes too, for hashing (`Idempotency-Key`).
pub struct JsonWithBytes<T>(pub T, pub Bytes);

fn require_json(req: &Request) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("application/json"))
    }
}

/// Reads the whole body within the route's limit.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else if too_slow(&e) {
            ApiError::RequestTimeout
        } else {
            ApiError::invalid_json(e.body_text())
        }
    })
}

/// Whether reading a body failed because it arrived too slowly (`listener::SlowBody`).
pub(crate) fn too_slow(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |c| c.source()).any(|c| c.is::<crate::listener::BodyTooSlow>())
}

/// Parses JSON strictly (`strict`: an object where the API takes one, no Rust type names in
/// the errors), naming the line and column of the first problem and, when one value is at
/// fault, that value's field (`errors`, as a validation error would).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = T::deserialize(strict::Strict(&mut de)).and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| {
        if e.classify() != serde_json::error::Category::Data {
            return not_json(&e, None);
        }
        // Read again to find the path to the value at fault: tracking it costs an
        // allocation per key, which a body that reads (every online check's) is spared.
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, T>(strict::Strict(&mut de)) {
            Err(tracked) => {
                let path = tracked.path().to_string();
                let inner = tracked.into_inner();
                let field = field_error(&path, &inner);
                not_json(&inner, Some(field))
            }
            Ok(_) => not_json(&e, None),
        }
    })
}

fn not_json(e: &serde_json::Error, field: Option<FieldError>) -> ApiError {
    ApiError::InvalidJson {
        detail: format!("The body is not valid JSON for this request: {e}"),
        field: field.map(Box::new),
    }
}

/// The field a data error is about: the path to the value, or for a missing or unknown
/// field the path to its object and the field's name.
fn field_error(path: &str, e: &serde_json::Error) -> FieldError {
    let text = e.to_string();
    // serde_json ends its messages with the position, which `detail` gives.
    let message = text.rsplit_once(" at line ").map_or(&text[..], |(m, _)| m);
    let named = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
        rest.split_once('`').map(|(name, _)| name.to_string())
    };
    let within = |name: String| match path {
        "." | "" => name,
        p => format!("{p}.{name}"),
    };
    let (field, code, en, bn) = if let Some(name) = named("missing field ") {
        (within(name), "required", "This field is required.", "এই তথ্যটি আবশ্যক।")
    } else if let Some(name) = named("unknown field ") {
        // The path already ends with the unknown key.
        let named_last = path == name || path.ends_with(&format!(".{name}"));
        let field = if named_last { path.to_string() } else { within(name) };
        (
            field,
            "unknown_field",
            "This request does not take this field.",
            "এই অনুরোধে এই তথ্যটি নেওয়া হয় না।",
        )
    } else {
        (path.to_string(), "invalid_type", message, "এই তথ্যটির ধরন বা মান সঠিক নয়।")
    };
    FieldError {
        field,
        code,
        message: en.to_string(),
        message_bn: bn.to_string(),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(&req)?;
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(&req)?;
        let bytes = body_bytes(req, state).await?;
        let value = parse_json(&bytes)?;
        Ok(JsonWithBytes(value, bytes))
    }
}

/// A whole request body within the route's limit; too large → 413 problem+json.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        body_bytes(req, state).await.map(Body)
    }
}

/// A query string parsed strictly; anything malformed → 400 `invalid_query` problem+json.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_query",
                detail: e.body_text(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Place {
        area: String,
        floor: Option<u8>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Trip {
        OneWay,
        RoundTrip,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Code(String);

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Input {
        phone: String,
        from: Place,
        trip: Trip,
        stops: Vec<Place>,
        code: Option<Code>,
    }

    fn problem(body: &str) -> (String, Option<FieldError>) {
        match parse_json::<Input>(body.as_bytes()) {
            Ok(v) => panic!("{body} was taken: {v:?}"),
            Err(ApiError::InvalidJson { detail, field }) => {
                assert!(!detail.contains("struct") && !detail.contains("Input"), "{detail}");
                (detail, field.map(|f| *f))
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    fn field(body: &str) -> (String, &'static str) {
        let f = problem(body).1.unwrap_or_else(|| panic!("{body}: no field named"));
        assert!(!f.message.is_empty() && !f.message_bn.is_empty(), "{f:?}");
        (f.field, f.code)
    }

    const VALID: &str = r#"{"phone": "01712345678", "from": {"area": "30260014", "floor": null},
        "trip": "round_trip", "stops": [{"area": "30260015"}], "code": "123456"}"#;

    #[test]
    fn a_valid_body_reads_as_before() {
        let v: Input = parse_json(VALID.as_bytes()).expect("valid");
        assert_eq!(v.from.area, "30260014");
        assert_eq!(v.trip, Trip::RoundTrip);
        assert_eq!(
            v.stops,
            vec![Place {
                area: "30260015".into(),
                floor: None
            }]
        );
        assert_eq!(v.code, Some(Code("123456".into())));
    }

    /// serde alone takes a struct's fields in order from an array, at any depth.
    #[test]
    fn an_array_where_an_object_belongs_is_refused() {
        for (body, at) in [
            (r#"["01712345678", {"area": "1"}, "one_way", [], null]"#, "."),
            (
                r#"{"phone": "0", "from": ["30260014", null], "trip": "one_way", "stops": []}"#,
                "from",
            ),
            (
                r#"{"phone": "0", "from": {"area": "1"}, "trip": "one_way", "stops": [["1", 2]]}"#,
                "stops[0]",
            ),
        ] {
            let (detail, f) = problem(body);
            assert!(detail.contains("expected a JSON object"), "{detail}");
            assert_eq!(f.map(|f| f.field).as_deref(), Some(at), "{body}");
        }
        let (detail, _) = problem("null");
        assert!(
            detail.contains("invalid type: null, expected a JSON object"),
            "{detail}"
        );
    }

    #[test]
    fn the_value_at_fault_is_named() {
        let base = r#""phone": "0", "trip": "one_way", "stops": []"#;
        assert_eq!(
            field(r#"{"from": {"area": "1"}, "trip": "one_way", "stops": []}"#),
            ("phone".into(), "required")
        );
        assert_eq!(
            field(&format!(r#"{{{base}, "from": {{}}}}"#)),
            ("from.area".into(), "required")
        );
        assert_eq!(
            field(&format!(r#"{{{base}, "from": {{"area": 5}}}}"#)),
            ("from.area".into(), "invalid_type")
        );
        assert_eq!(
            field(&format!(r#"{{{base}, "from": {{"area": "1", "lift": true}}}}"#)),
            ("from.lift".into(), "unknown_field")
        );
        assert_eq!(
            field(&format!(r#"{{{base}, "from": {{"area": "1"}}, "priority": 1}}"#)),
            ("priority".into(), "unknown_field")
        );
        let (at, code) = field(r#"{"phone": "0", "from": {"area": "1"}, "trip": "both_ways", "stops": []}"#);
        assert_eq!((at.as_str(), code), ("trip", "invalid_type"));
        let (detail, _) = problem(r#"{"phone": "0", "from": {"area": "1"}, "trip": "both_ways", "stops": []}"#);
        assert!(detail.contains("expected `one_way` or `round_trip`"), "{detail}");
    }

    #[test]
    fn broken_json_names_no_field() {
        for body in [r#"{"phone": "#, "not json", "", &format!("{VALID} trailing")] {
            let (detail, f) = problem(body);
            assert!(detail.contains("line"), "{detail}");
            assert!(f.is_none(), "{body}: {f:?}");
        }
    }
}
