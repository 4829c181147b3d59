//! Ports: the traits through which the domain reaches storage, the work queue, SMS and
//! object storage. Backends implement them; only the binary knows which ones exist.

mod applications;
mod identity;
mod jobs;
mod review;
mod services;
mod store;

pub use applications::*;
pub use identity::*;
pub use jobs::*;
pub use review::*;
pub use services::*;
pub use store::*;

/// A failure of a backend. Callers map it to an opaque 500/503; the detail is logged once.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    #[error("backend error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
