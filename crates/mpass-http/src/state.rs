//! Shared state of the HTTP layer, passed explicitly to every handler.

use std::sync::Arc;

use mpass_domain::policy::Policy;
use mpass_domain::ports::{ObjectStore, Queue, SharedPolicy, Store};
use mpass_domain::token::TokenKeys;

use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// Settings of the HTTP layer (the binary reads them from config).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Serve `/dev/outbox` and `GET /api/v1/dev/outbox` (only with the `dev` SMS provider).
    pub dev_outbox: bool,
    /// OTP sends allowed per client IP per minute (many users share carrier NAT addresses).
    pub otp_per_ip_per_minute: u32,
    /// Trust the rightmost `X-Forwarded-For` address (only behind your own proxy).
    pub trust_forwarded_for: bool,
    /// Secret key for hashing OTP codes.
    pub otp_key: Vec<u8>,
}

/// Everything handlers need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub objects: Arc<dyn ObjectStore>,
    pub policy: SharedPolicy,
    pub tokens: Arc<TokenKeys>,
    /// The pass trust list (JWK Set), rendered once.
    pub trust_list: Arc<serde_json::Value>,
    pub settings: Arc<HttpSettings>,
    pub metrics: Arc<Metrics>,
    pub(crate) otp_ip_limit: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        objects: Arc<dyn ObjectStore>,
        policy: SharedPolicy,
        tokens: Arc<TokenKeys>,
        trust_list: serde_json::Value,
        settings: HttpSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let otp_ip_limit = Arc::new(RateLimiter::per_minute(settings.otp_per_ip_per_minute));
        AppState {
            store,
            queue,
            objects,
            policy,
            tokens,
            trust_list: Arc::new(trust_list),
            settings: Arc::new(settings),
            metrics,
            otp_ip_limit,
        }
    }

    /// A snapshot of the policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
