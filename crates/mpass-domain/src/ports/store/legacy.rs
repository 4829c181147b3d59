//! What only the legacy `/v1` API keeps (SPEC §12).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::ports::*;

/// What only the legacy `/v1` API keeps: used upload names and registrations.
#[async_trait]
pub trait LegacyStore: Send + Sync + 'static {
    /// Marks the pre-signed upload `name` as used; `true` only for its first use, so a
    /// pre-signed URL uploads once even when two requests race.
    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Records a legacy registration of `user` once; `false` (changing nothing) when the
    /// user already has one (a duplicate registration, or a racing one).
    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &crate::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// The legacy registration of `user`, if they registered through `/v1`.
    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<crate::legacy::LegacyRegistration>>;
}
