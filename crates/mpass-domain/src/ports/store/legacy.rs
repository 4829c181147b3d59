//! What only the legacy `/v1` API keeps (SPEC §12).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::phone::Phone;
use crate::ports::*;

/// What only the legacy `/v1` API keeps: used upload names, registrations and the login
/// attempts counted against each phone's day.
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
    /// Counts a legacy login attempt for `phone` in `day` ([`crate::legacy::login_day`]),
    /// unless `max_per_day` are counted for it already: `false` then, counting nothing.
    /// Counted before the credentials are looked at, so concurrent guesses cannot pass the
    /// allowance; one that succeeds is given back ([`LegacyStore::legacy_login_refund`]),
    /// so only failures use it up. Counted in the store, so the allowance holds across
    /// API nodes. Past days' counts are deleted.
    async fn legacy_login_attempt(&self, phone: &Phone, day: i64, max_per_day: u32) -> StoreResult<bool>;
    /// Gives back an attempt [`LegacyStore::legacy_login_attempt`] counted for `phone` in
    /// `day`, because it succeeded.
    async fn legacy_login_refund(&self, phone: &Phone, day: i64) -> StoreResult<()>;
}
