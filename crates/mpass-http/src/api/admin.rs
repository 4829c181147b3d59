//! Dead-letter tools for admins (SPEC §11): list the jobs that failed for good, and put one
//! back in the queue. `mpass dlq` does the same from the console.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mpass_domain::audit::Actor;
use mpass_domain::ids::JobId;
use mpass_domain::ports::DeadJob;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadJobsQuery {
    kind: Option<String>,
    limit: Option<u32>,
}

/// A dead job as the API shows it. The payload is left out: it can hold a phone number
/// and a message text, and replaying needs only the id.
fn dead_job_json(d: &DeadJob) -> Value {
    json!({
        "id": d.id.to_string(),
        "kind": d.kind,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "failed_at": super::rfc3339(d.failed_at),
    })
}

/// `GET /api/v1/admin/dead-jobs?kind=K&limit=N`: the most recently failed first.
pub async fn dead_jobs(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DeadJobsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    let limit = super::limit(q.limit, 100, 1000)?;
    if let Some(kind) = &q.kind
        && (kind.is_empty() || kind.len() > 64)
    {
        return Err(ApiError::BadRequest {
            code: "invalid_kind",
            detail: "kind must be a job kind such as send_sms.".into(),
        });
    }
    let items = state.store.dead_jobs(q.kind.as_deref(), limit).await?;
    Ok(AxumJson(
        json!({ "items": items.iter().map(dead_job_json).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/v1/admin/dead-jobs/{id}/replay`: moves the dead job back into the queue as a
/// new job (audited `dlq.replayed` with the admin as actor); 404 when there is no such
/// dead job (never was, or already replayed).
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    let id = JobId::parse(&id).ok_or(ApiError::NotFound)?;
    let new_id = state
        .store
        .dead_job_replay(id, Actor::user(caller.user_id), OffsetDateTime::now_utc())
        .await?
        .ok_or(ApiError::NotFound)?;
    state.queue.notify();
    tracing::info!(job.id = %id, job.replayed_as = %new_id, "dlq.replayed");
    Ok((
        StatusCode::ACCEPTED,
        AxumJson(json!({ "id": id.to_string(), "replayed_as": new_id.to_string() })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    phone: Option<String>,
    document: Option<String>,
    id: Option<String>,
}

/// `GET /api/v1/admin/search?phone=|document=|id=`: applications by the applicant's phone,
/// document number (any type) or id, newest first. Every search is audited
/// (`admin.search`, with the admin, the field and the value) before the answer.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    let q = crate::admin::parse_search(q.phone.as_deref(), q.document.as_deref(), q.id.as_deref())?;
    let hits = crate::admin::search(&state, &caller, &q).await?;
    Ok(AxumJson(json!({
        "field": q.field(),
        "items": hits.iter().map(crate::admin::hit_json).collect::<Vec<_>>(),
    })))
}
