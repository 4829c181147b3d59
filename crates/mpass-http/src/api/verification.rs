//! Police verification (SPEC §8): online checks, offline scan uploads, the scan report and
//! the checkpoint registry. The rules live in [`crate::verification`].

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use mpass_domain::audit::Actor;
use mpass_domain::checkpoint::{Checkpoint, CheckpointInput};
use mpass_domain::ids::{CheckpointId, ScanId};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::rfc3339;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::verification::{self, Officer, ScanBatch, VerifyRequest};

/// Largest scan upload: 500 scans with their QR texts.
pub const MAX_SCANS_BODY: usize = 512 * 1024;

/// `POST /api/v1/verify` (police, police supervisors, admins).
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<VerifyRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let checked = verification::verify_online(&state, &Officer::from_caller(&caller), req).await?;
    // Written into a buffer the size of a typical answer (about 700 bytes) at once: axum's
    // `Json` starts at 128 bytes and grows three times.
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, &verification::checked_json(&checked))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `POST /api/v1/scans`: scans made offline, idempotent per `client_id`.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Json(batch): Json<ScanBatch>,
) -> Result<impl IntoResponse, ApiError> {
    let results = verification::upload_scans(&state, &Officer::from_caller(&caller), batch).await?;
    Ok(AxumJson(verification::uploaded_json(&results)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScansQuery {
    flagged: Option<bool>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/scans?flagged=true&cursor=&limit=` (police supervisors, admins): the scan
/// log newest first; `flagged=true` is the impossible-travel report.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ScansQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") && !caller.has_role("police_supervisor") {
        return Err(ApiError::Forbidden);
    }
    let limit = super::limit(q.limit, 100, 1000)?;
    let before = match q.cursor.as_deref() {
        Some(c) => Some(ScanId::parse(c).ok_or_else(|| ApiError::BadRequest {
            code: "invalid_cursor",
            detail: "cursor must be a next_cursor value from this list.".into(),
        })?),
        None => None,
    };
    let items = state
        .store
        .scans_list(q.flagged.unwrap_or(false), before, limit)
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|s| s.id.to_string()))
        .flatten();
    let items: Vec<Value> = items.iter().map(verification::scan_json).collect();
    Ok(AxumJson(json!({ "items": items, "next_cursor": next })))
}

fn checkpoint_json(c: &Checkpoint) -> Value {
    let area = mpass_domain::geo::areas().get(&c.area);
    json!({
        "id": c.id.to_string(),
        "name": c.name,
        "lat": c.lat,
        "lon": c.lon,
        "area": c.area,
        "area_name_en": area.map(|a| a.name_en.as_str()),
        "area_name_bn": area.map(|a| a.name_bn.as_str()),
        "created_at": rfc3339(c.created_at),
    })
}

/// `POST /api/v1/checkpoints` (admins): `{name, lat, lon, area?}` → 201.
pub async fn create_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<CheckpointInput>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    // Stored to the millisecond: answer what a later read will show.
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    let cp = input.validate(CheckpointId::new(), now).map_err(ApiError::Validation)?;
    state.store.checkpoint_create(&cp, Actor::user(caller.user_id)).await?;
    Ok((StatusCode::CREATED, AxumJson(checkpoint_json(&cp))))
}

/// `GET /api/v1/checkpoints` (police, police supervisors, admins).
pub async fn list_checkpoints(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    Officer::from_caller(&caller).must_verify()?;
    let items: Vec<Value> = state.store.checkpoints().await?.iter().map(checkpoint_json).collect();
    Ok(AxumJson(json!({ "items": items })))
}

/// `DELETE /api/v1/checkpoints/{id}` (admins) → 204; scans keep naming it.
pub async fn delete_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    let id = CheckpointId::parse(&id).ok_or(ApiError::NotFound)?;
    if !state
        .store
        .checkpoint_delete(id, Actor::user(caller.user_id), OffsetDateTime::now_utc())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
