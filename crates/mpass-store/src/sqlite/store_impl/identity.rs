//! `IdentityStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use mpass_domain::profile::Profile;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, identity as id, ms, notify};

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        origin: Option<&OtpOrigin>,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>> {
        let (phone, hash, origin) = (phone.clone(), code_hash.to_string(), origin.cloned());
        self.write(move |c| id::otp_issue(c, &phone, &hash, &sms, origin.as_ref(), ms(now)))
            .await
    }

    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck> {
        let (phone, hash) = (phone.clone(), code_hash.to_string());
        self.write(move |c| id::otp_check(c, &phone, &hash, ms(now))).await
    }

    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User> {
        let phone = phone.clone();
        self.write(move |c| id::user_by_phone_or_create(c, &phone, ms(now)))
            .await
    }

    async fn user(&self, user: UserId) -> StoreResult<Option<User>> {
        // Two key lookups (the user, their grants); every web page with a session makes
        // one, and the officers' page one per check: no hand-off to the blocking pool.
        self.read_point(move |c| id::user_by_id(c, user)).await
    }

    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        let phone = phone.clone();
        self.read(move |c| id::user_by_phone(c, &phone)).await
    }

    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()> {
        self.write(move |c| id::grant_role(c, user, &grant, actor, ms(now)))
            .await
    }

    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()> {
        let hash = token_hash.to_string();
        self.write(move |c| id::refresh_create(c, &hash, &hash, user, ms(expires)))
            .await
    }

    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>> {
        let (old, new) = (old_hash.to_string(), new_hash.to_string());
        self.write(move |c| id::refresh_rotate(c, &old, &new, ms(now), ms(expires)))
            .await
    }

    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        let hash = token_hash.to_string();
        self.write(move |c| id::refresh_revoke(c, &hash, ms(now))).await
    }

    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()> {
        self.write(move |c| id::refresh_revoke_user(c, user, ms(now))).await
    }

    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>> {
        self.read_point(move |c| id::profile(c, user)).await
    }

    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()> {
        let profile = profile.clone();
        self.write(move |c| id::put_profile(c, user, &profile, ms(now))).await
    }

    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()> {
        let (key, ct) = (key.to_string(), content_type.to_string());
        let updated = self.write(move |c| id::set_photo(c, user, &key, &ct, ms(now))).await?;
        if updated {
            Ok(())
        } else {
            Err(StoreError::Backend("photo set before the profile exists".into()))
        }
    }

    async fn user_language(&self, user: UserId) -> StoreResult<Option<mpass_domain::language::Language>> {
        self.read(move |c| notify::user_language(c, user)).await
    }

    async fn set_user_language(&self, user: UserId, language: mpass_domain::language::Language) -> StoreResult<()> {
        self.write(move |c| notify::set_user_language(c, user, language)).await
    }
}
