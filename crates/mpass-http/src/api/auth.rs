//! Login by SMS code, token refresh and logout (SPEC §2).

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use mpass_domain::language::Language;
use mpass_domain::otp;
use mpass_domain::token::{ACCESS_TTL_SECS, hash_refresh_token};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::service::{self, Peer};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    phone: String,
    /// The language of the SMS (`en` or `bn`); else `Accept-Language`, else Bangla.
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    phone: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// `POST /api/v1/auth/otp`: sends a code, in the language the request asks for. Answers the
/// same whether or not the phone is known.
pub async fn send_otp(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Json(req): Json<OtpRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let ip = service::client_ip(&state, &headers, peer);
    let lang = match &req.language {
        Some(raw) => service::parse_language(raw)?,
        None => headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Language::from_accept_language)
            .unwrap_or(Language::NOTIFICATION_DEFAULT),
    };
    service::send_otp(&state, &req.phone, ip, lang).await?;
    Ok((
        StatusCode::ACCEPTED,
        AxumJson(json!({ "expires_in": otp::CODE_TTL_SECS, "retry_after": otp::RESEND_AFTER_SECS })),
    ))
}

fn tokens_json(tokens: service::Tokens) -> AxumJson<serde_json::Value> {
    AxumJson(json!({
        "access_token": tokens.access,
        "refresh_token": tokens.refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
    }))
}

/// `POST /api/v1/auth/token`: exchanges phone and code for tokens.
pub async fn token(
    State(state): State<AppState>,
    Json(req): Json<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(tokens_json(service::login(&state, &req.phone, &req.code).await?))
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token.
pub async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(tokens_json(service::refresh(&state, &req.refresh_token).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    refresh_token: Option<String>,
}

/// `POST /api/v1/auth/logout`: revokes the given refresh token, or every one of the caller's.
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let now = OffsetDateTime::now_utc();
    let req: LogoutRequest = if body.is_empty() {
        LogoutRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    match req.refresh_token {
        Some(t) if t.len() <= 128 => state.store.refresh_revoke(&hash_refresh_token(&t), now).await?,
        Some(_) => {
            return Err(ApiError::BadRequest {
                code: "invalid_refresh_token",
                detail: "Malformed refresh token.".into(),
            });
        }
        None => state.store.refresh_revoke_user(caller.user_id, now).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /.well-known/jwks.json`: the access-token public keys.
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        AxumJson(state.tokens.jwks()),
    )
}
