//! Users, roles, login codes, refresh tokens and profiles.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::ids::UserId;
use crate::language::Language;
use crate::phone::Phone;
use crate::ports::*;
use crate::profile::Profile;

/// Who a user is: login codes, users and their roles, refresh tokens, profiles and the
/// language for their messages.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Records an OTP send if the per-phone limits allow, and `origin`'s when given (no
    /// more than its `max_per_minute` sends to any phones in the 60 seconds before `now`,
    /// estimated from the sends in the minute of `now` and in the one before, minutes
    /// counted from the epoch: [`crate::otp::address_minute`], [`crate::otp::address_room`]),
    /// and enqueues its SMS job. A refused send is not recorded.
    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        origin: Option<&OtpOrigin>,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>>;
    /// Checks a code, counting the attempt; a valid code is consumed.
    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck>;
    /// The user with this phone, created on first login.
    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>>;
    /// Grants a role (replacing the districts of an earlier grant of it), audited as `actor`.
    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()>;
    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()>;
    /// Consumes a live refresh token and stores its successor; `None` if it was not live.
    /// Reuse of an already rotated token revokes the whole family (theft detection).
    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>>;
    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()>;

    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>>;
    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()>;
    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// The language the user chose for messages; `None` until they choose one.
    async fn user_language(&self, user: UserId) -> StoreResult<Option<Language>>;
    /// Remembers the user's language for messages (nothing happens for an unknown user).
    async fn set_user_language(&self, user: UserId, language: Language) -> StoreResult<()>;
}
