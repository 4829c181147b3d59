//! Shared state of the HTTP layer, passed explicitly to every handler.

use std::sync::Arc;

use mpass_domain::ids::UserId;
use mpass_domain::pass::PassKeySource;
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
    /// OTP sends allowed per client IP in any 60 seconds (many users share carrier NAT
    /// addresses).
    pub otp_per_ip_per_minute: u32,
    /// New applications a citizen may submit per hour (`service::store_application`).
    pub submissions_per_citizen_per_hour: u32,
    /// Trust the rightmost `X-Forwarded-For` address (only behind your own proxy).
    pub trust_forwarded_for: bool,
    /// Secret key for hashing OTP codes.
    pub otp_key: Vec<u8>,
    /// Mark the web session cookies `Secure` (the site is served over https, e.g. behind a
    /// TLS proxy); off for plain http on localhost during development.
    pub secure_cookies: bool,
    /// Serve the legacy `/v1` API (SPEC §12).
    pub compat_v1: bool,
    /// The public base URL of this service (`https://mpass.example`), for the legacy
    /// pre-signed upload URLs and the photo URLs they become; `None` → from the `Host` header.
    pub public_url: Option<String>,
    /// The thana geocode for a legacy thana number with no known mapping: the home area of
    /// such a registration, the destination of such an application (docs/LEGACY_V1.md).
    pub legacy_area: String,
    /// Failed legacy logins one phone may have in a day, counted by the store across API
    /// nodes (`legacy::identity::login`).
    pub legacy_failed_logins_per_phone_per_day: u32,
}

/// Everything handlers need; cheap to clone: one reference count (every handler that takes
/// `State` clones it, and a dozen counts touched per request showed in the verification
/// profile).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What an [`AppState`] holds.
pub struct AppStateInner {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub objects: Arc<dyn ObjectStore>,
    pub policy: SharedPolicy,
    pub tokens: Arc<TokenKeys>,
    /// The pass keys: the trust list served to verifiers and used by online verification.
    pub pass_keys: Arc<dyn PassKeySource>,
    pub settings: Arc<HttpSettings>,
    pub metrics: Arc<Metrics>,
    pub(crate) otp_ip_limit: Arc<RateLimiter>,
    /// Verifications and scan uploads per officer (see `verification`).
    pub(crate) verify_limit: Arc<RateLimiter<UserId>>,
    pub(crate) legacy: Arc<crate::legacy::LegacyState>,
}

/// The backends and keys a node was composed with (the binary builds this).
pub struct Services {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub objects: Arc<dyn ObjectStore>,
    pub policy: SharedPolicy,
    pub tokens: Arc<TokenKeys>,
    pub pass_keys: Arc<dyn PassKeySource>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(s: Services, settings: HttpSettings) -> Self {
        let otp_ip_limit = Arc::new(RateLimiter::per_minute(settings.otp_per_ip_per_minute));
        let legacy = Arc::new(crate::legacy::LegacyState::new(&settings.otp_key));
        AppState(Arc::new(AppStateInner {
            store: s.store,
            queue: s.queue,
            objects: s.objects,
            policy: s.policy,
            tokens: s.tokens,
            pass_keys: s.pass_keys,
            settings: Arc::new(settings),
            metrics: s.metrics,
            otp_ip_limit,
            verify_limit: Arc::new(RateLimiter::per_minute(
                crate::verification::VERIFY_PER_OFFICER_PER_MINUTE,
            )),
            legacy,
        }))
    }

    /// A snapshot of the policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
