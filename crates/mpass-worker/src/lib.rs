//! Movement Pass worker: takes jobs from the queue and runs them.
//!
//! One file per job kind under [`jobs`]. Every job is idempotent: a job delivered twice
//! (a worker died after doing the work but before acknowledging it, or the queue
//! redelivered) changes nothing the second time. Failures are retried with exponential
//! back-off; a job that keeps failing is parked in the dead-letter store.

pub mod jobs;
mod runner;
pub mod twilio;

use std::sync::Arc;

use mpass_domain::ids::UserId;
use mpass_domain::language::Language;
use mpass_domain::pass::PassKeySource;
use mpass_domain::policy::Policy;
use mpass_domain::ports::{SharedPolicy, Sms, SmsError, Store, StoreResult};

pub use runner::{MAX_ATTEMPTS, RetryPolicy, Runner, backoff};
pub use twilio::{TwilioConfig, TwilioSender, TwilioSms};

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

    /// The language of `user`'s messages: their choice, else Bangla.
    pub async fn language_of(&self, user: UserId) -> StoreResult<Language> {
        Ok(self
            .store
            .user_language(user)
            .await?
            .unwrap_or(Language::NOTIFICATION_DEFAULT))
    }
}

/// The `dev` SMS provider: messages go to the outbox shown at `/dev/outbox`.
pub struct DevOutboxSms(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl Sms for DevOutboxSms {
    async fn send(&self, to: &mpass_domain::phone::Phone, body: &str) -> Result<(), SmsError> {
        self.0
            .outbox_push(to.as_str(), body, time::OffsetDateTime::now_utc())
            .await
            .map_err(|e| SmsError::Transient(e.to_string()))
    }
}
