//! The admin pages' store (issue 7): role grants, revoking roles, audited searches.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::ids::UserId;
use crate::ports::*;

/// The admin pages: role grants, revoking roles and the audited application search.
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// Every non-citizen grant with the holder's phone, by role then phone.
    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>>;
    /// Removes a role from a user and audits `role.revoked` in one transaction; false (and
    /// no audit entry) when the user did not hold it.
    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool>;
    /// Finds applications by the applicant's phone, document number (any document type) or
    /// id, newest first, at most `limit`. Appends `admin.search` (actor, field, value, hits)
    /// to the audit log in the same transaction, before the result is returned: a search
    /// that is not logged is not run.
    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;
}
