//! Applications (SPEC §5): submit with `Idempotency-Key`, list own, read, cancel.

use axum::Json as AxumJson;
use axum::extract::{Path, State};

use crate::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::application::{Application, ApplicationInput};
use mpass_domain::ids::ApplicationId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::rfc3339;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::JsonWithBytes;
use crate::service;
use crate::state::AppState;

/// An application as the API shows it.
pub fn application_json(app: &Application) -> Value {
    let mut v = serde_json::to_value(&app.details).unwrap_or_default();
    v["id"] = json!(app.id.to_string());
    v["status"] = json!(app.status.as_str());
    v["status_url"] = json!(format!("/api/v1/applications/{}", app.id));
    v["end"] = json!(rfc3339(app.details.end()));
    v["submitted_at"] = json!(rfc3339(app.submitted_at));
    v["updated_at"] = json!(rfc3339(app.updated_at));
    if let Some(d) = &app.decision {
        let reasons: Vec<Value> = d
            .reasons
            .iter()
            .map(|r| json!({ "code": r.code, "outcome": r.outcome.as_str(), "message": r.message_en, "message_bn": r.message_bn }))
            .collect();
        v["decision"] =
            json!({ "outcome": d.outcome.as_str(), "reasons": reasons, "policy_version": d.policy_version });
    }
    if let Some(p) = app.pass_id {
        v["pass_id"] = json!(p.to_string());
        v["pass_url"] = json!(format!("/api/v1/passes/{p}"));
    }
    v
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
    key.map(|k| Some(k.to_string())).ok_or_else(|| ApiError::BadRequest {
        code: "invalid_idempotency_key",
        detail: "Idempotency-Key must be 1 to 64 printable characters.".into(),
    })
}

/// `POST /api/v1/applications`: validates, stores durably with its decision job, answers 202.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonWithBytes(input, raw): JsonWithBytes<ApplicationInput>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let (app, replayed) =
        service::submit_application(&state, caller.user_id, &input, key.map(|k| (k, &raw[..]))).await?;
    let mut res = (StatusCode::ACCEPTED, AxumJson(application_json(&app))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/applications/{}", app.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/applications`: the caller's own, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = super::limit(q.limit, 20, 100)?;
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(ApplicationId::parse(c).ok_or(ApiError::BadRequest {
            code: "invalid_cursor",
            detail: "Unknown cursor.".into(),
        })?),
    };
    let items = state.store.applications_of(caller.user_id, before, limit + 1).await?;
    let more = items.len() > limit as usize;
    let items: Vec<&Application> = items.iter().take(limit as usize).collect();
    let mut body = json!({ "items": items.iter().map(|a| application_json(a)).collect::<Vec<_>>() });
    if more && let Some(last) = items.last() {
        body["next_cursor"] = json!(last.id.to_string());
    }
    Ok(AxumJson(body))
}

fn parse_id(raw: &str) -> Result<ApplicationId, ApiError> {
    ApplicationId::parse(raw).ok_or(ApiError::NotFound)
}

/// `GET /api/v1/applications/{id}`: owner or staff; others get 404.
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let app = state
        .store
        .application(parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if app.user_id != caller.user_id && !caller.is_staff() {
        return Err(ApiError::NotFound);
    }
    Ok(AxumJson(application_json(&app)))
}

/// `POST /api/v1/applications/{id}/cancel`: the owner withdraws it.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let app = service::cancel_application(&state, caller.user_id, parse_id(&id)?).await?;
    Ok(AxumJson(application_json(&app)))
}

fn message_json(m: &mpass_domain::ports::ThreadMessage) -> Value {
    json!({
        "id": m.id.to_string(),
        "author": m.author.as_str(),
        "body": m.body,
        "created_at": rfc3339(m.created_at),
    })
}

/// `GET /api/v1/applications/{id}/messages`: the information-request thread, oldest first,
/// for the owner, reviewers of its district and admins; 404 for anyone else.
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (app, thread) = crate::threads::thread(&state, &caller, parse_id(&id)?).await?;
    let items: Vec<Value> = thread.iter().map(message_json).collect();
    Ok(AxumJson(json!({
        "items": items,
        "awaiting_answer": crate::threads::awaiting_answer(&app),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    body: String,
}

/// `POST /api/v1/applications/{id}/messages`: the owner answers an information request;
/// the application returns to the review queue. 409 `no_information_requested` when
/// nothing is being asked.
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::extract::Json(req): crate::extract::Json<ReplyRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let app = crate::threads::reply(&state, &caller, parse_id(&id)?, &req.body).await?;
    Ok((StatusCode::CREATED, AxumJson(application_json(&app))))
}
