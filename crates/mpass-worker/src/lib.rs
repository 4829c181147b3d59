//! Movement Pass worker: takes jobs from the queue and runs them.
//!
//! One file per job kind under [`jobs`]. Every job is idempotent: a job delivered twice
//! (a worker died after doing the work but before acknowledging it, or the queue
//! redelivered) changes nothing the second time. Failures are retried with exponential
//! back-off; a job that keeps failing is parked in the dead-letter store.

pub mod jobs;
mod runner;

use std::sync::Arc;

use mpass_domain::pass::PassKeySource;
use mpass_domain::policy::Policy;
use mpass_domain::ports::{SharedPolicy, Sms, Store};

pub use runner::{MAX_ATTEMPTS, Runner, backoff};

/// What jobs need to do their work.
pub struct WorkerContext {
    pub store: Arc<dyn Store>,
    pub policy: SharedPolicy,
    /// The pass-signing key in force (re-read when the key file changes).
    pub pass_key: Arc<dyn PassKeySource>,
    pub sms: Arc<dyn Sms>,
    /// `iss` of the passes.
    pub issuer: String,
}

impl WorkerContext {
    /// A snapshot of the policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The `dev` SMS provider: messages go to the outbox shown at `/dev/outbox`.
pub struct DevOutboxSms(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl Sms for DevOutboxSms {
    async fn send(&self, to: &mpass_domain::phone::Phone, body: &str) -> Result<(), String> {
        self.0
            .outbox_push(to.as_str(), body, time::OffsetDateTime::now_utc())
            .await
            .map_err(|e| e.to_string())
    }
}
