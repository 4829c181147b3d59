//! Movement Pass HTTP: the router, its state, authentication, errors and handlers.
//!
//! Handlers parse input into domain values, call the store (or queue) once or twice, and
//! map the result; they never do slow work inline — decisions and SMS go through the
//! work queue. Every error leaves as RFC 9457 problem+json with a stable `code`.

mod admin;
pub mod api;
mod auth;
mod error;
mod extract;
mod legacy;
mod listener;
pub mod metrics;
mod ops;
mod ratelimit;
mod service;
mod state;
mod stats;
mod threads;
mod verification;
pub mod web;

pub use error::ApiError;
pub use listener::{ConnectionStats, MAX_HEADER_BYTES, ServeOptions, serve};
pub use state::{AppState, HttpSettings, Services};

use axum::Router;
use axum::extract::DefaultBodyLimit;

/// Largest JSON body accepted anywhere (photos have their own limit).
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Smallest answer body that is compressed for a client that accepts it. A smaller one
/// goes out in one TCP segment with its headers either way, so compressing it saves the
/// client nothing and costs the server more than the rest of the request: an online
/// check's 673-byte answer, gzipped for a browser, cost 30–46 µs more per check and a third
/// of the check rate (docs/BENCHMARKS-HISTORY.md, seventeenth round).
pub const MIN_COMPRESSED_BODY: u16 = 1024;

/// The whole HTTP surface of the server.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new();
    if state.settings.compat_v1 {
        routes = routes.merge(legacy::routes());
    }
    routes
        .merge(api::routes())
        .merge(ops::routes())
        .merge(web::routes())
        // A known path with a method it does not take: problem+json, like every other refusal.
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        // A handler that panics answers 500 problem+json (and is logged) instead of
        // dropping the connection without an answer.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // Pages and large JSON shrink to a fraction over slow mobile networks; small answers
        // and images are left alone.
        .layer(tower_http::compression::CompressionLayer::new().compress_when(compressible()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
        .with_state(state)
}

/// The answer to a request whose handler panicked.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = mpass_domain::error::panic_message(&*panic);
    axum::response::IntoResponse::into_response(error::ApiError::Internal(format!("the handler panicked: {message}")))
}

/// tower-http's default choice (not gRPC, images or event streams) with
/// [`MIN_COMPRESSED_BODY`] for its size floor instead of 32 bytes.
fn compressible() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(MIN_COMPRESSED_BODY)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
}

#[cfg(test)]
mod tests {
    /// A handler's panic is a 500 problem+json with the stable code, whatever it carried.
    #[tokio::test]
    async fn a_panic_is_answered_as_an_internal_error() {
        for panic in [
            Box::new("boom") as Box<dyn std::any::Any + Send>,
            Box::new(String::from("boom")),
            Box::new(7),
        ] {
            let res = super::panicked(panic);
            assert_eq!(res.status(), 500);
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["code"], "internal");
            assert!(
                !v.to_string().contains("boom"),
                "the panic's message stays in the log: {v}"
            );
        }
    }
}
