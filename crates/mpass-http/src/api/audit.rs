//! The audit log (SPEC §10) for admins and analysts: entries in chain order, in pages.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/audit?after=SEQ&limit=N`: entries with `seq > after`, oldest first, and
/// `next_after` to continue from while there may be more.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") && !caller.has_role("analyst") {
        return Err(ApiError::Forbidden);
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::BadRequest {
            code: "invalid_cursor",
            detail: "after must be a sequence number ≥ 0.".into(),
        });
    }
    let limit = super::limit(q.limit, 100, 1000)?;
    let items = state.store.audit_list(after, limit).await?;
    let next_after = (items.len() as u32 == limit)
        .then(|| items.last().map(|e| e.seq))
        .flatten();
    Ok(AxumJson(json!({ "items": items, "next_after": next_after })))
}
