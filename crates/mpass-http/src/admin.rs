//! What the admin API and the admin pages share: the audited application search, role
//! grants, and the master data of the policy in force (issue 7).

use std::sync::Arc;

use mpass_domain::audit::Actor;
use mpass_domain::ids::ApplicationId;
use mpass_domain::phone::Phone;
use mpass_domain::policy::master::{self, MasterData};
use mpass_domain::policy::{DEFAULT_POLICY_TOML, Policy};
use mpass_domain::ports::{AdminSearch, Role, RoleGrant, SearchHit};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Most hits one search returns.
pub const SEARCH_LIMIT: u32 = 100;

fn bad(code: &'static str, detail: &str) -> ApiError {
    ApiError::BadRequest {
        code,
        detail: detail.into(),
    }
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Exactly one of the three fields, parsed: a phone as the login accepts it, a document
/// number of 4 to 32 letters and digits, an application id.
pub fn parse_search(phone: Option<&str>, document: Option<&str>, id: Option<&str>) -> Result<AdminSearch, ApiError> {
    match (given(phone), given(document), given(id)) {
        (Some(p), None, None) => Phone::parse(p)
            .map(AdminSearch::Phone)
            .ok_or_else(|| bad("invalid_phone", "phone must be a Bangladeshi mobile number.")),
        (None, Some(d), None) => {
            let d = d.to_ascii_uppercase();
            if (4..=32).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(AdminSearch::Document(d))
            } else {
                Err(bad("invalid_document", "document must be 4 to 32 letters and digits."))
            }
        }
        (None, None, Some(i)) => ApplicationId::parse(i)
            .map(AdminSearch::Id)
            .ok_or_else(|| bad("invalid_id", "id must be an application id.")),
        _ => Err(bad("invalid_query", "Give exactly one of phone, document or id.")),
    }
}

/// Runs a search for an admin; the store audits it (`admin.search`) before it answers.
pub async fn search(state: &AppState, caller: &Caller, q: &AdminSearch) -> Result<Vec<SearchHit>, ApiError> {
    if !caller.has_role("admin") {
        return Err(ApiError::Forbidden);
    }
    let hits = state
        .store
        .admin_search(q, Actor::user(caller.user_id), OffsetDateTime::now_utc(), SEARCH_LIMIT)
        .await?;
    tracing::info!(admin = %caller.user_id, field = q.field(), hits = hits.len(), "admin.search");
    Ok(hits)
}

pub fn hit_json(h: &SearchHit) -> Value {
    let a = &h.application;
    json!({
        "id": a.id.to_string(),
        "status": a.status.as_str(),
        "phone": h.phone.as_str(),
        "reason": a.details.reason,
        "from": a.details.from.area,
        "to": a.details.to.area,
        "start": crate::api::rfc3339(a.details.start),
        "submitted_at": crate::api::rfc3339(a.submitted_at),
        "pass_id": a.pass_id.map(|p| p.to_string()),
    })
}

/// A role change from the admin page: role name, districts (codes separated by commas or
/// spaces; each must be a district).
pub fn parse_grant(role: &str, districts: &str) -> Result<RoleGrant, String> {
    let role = Role::parse(role.trim())
        .filter(|r| *r != Role::Citizen)
        .ok_or_else(|| "Choose a role.".to_string())?;
    let mut out = Vec::new();
    for d in districts
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
    {
        if mpass_domain::geo::areas().district(d).is_none() {
            return Err(format!("{d} is not a district code."));
        }
        if !out.iter().any(|o| o == d) {
            out.push(d.to_string());
        }
    }
    if role == Role::Reviewer && out.is_empty() {
        return Err("A reviewer needs at least one district.".into());
    }
    Ok(RoleGrant { role, districts: out })
}

/// The text of the policy in force: the newest stored one, else the built-in default.
pub async fn policy_text(state: &AppState) -> Result<String, ApiError> {
    Ok(match state.store.policy_latest(0).await? {
        Some(p) => p.source,
        None => DEFAULT_POLICY_TOML.to_string(),
    })
}

/// Puts the policy in force with new master data. `Err(Ok(message))` is a refused policy
/// (the message names the key at fault); `Err(Err(_))` a failure of the store.
pub async fn change_master_data(
    state: &AppState,
    caller: &Caller,
    data: &MasterData,
) -> Result<Arc<Policy>, Result<String, ApiError>> {
    let text = policy_text(state).await.map_err(Err)?;
    let (new_text, policy) = master::with_master_data(&text, data).map_err(|e| Ok(e.to_string()))?;
    state
        .store
        .policy_put(
            policy.version(),
            &new_text,
            Actor::user(caller.user_id),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| Err(ApiError::from(e)))?;
    let policy = Arc::new(policy);
    // This node at once; the others within their next poll.
    *state.policy.write().unwrap_or_else(|p| p.into_inner()) = policy.clone();
    tracing::info!(admin = %caller.user_id, version = policy.version(), "policy.changed");
    Ok(policy)
}
