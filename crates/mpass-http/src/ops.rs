//! Operations endpoints: liveness, readiness, metrics, and the API reference.

use std::fmt::Write;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/api/docs", get(docs))
}

/// The process is alive.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready to serve: the database, the queue and the object store answer, and keys are loaded.
async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.store.ping().await;
    let queue = state.queue.ping().await;
    let objects = state.objects.ping().await;
    // API nodes verify tokens and publish the pass keys; without them nothing can be trusted.
    let keys_ok = !state.tokens.jwks()["keys"].as_array().is_none_or(Vec::is_empty)
        && !state.pass_keys.trust_list().keys.is_empty();
    let keys = if keys_ok { "ok" } else { "no signing keys loaded" };
    let ok = db.is_ok() && queue.is_ok() && objects.is_ok() && keys_ok;
    let body = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "checks": {
            "database": db.map_or_else(|e| e.to_string(), |_| "ok".into()),
            "queue": queue.map_or_else(|e| e.to_string(), |_| "ok".into()),
            "object_store": objects.map_or_else(|e| e.to_string(), |_| "ok".into()),
            "keys": keys,
        }
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(8192);
    state.metrics.render_requests(&mut out);
    if let Ok((ready, dead)) = state.queue.depth().await {
        let _ = writeln!(
            out,
            "# HELP mpass_queue_jobs Jobs waiting or running.\n# TYPE mpass_queue_jobs gauge\nmpass_queue_jobs {ready}"
        );
        let _ = writeln!(
            out,
            "# HELP mpass_queue_dead_jobs Jobs parked in the dead-letter store.\n# TYPE mpass_queue_dead_jobs gauge\nmpass_queue_dead_jobs {dead}"
        );
    }
    if let Ok(counts) = state.store.status_counts().await {
        out.push_str("# HELP mpass_applications Applications by status (decisions by outcome).\n# TYPE mpass_applications gauge\n");
        for (status, n) in counts {
            let _ = writeln!(out, "mpass_applications{{status=\"{}\"}} {n}", status.as_str());
        }
    }
    if let Some(syncs) = state.store.sync_times() {
        render_syncs(&mut out, &syncs);
    }
    let (j, c) = (&state.metrics.jobs, &state.metrics.connections);
    for (name, kind, help, v) in [
        (
            "mpass_jobs_processed_total",
            "counter",
            "Jobs this node's workers finished.",
            &j.processed,
        ),
        (
            "mpass_jobs_retried_total",
            "counter",
            "Jobs this node's workers failed and put back to be tried again.",
            &j.retried,
        ),
        (
            "mpass_jobs_dead_total",
            "counter",
            "Jobs this node's workers parked in the dead-letter store.",
            &j.dead,
        ),
        ("mpass_http_connections_open", "gauge", "Connections open now.", &c.open),
        (
            "mpass_http_connections_max",
            "gauge",
            "Connections that may be open at once.",
            &c.max,
        ),
        (
            "mpass_http_connections_refused_total",
            "counter",
            "Connections answered 503 too_many_connections: their address held as many as it may.",
            &c.refused,
        ),
        (
            "mpass_http_connections_dropped_total",
            "counter",
            "Connections closed unanswered: their address held as many as it may and had as many refusals being answered.",
            &c.dropped,
        ),
        (
            "mpass_http_connections_full_total",
            "counter",
            "Times every place was taken and new connections waited in the listen backlog.",
            &c.full,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
            v.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The embedded store's WAL syncs as a Prometheus histogram: every acknowledged write
/// waited for one, so a slow disk shows here.
fn render_syncs(out: &mut String, s: &mpass_domain::ports::SyncTimes) {
    let name = "mpass_store_wal_sync_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time each WAL sync that acknowledgements waited on took.\n# TYPE {name} histogram"
    );
    crate::metrics::write_histogram(
        out,
        name,
        "",
        s.le_secs.iter().copied().zip(s.cumulative.iter().copied()),
        s.sum_secs,
        s.count,
    );
}

/// The OpenAPI 3.1 document, kept by hand beside the code and checked by a test that
/// every routed path is in it.
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A self-contained, browsable reference rendered from the OpenAPI document.
async fn docs() -> Html<String> {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>Movement Pass API</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         code{background:#f3f3f3;padding:0 .3em}h2{margin-top:2rem;border-bottom:1px solid #ddd}.m{font-weight:bold;display:inline-block;width:4.5rem}</style></head><body>\
         <h1>Movement Pass API</h1><p>Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1).</p>",
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            let _ = write!(html, "<h2><code>{}</code></h2>", escape(path));
            for (method, op) in ops.as_object().into_iter().flatten() {
                let summary = op["summary"].as_str().unwrap_or("");
                let desc = op["description"].as_str().unwrap_or("");
                let _ = write!(
                    html,
                    "<p><span class=\"m\">{}</span>{}<br><small>{}</small></p>",
                    escape(&method.to_uppercase()),
                    escape(summary),
                    escape(desc)
                );
            }
        }
    }
    html.push_str("</body></html>");
    Html(html)
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    /// Every path routed by the API and operations modules is documented, and nothing else is.
    #[test]
    fn openapi_documents_every_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json parses");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: std::collections::BTreeSet<String> =
            doc["paths"].as_object().expect("paths").keys().cloned().collect();
        let mut routed = std::collections::BTreeSet::new();
        for source in [include_str!("api/mod.rs"), include_str!("ops.rs")] {
            for piece in source.split(".route(").skip(1) {
                // The path is the first string literal after `.route(`, on the same or the next line.
                if let Some(path) = piece.trim_start().strip_prefix("\"/") {
                    routed.insert(format!("/{}", path.split('"').next().unwrap_or_default()));
                }
            }
        }
        assert_eq!(routed, documented, "routes and /api/openapi.json differ");
    }

    /// Every `$ref` value in `v`, with the JSON pointer where it stands.
    fn refs(v: &serde_json::Value, at: String, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("$ref", serde_json::Value::String(r)) => out.push((at.clone(), r.clone())),
                        _ => refs(child, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    refs(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// A `$ref` that names nothing would leave a client's generator (and our response
    /// test) with no schema at all.
    #[test]
    fn every_ref_in_the_openapi_document_resolves() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json parses");
        let mut found = Vec::new();
        refs(&doc, String::new(), &mut found);
        assert!(found.len() > 100, "only {} refs found", found.len());
        let broken: Vec<_> = found
            .iter()
            .filter(|(_, r)| r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none())
            .collect();
        assert!(broken.is_empty(), "refs that resolve to nothing: {broken:?}");
    }

    /// A JSON success answer documented without a schema says nothing a client can rely on.
    #[test]
    fn every_json_success_answer_has_a_schema() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json parses");
        let mut missing = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                for (status, res) in op["responses"].as_object().into_iter().flatten() {
                    if !status.starts_with('2') || status == "204" {
                        continue;
                    }
                    let content = res["content"].as_object();
                    let documented = content.is_some_and(|c| c.values().all(|m| m.get("schema").is_some()));
                    if !documented {
                        missing.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "success answers without a media type and schema: {missing:?}"
        );
    }
}
