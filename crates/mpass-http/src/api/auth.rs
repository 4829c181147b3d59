//! Login by SMS code, token refresh and logout (SPEC §2).

use std::net::{IpAddr, SocketAddr};

use axum::Json as AxumJson;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use mpass_domain::otp;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{NewJob, OtpCheck, OtpSendRefused};
use mpass_domain::token::{ACCESS_TTL_SECS, REFRESH_TTL_SECS, hash_refresh_token, new_refresh_token};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    phone: String,
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

fn parse_phone(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).ok_or_else(|| {
        ApiError::field(
            "phone",
            "invalid_phone",
            "Enter a Bangladeshi mobile number, e.g. 01712345678.",
            "বাংলাদেশি মোবাইল নম্বর দিন, যেমন ০১৭১২৩৪৫৬৭৮।",
        )
    })
}

/// The socket peer, when the server runs with connect info (it always does outside tests).
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// The client address for rate limits: the socket peer, or the rightmost forwarded
/// address when the operator says a proxy of theirs is in front.
fn client_ip(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    if state.settings.trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip())
}

/// `POST /api/v1/auth/otp`: sends a code. Answers the same whether or not the phone is known.
pub async fn send_otp(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Json(req): Json<OtpRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let phone = parse_phone(&req.phone)?;
    let ip = client_ip(&state, &headers, peer);
    state
        .otp_ip_limit
        .check(ip)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let code = otp::generate_code();
    let hash = otp::hash_code(&state.settings.otp_key, phone.as_str(), &code);
    let body = format!("Movement Pass code: {code}. Valid 5 minutes. / মুভমেন্ট পাস কোড: {code}। ৫ মিনিট বৈধ।");
    let sms = NewJob::sms(&phone, &body);
    match state
        .store
        .otp_issue(&phone, &hash, sms, OffsetDateTime::now_utc())
        .await?
    {
        Ok(()) => {
            state.queue.notify();
            Ok((
                StatusCode::ACCEPTED,
                AxumJson(json!({ "expires_in": otp::CODE_TTL_SECS, "retry_after": otp::RESEND_AFTER_SECS })),
            ))
        }
        Err(OtpSendRefused::RetryAfter(retry_after)) => Err(ApiError::RateLimited { retry_after }),
    }
}

async fn issue_tokens(
    state: &AppState,
    user: mpass_domain::ports::User,
    now: OffsetDateTime,
) -> Result<AxumJson<serde_json::Value>, ApiError> {
    let access = state.tokens.issue_access(
        &user.id.to_string(),
        user.role_names(),
        user.districts(),
        now.unix_timestamp(),
    );
    let (refresh, hash) = new_refresh_token();
    state
        .store
        .refresh_create(&hash, user.id, now + Duration::seconds(REFRESH_TTL_SECS))
        .await?;
    Ok(AxumJson(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
    })))
}

fn invalid_code() -> ApiError {
    ApiError::field(
        "code",
        "invalid_code",
        "The code is wrong or has expired. Ask for a new one.",
        "কোডটি ভুল বা মেয়াদোত্তীর্ণ। নতুন কোড চান।",
    )
}

/// `POST /api/v1/auth/token`: exchanges phone and code for tokens.
pub async fn token(
    State(state): State<AppState>,
    Json(req): Json<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let phone = parse_phone(&req.phone)?;
    if !otp::is_well_formed(&req.code) {
        return Err(invalid_code());
    }
    let now = OffsetDateTime::now_utc();
    let hash = otp::hash_code(&state.settings.otp_key, phone.as_str(), &req.code);
    match state.store.otp_check(&phone, &hash, now).await? {
        OtpCheck::Valid => {}
        OtpCheck::Invalid => return Err(invalid_code()),
    }
    let user = state.store.user_by_phone_or_create(&phone, now).await?;
    tracing::info!(user.id = %user.id, "auth.login");
    issue_tokens(&state, user, now).await
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token.
pub async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if req.refresh_token.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    let now = OffsetDateTime::now_utc();
    let old = hash_refresh_token(&req.refresh_token);
    let (token, new_hash) = new_refresh_token();
    let expires = now + Duration::seconds(REFRESH_TTL_SECS);
    let user_id = state
        .store
        .refresh_rotate(&old, &new_hash, now, expires)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let user = state.store.user(user_id).await?.ok_or(ApiError::Unauthorized)?;
    let access = state.tokens.issue_access(
        &user.id.to_string(),
        user.role_names(),
        user.districts(),
        now.unix_timestamp(),
    );
    Ok(AxumJson(json!({
        "access_token": access,
        "refresh_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
    })))
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
