//! Request metrics and access logs: one middleware that gives every request an id,
//! times it, logs one JSON line, and feeds Prometheus counters and histograms.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// One histogram series in Prometheus text format: a line per `(upper bound, cumulative
/// count)` bucket, then `+Inf`, sum and count; `labels` (`a="x",b="y"`, or empty) on each.
pub(crate) fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    buckets: impl Iterator<Item = (f64, u64)>,
    sum: f64,
    count: u64,
) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, n) in buckets {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
    let braced = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braced} {sum}");
    let _ = writeln!(out, "{name}_count{braced} {count}");
}

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Counters the server exports at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, &'static str, u16), Series>>,
    next_request_id: AtomicU64,
    /// Jobs settled by this process's workers.
    pub jobs: std::sync::Arc<mpass_domain::ports::JobCounters>,
    /// The accept loop's connections (`listener::serve`).
    pub connections: std::sync::Arc<crate::listener::ConnectionStats>,
}

impl Metrics {
    fn record(&self, route: String, method: &'static str, status: u16, secs: f64) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((route, method, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// The request series in Prometheus text format.
    pub fn render_requests(&self, out: &mut String) {
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = map.keys().collect();
        keys.sort();
        out.push_str("# HELP mpass_http_requests_total HTTP requests by route, method and status.\n# TYPE mpass_http_requests_total counter\n");
        for k in &keys {
            let _ = writeln!(
                out,
                "mpass_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
                k.0, k.1, k.2, map[*k].count
            );
        }
        out.push_str("# HELP mpass_http_request_duration_seconds HTTP request latency.\n# TYPE mpass_http_request_duration_seconds histogram\n");
        for k in &keys {
            let s = &map[*k];
            let labels = format!("route=\"{}\",method=\"{}\",status=\"{}\"", k.0, k.1, k.2);
            write_histogram(
                out,
                "mpass_http_request_duration_seconds",
                &labels,
                BUCKETS.iter().copied().zip(s.buckets.iter().copied()),
                s.sum,
                s.count,
            );
        }
    }
}

fn method_name(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: request id, timing, one access-log line, metrics.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Keep a caller's id only if it is short and printable; otherwise make our own.
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "{:x}-{:x}",
                std::process::id(),
                state.metrics.next_request_id.fetch_add(1, Ordering::Relaxed)
            )
        });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert("x-request-id", v);
    }
    // The matched route, never the raw path: paths carry ids, and logs carry no personal data.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_name(req.method());
    let span = tracing::info_span!("request", request.id = %request_id);
    let mut res = {
        use tracing::Instrument;
        next.run(req).instrument(span).await
    };
    let secs = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    tracing::info!(request.id = %request_id, http.method = method, http.route = %route, http.status = status, duration_ms = secs * 1000.0, "request.done");
    state.metrics.record(route, method, status, secs);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}
