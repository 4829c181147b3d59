//! The policy history: the policy in force for every node (SPEC §6).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::ports::*;

/// The policy history, so that every node adopts a new policy without a restart.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// Puts a policy in force for every node (they poll [`PolicyStore::policy_latest`]); audited
    /// as `policy.changed`. Returns its sequence number, or `None` (writing nothing) when
    /// the newest policy already has this version: nodes and operators that adopt the same
    /// file at once record it once.
    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>>;
    /// The newest policy put in force, if its sequence number is above `after_seq`.
    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>>;
}
