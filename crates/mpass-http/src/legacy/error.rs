//! Errors of the legacy API: `{"errors": ["message", ...]}` with the status the old
//! clients expect. Internal failures are logged once, here, and answered opaquely.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::ports::StoreError;

use crate::error::ApiError;

/// A legacy error answer.
#[derive(Debug)]
pub(crate) struct LegacyError {
    pub status: StatusCode,
    pub messages: Vec<String>,
    pub retry_after: Option<i64>,
}

impl LegacyError {
    pub fn status(status: StatusCode, message: impl Into<String>) -> LegacyError {
        LegacyError {
            status,
            messages: vec![message.into()],
            retry_after: None,
        }
    }

    /// 400 with one message.
    pub fn bad(message: impl Into<String>) -> LegacyError {
        LegacyError::status(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with every message (all problems of a body at once).
    pub fn invalid(messages: Vec<String>) -> LegacyError {
        LegacyError {
            status: StatusCode::BAD_REQUEST,
            messages,
            retry_after: None,
        }
    }

    /// 403: the Authorization header (or body token) is missing or malformed.
    pub fn no_token() -> LegacyError {
        LegacyError::status(StatusCode::FORBIDDEN, "Missing or malformed token")
    }

    /// 401: the token is invalid or expired.
    pub fn bad_token() -> LegacyError {
        LegacyError::status(StatusCode::UNAUTHORIZED, "Invalid or expired token")
    }

    pub fn not_found() -> LegacyError {
        LegacyError::status(StatusCode::NOT_FOUND, "Not found")
    }
}

impl From<StoreError> for LegacyError {
    fn from(e: StoreError) -> Self {
        LegacyError::from(ApiError::from(e))
    }
}

impl From<ApiError> for LegacyError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Validation(errors) => LegacyError::invalid(
                errors
                    .0
                    .into_iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect(),
            ),
            ApiError::InvalidJson { detail, .. } => LegacyError::bad(detail),
            ApiError::UnsupportedMediaType(want) => LegacyError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type must be {want}"),
            ),
            ApiError::PayloadTooLarge => {
                LegacyError::status(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
            }
            ApiError::RequestTimeout => {
                LegacyError::status(StatusCode::REQUEST_TIMEOUT, "Request body did not arrive in time")
            }
            ApiError::BadRequest { detail, .. } | ApiError::Conflict { detail, .. } => LegacyError::bad(detail),
            ApiError::Unauthorized => LegacyError::bad_token(),
            ApiError::Forbidden => LegacyError::status(StatusCode::FORBIDDEN, "Forbidden"),
            ApiError::NotFound => LegacyError::not_found(),
            ApiError::MethodNotAllowed => LegacyError::status(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            ApiError::IdempotencyKeyReused => LegacyError::bad("Duplicate request"),
            ApiError::RateLimited { retry_after } => LegacyError {
                status: StatusCode::TOO_MANY_REQUESTS,
                messages: vec!["Too many requests, try again later".into()],
                retry_after: Some(retry_after),
            },
            ApiError::TooManyConnections => LegacyError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                messages: vec!["Too many connections, try again later".into()],
                retry_after: Some(1),
            },
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "legacy.unavailable");
                LegacyError::status(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable, try again")
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "legacy.internal");
                LegacyError::status(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl IntoResponse for LegacyError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(serde_json::json!({ "errors": self.messages }))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
