//! Passes (SPEC §7, §8): the pass itself, its QR code, the trust list and revocations.

use axum::Json as AxumJson;
use axum::extract::{Path, State};

use crate::extract::{Json, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mpass_domain::application::Status;
use mpass_domain::ids::PassId;
use mpass_domain::pass::{qr_png as render_png, qr_svg as render_svg};
use mpass_domain::ports::PassRecord;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::rfc3339;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

/// Loads a pass the caller may see: the holder's own, or any for staff; 404 otherwise.
async fn visible_pass(state: &AppState, caller: &Caller, raw_id: &str) -> Result<(PassRecord, Status), ApiError> {
    let (pass, app) = service::visible_pass(state, caller.user_id, caller.is_staff(), raw_id).await?;
    Ok((pass, app.status))
}

/// `GET /api/v1/passes/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (pass, app_status) = visible_pass(&state, &caller, &id).await?;
    Ok(AxumJson(json!({
        "id": pass.id.to_string(),
        "application_id": pass.application_id.to_string(),
        "status": service::pass_status(&pass, app_status, OffsetDateTime::now_utc()),
        "valid_from": rfc3339(pass.valid_from),
        "valid_until": rfc3339(pass.valid_until),
        "issued_at": rfc3339(pass.issued_at),
        "qr_text": pass.qr_text,
        "short_code": pass.short_code,
        "kid": pass.kid,
        "qr_svg_url": format!("/api/v1/passes/{}/qr.svg", pass.id),
        "qr_png_url": format!("/api/v1/passes/{}/qr.png", pass.id),
    })))
}

/// `GET /api/v1/passes/{id}/qr.svg`.
pub async fn qr_svg(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (pass, _) = visible_pass(&state, &caller, &id).await?;
    let svg = render_svg(&pass.qr_text).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /api/v1/passes/{id}/qr.png`.
pub async fn qr_png(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (pass, _) = visible_pass(&state, &caller, &id).await?;
    let png = render_png(&pass.qr_text, 6).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

/// `GET /api/v1/trust-list`: the pass-signing public keys as a JWK Set.
pub async fn trust_list(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.pass_keys.trust_list().to_jwks_json(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationQuery {
    since: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/revocations?since=SEQ`: revoked pass ids after SEQ, and the latest SEQ.
pub async fn revocations(
    State(state): State<AppState>,
    Query(q): Query<RevocationQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let since = q.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            detail: "since must be a sequence number ≥ 0.".into(),
        });
    }
    let limit = super::limit(q.limit, 10_000, 10_000)?;
    let (seq, list) = state.store.revocations_since(since, limit).await?;
    let revoked: Vec<_> = list
        .iter()
        .map(|r| json!({ "seq": r.seq, "pass_id": r.pass_id.to_string(), "revoked_at": rfc3339(r.revoked_at) }))
        .collect();
    Ok(AxumJson(
        json!({ "seq": seq, "revoked": revoked, "generated_at": rfc3339(OffsetDateTime::now_utc()) }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    reason: String,
}

/// `POST /api/v1/passes/{id}/revoke`: an admin or police supervisor revokes a pass.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<RevokeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") && !caller.has_role("police_supervisor") {
        return Err(ApiError::Forbidden);
    }
    let id = PassId::parse(&id).ok_or(ApiError::NotFound)?;
    let app = service::revoke_pass(&state, caller.user_id, id, &req.reason).await?;
    Ok(AxumJson(json!({
        "pass_id": id.to_string(),
        "application_id": app.id.to_string(),
        "status": "revoked",
        "revoked_at": rfc3339(app.updated_at),
    })))
}
