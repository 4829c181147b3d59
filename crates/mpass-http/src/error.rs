//! One error type for the HTTP layer, rendered as RFC 9457 problem+json with a stable code.
//!
//! Internal failures are logged once, here, and answered with an opaque 500/503.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::error::{FieldError, ValidationErrors};
use mpass_domain::ports::StoreError;
use serde_json::json;

/// Everything a handler can answer besides success.
#[derive(Debug)]
pub enum ApiError {
    /// The body is not valid JSON for this route (detail says where); `field` names the
    /// value at fault when there is one (a missing field, a value of the wrong type).
    InvalidJson {
        detail: String,
        field: Option<Box<FieldError>>,
    },
    UnsupportedMediaType(&'static str),
    PayloadTooLarge,
    /// The body did not arrive in time (`listener::SlowBody`).
    RequestTimeout,
    Validation(ValidationErrors),
    /// A bad value outside a JSON body (query, header, path).
    BadRequest {
        code: &'static str,
        detail: String,
    },
    Unauthorized,
    Forbidden,
    NotFound,
    /// The path exists, the method does not (the response keeps axum's `Allow` header).
    MethodNotAllowed,
    Conflict {
        code: &'static str,
        detail: String,
    },
    /// Same `Idempotency-Key` with a different body.
    IdempotencyKeyReused,
    RateLimited {
        retry_after: i64,
    },
    Unavailable(String),
    /// The client's address holds as many connections as it may (`listener::limits`).
    TooManyConnections,
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error answers with, in the API and on the pages alike.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            InvalidJson { detail, .. } => (StatusCode::BAD_REQUEST, "invalid_json", detail.clone()),
            UnsupportedMediaType(want) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Send the body as {want}."),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.".into(),
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time; send the request again.".into(),
            ),
            Validation(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{} field(s) are invalid.", e.0.len()),
            ),
            BadRequest { code, detail } => (StatusCode::BAD_REQUEST, code, detail.clone()),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Log in again: the token is missing, invalid or expired.".into(),
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Your role does not allow this.".into(),
            ),
            NotFound => (StatusCode::NOT_FOUND, "not_found", "No such resource.".into()),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This resource does not take that method; the Allow header lists those it takes.".into(),
            ),
            Conflict { code, detail } => (StatusCode::CONFLICT, code, detail.clone()),
            IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different body.".into(),
            ),
            RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests; retry after {retry_after} s."),
            ),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The service is busy; retry shortly.".into(),
            ),
            TooManyConnections => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_connections",
                "Too many connections from your address; retry shortly.".into(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side.".into(),
            ),
        }
    }

    /// A body that is not valid JSON for its route, with no one value at fault.
    pub fn invalid_json(detail: impl Into<String>) -> ApiError {
        ApiError::InvalidJson {
            detail: detail.into(),
            field: None,
        }
    }

    /// Shorthand for a single-field validation error.
    pub fn field(field: &str, code: &'static str, en: &str, bn: &str) -> ApiError {
        ApiError::Validation(ValidationErrors(vec![FieldError {
            field: field.into(),
            code,
            message: en.into(),
            message_bn: bn.into(),
        }]))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(d) => ApiError::Unavailable(d),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        match &self {
            ApiError::Internal(d) => tracing::error!(error = %d, "request.internal_error"),
            ApiError::Unavailable(d) => tracing::warn!(error = %d, "request.unavailable"),
            _ => {}
        }
        let mut body = json!({
            "type": format!("https://mpass.example/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        });
        match &self {
            ApiError::Validation(e) => body["errors"] = serde_json::to_value(&e.0).unwrap_or_default(),
            ApiError::InvalidJson { field: Some(f), .. } => body["errors"] = json!([f]),
            _ => {}
        }
        if let ApiError::RateLimited { retry_after } = &self {
            body["retry_after"] = json!(retry_after);
        }
        let mut res = (status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::RateLimited { retry_after } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if matches!(self, ApiError::TooManyConnections) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, ApiError::Unauthorized) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
