//! The review queue (SPEC §6, §14): reviewers see the applications in review in their
//! districts, claim one with a 10-minute lease and decide it.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use mpass_domain::ids::ApplicationId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::applications::application_json;
use super::rfc3339;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::service::{self, ReviewInput};
use crate::state::AppState;

fn parse_id(raw: &str) -> Result<ApplicationId, ApiError> {
    ApplicationId::parse(raw).ok_or(ApiError::NotFound)
}

fn item(app: &mpass_domain::application::Application) -> Value {
    let mut v = application_json(app);
    v["district"] = json!(
        mpass_domain::geo::areas()
            .district_of(&app.details.from.area)
            .map(|d| d.code.clone())
    );
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/review/queue`: in review, in the caller's districts, oldest first, each
/// with the rule hits that sent it there (`decision.reasons`).
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<QueueQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = super::limit(q.limit, 50, 200)?;
    let apps = service::review_queue(&state, &caller, limit).await?;
    let items: Vec<Value> = apps.iter().map(item).collect();
    Ok(AxumJson(json!({ "items": items, "districts": caller.districts() })))
}

/// `POST /api/v1/review/{id}/claim`: a 10-minute lease on the application.
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let (app, lease_until) = service::review_claim(&state, &caller, id).await?;
    let mut v = item(&app);
    v["claimed_by"] = json!(caller.user_id.to_string());
    v["lease_until"] = json!(rfc3339(lease_until));
    Ok(AxumJson(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    outcome: String,
    /// Required for `approve` and `reject`. Like every optional field of the API, `null`
    /// is taken as absent.
    reason_code: Option<String>,
    note: Option<String>,
}

/// `POST /api/v1/review/{id}/decision`: the lease holder approves, rejects, or asks the
/// applicant for information (`request_info`, the question in `note`).
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<DecisionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let note = req.note.as_deref().unwrap_or_default();
    if req.outcome == "request_info" {
        let app = crate::threads::request_info(&state, &caller, id, note).await?;
        return Ok(AxumJson(item(&app)));
    }
    let app = service::review_decide(
        &state,
        &caller,
        id,
        ReviewInput {
            outcome: &req.outcome,
            reason_code: req.reason_code.as_deref().unwrap_or_default(),
            note,
        },
    )
    .await?;
    let mut v = item(&app);
    // An approval waits for a worker to sign the pass; the status URL shows when it has.
    v["pass_pending"] = json!(req.outcome == "approve" && app.pass_id.is_none());
    Ok(AxumJson(v))
}
