//! Passes by id or short code, and revoking them.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::ids::PassId;
use crate::ports::*;

/// Passes: lookups, the revocation list and revoking.
#[async_trait]
pub trait PassStore: Send + Sync + 'static {
    async fn pass(&self, id: PassId) -> StoreResult<Option<PassRecord>>;
    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>>;
    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)>;
    /// Revokes a pass (admin or police supervisor), in one transaction: the application
    /// becomes `revoked`, the pass joins the revocation list with `reason`, `jobs` (the
    /// holder's SMS) are enqueued and `pass.revoked` is audited with `actor` as its actor.
    /// A cancelled or already revoked application changes nothing.
    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome>;
}
