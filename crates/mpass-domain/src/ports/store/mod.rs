//! The system of record's port: the `Store` trait, made of one trait per resource, every
//! method durable before it returns.

use async_trait::async_trait;

use super::StoreResult;

mod admin;
mod applications;
mod audit;
mod identity;
mod jobs;
mod legacy;
mod passes;
mod policy;
mod review;
mod stats;
mod verification;

pub use admin::AdminStore;
pub use applications::ApplicationStore;
pub use audit::AuditStore;
pub use identity::IdentityStore;
pub use jobs::JobStore;
pub use legacy::LegacyStore;
pub use passes::PassStore;
pub use policy::PolicyStore;
pub use review::ReviewStore;
pub use stats::StatsStore;
pub use verification::VerificationStore;

/// How long a store's durable commits waited for the disk: one observation per sync that
/// acknowledgements wait on, as a cumulative histogram (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncTimes {
    /// Upper bounds of the buckets, seconds, increasing.
    pub le_secs: &'static [f64],
    /// Syncs that took at most the bound of the same index.
    pub cumulative: Vec<u64>,
    /// Every sync.
    pub count: u64,
    /// Their total time, seconds.
    pub sum_secs: f64,
}

/// The system of record: every resource's trait, and the store's own health and upkeep.
/// Every write is durable (committed) before the call returns. Callers hold an
/// `Arc<dyn Store>` and bring into scope the traits of the resources they use.
#[async_trait]
pub trait Store:
    IdentityStore
    + ApplicationStore
    + ReviewStore
    + PassStore
    + VerificationStore
    + AuditStore
    + PolicyStore
    + JobStore
    + StatsStore
    + LegacyStore
    + AdminStore
{
    /// Whether the backend answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// The disk syncs this process's acknowledgements waited on, where the store makes
    /// them itself (the embedded store's WAL); `None` where the database server does.
    fn sync_times(&self) -> Option<SyncTimes> {
        None
    }

    /// Reclaims the dead rows a store shared by many nodes leaves in its queue-like tables
    /// (jobs, queued audit entries, pending counter changes, login codes), which every
    /// lease, seal and fold would otherwise read past. Every node calls it every few
    /// hundred milliseconds; the store decides how often it works. The embedded store
    /// reuses freed pages as it goes and has nothing to do.
    async fn tidy(&self) -> StoreResult<()> {
        Ok(())
    }
}
