//! Reference data: areas (SPEC §4) and the policy's reason categories.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use mpass_domain::geo;
use serde_json::json;

use crate::state::AppState;

/// `GET /api/v1/areas`: every division, district and thana, served pre-rendered.
pub async fn areas() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        geo::areas().all_json(),
    )
}

/// `GET /api/v1/reasons`: the reason categories of the policy in force.
pub async fn reasons(State(state): State<AppState>) -> impl IntoResponse {
    let policy = state.policy();
    let list: Vec<_> = policy
        .categories()
        .iter()
        .map(|c| json!({ "code": c.code, "label_en": c.label_en, "label_bn": c.label_bn }))
        .collect();
    AxumJson(json!({ "policy_version": policy.version(), "reasons": list }))
}
