//! The development SMS outbox (SPEC §2): only when the SMS provider is `dev`.

use std::fmt::Write;

use axum::Json as AxumJson;
use axum::extract::State;

use crate::extract::Query;
use axum::response::{Html, IntoResponse};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::ops::escape;
use crate::service;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct OutboxQuery {
    limit: Option<u32>,
    /// Only the messages sent to this number (any form a login accepts).
    phone: Option<String>,
}

/// `GET /api/v1/dev/outbox`: newest first; `?phone=` for one recipient's messages (a
/// test or load generator finds its login code without reading everyone's).
pub async fn outbox_json(
    State(state): State<AppState>,
    Query(q): Query<OutboxQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !state.settings.dev_outbox {
        return Err(ApiError::NotFound);
    }
    let to = q.phone.as_deref().map(service::parse_phone).transpose()?;
    let limit = super::limit(q.limit, 50, 500)?;
    let messages = state.store.outbox_list(to.as_ref().map(|p| p.as_str()), limit).await?;
    let list: Vec<_> = messages
        .iter()
        .map(|m| json!({ "to": m.to, "body": m.body, "created_at": super::rfc3339(m.created_at) }))
        .collect();
    Ok(AxumJson(json!({ "messages": list })))
}

/// `GET /dev/outbox`: the same as a page, refreshing itself.
pub async fn outbox_page(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if !state.settings.dev_outbox {
        return Err(ApiError::NotFound);
    }
    let messages = state.store.outbox_list(None, 100).await?;
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <meta http-equiv=\"refresh\" content=\"5\"><title>Dev SMS outbox</title>\
         <style>body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:1rem auto;padding:0 1rem}\
         li{margin:.5rem 0;padding:.5rem;border:1px solid #ddd;border-radius:4px;list-style:none}small{color:#555}</style></head>\
         <body><h1>Development SMS outbox</h1><p>Messages the <code>dev</code> SMS provider would have sent, newest first. This page exists only in development.</p><ul>",
    );
    for m in &messages {
        let _ = write!(
            html,
            "<li><small>{} → {}</small><br>{}</li>",
            escape(&super::rfc3339(m.created_at)),
            escape(&m.to),
            escape(&m.body)
        );
    }
    if messages.is_empty() {
        html.push_str("<li>No messages yet.</li>");
    }
    html.push_str("</ul></body></html>");
    Ok(Html(html))
}
