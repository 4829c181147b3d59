//! The ports besides the store and the queue: SMS, object storage, and the policy in force.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreResult;
use crate::phone::Phone;

/// A policy as put in force, with its place in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub seq: i64,
    pub version: String,
    pub source: String,
    pub created_at: OffsetDateTime,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Worth trying again later: the provider was down, busy (429, 5xx) or did not answer.
    #[error("{0}")]
    Transient(String),
    /// Will never work as asked (a bad number, bad credentials, a refused sender).
    #[error("{0}")]
    Permanent(String),
}

/// Sends SMS messages.
#[async_trait]
pub trait Sms: Send + Sync + 'static {
    async fn send(&self, to: &Phone, body: &str) -> Result<(), SmsError>;
}

/// Stores photos and other blobs.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// The policy in force, replaced as a whole when it is reloaded.
pub type SharedPolicy = std::sync::Arc<std::sync::RwLock<std::sync::Arc<crate::policy::Policy>>>;
