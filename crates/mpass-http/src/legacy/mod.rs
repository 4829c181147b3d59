//! The legacy `/v1` API of the earlier open-source Movement Pass (SPEC §12), served only
//! when `compat_v1` is on, so that its clients work against this server unchanged.
//!
//! Its shapes are the old ones (camelCase, `{"errors": [...]}`, 403 for a missing token,
//! upper-case statuses); its behaviour is ours: every body is validated and refused with
//! 400 when wrong (the original answered success and dropped it), registration writes our
//! `Profile`, and `POST /v1/passes` goes through `service::submit_application` — the same
//! store transaction, queue, policy and signed pass as the native API — answering
//! `{"success": true}` only after the commit. Details and choices: `docs/LEGACY_V1.md`.

mod auth;
pub(crate) mod error;
mod identity;
mod passes;
mod upload;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::ratelimit::RateLimiter;
use crate::state::AppState;

pub(crate) use error::LegacyError;

/// Failed legacy logins allowed per phone per minute (the login is phone + date of birth,
/// weak by the old design: this bounds guessing to a few a minute per phone).
const FAILED_LOGINS_PER_PHONE: u32 = 5;
/// Failed legacy logins allowed per client address per minute (carrier NAT in mind).
const FAILED_LOGINS_PER_IP: u32 = 60;

/// State of the legacy API: failed-login limits and the key of pre-signed upload URLs.
pub struct LegacyState {
    failed_by_phone: RateLimiter<String>,
    failed_by_ip: RateLimiter,
    /// HMAC key of upload URLs, derived from the node's secret so every node agrees.
    upload_key: [u8; 32],
}

impl LegacyState {
    pub fn new(secret: &[u8]) -> LegacyState {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"mpass legacy v1 upload url key\0");
        h.update(secret);
        LegacyState {
            failed_by_phone: RateLimiter::per_minute(FAILED_LOGINS_PER_PHONE),
            failed_by_ip: RateLimiter::per_minute(FAILED_LOGINS_PER_IP),
            upload_key: h.finalize().into(),
        }
    }
}

/// Every `/v1` route, with the CORS the legacy browser clients need.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/identity/photo", post(upload::presign))
        .route(
            "/v1/uploads/{name}",
            put(upload::put)
                .get(upload::get)
                .layer(DefaultBodyLimit::max(upload::MAX_UPLOAD_BODY)),
        )
        .route("/v1/identity/register", post(identity::register))
        .route("/v1/identity/login", post(identity::login))
        .route("/v1/passes", post(passes::submit).get(passes::list))
        .route("/v1/passes/{id}", get(passes::detail))
        // Set before the CORS layer, so that the layer wraps it and still answers
        // preflights (`OPTIONS` has no handler of its own); the native API's 405 fallback,
        // set on the whole router after this, leaves a route's own fallback alone.
        .method_not_allowed_fallback(|| async { LegacyError::from(crate::error::ApiError::MethodNotAllowed) })
        .layer(axum::middleware::from_fn(cors))
}

/// CORS for any origin: the legacy web client is served from elsewhere. Preflights are
/// answered here (cached a day); every other answer carries `Access-Control-Allow-Origin`.
/// No credentials are involved (tokens travel in a header or the body), so `*` is safe.
async fn cors(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            // The legacy web client also sends Cache-Control with its photo upload.
            HeaderValue::from_static("Authorization, Content-Type, Cache-Control, Accept"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    }
    res
}

/// A JSON body of the legacy API: `application/json`, within the body limit, parsed
/// strictly (unknown fields refused); every failure in the legacy envelope.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned> axum::extract::FromRequest<AppState> for Body<T> {
    type Rejection = LegacyError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(LegacyError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ));
        }
        let bytes = crate::extract::body_bytes(req, state)
            .await
            .map_err(LegacyError::from)?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| LegacyError::bad(format!("Invalid request body: {e}")))
    }
}

/// An instant as the legacy clients read it: ISO-8601 in UTC with milliseconds and `Z`.
pub(crate) fn iso_ms(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The public base URL of this service, without a trailing slash: the configured one, or
/// the request's `Host` (https when a trusted proxy says so).
pub(crate) fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    let https = state.settings.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_have_milliseconds_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(iso_ms(t), "2023-11-14T22:13:20.123Z");
        let t = t.to_offset(time::UtcOffset::from_hms(6, 0, 0).unwrap());
        assert_eq!(iso_ms(t), "2023-11-14T22:13:20.123Z");
    }
}
