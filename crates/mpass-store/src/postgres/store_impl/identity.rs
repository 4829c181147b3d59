//! `IdentityStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use mpass_domain::profile::Profile;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, fresh, identity as id, in_tx, ms, notify};

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        origin: Option<&OtpOrigin>,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>> {
        Ok(in_tx!(self, |tx| id::otp_issue(
            &tx,
            phone,
            code_hash,
            &sms,
            origin,
            ms(now)
        ))?)
    }

    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck> {
        Ok(in_tx!(self, |tx| id::otp_check(&tx, phone, code_hash, ms(now)))?)
    }

    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User> {
        let c = self.primary().await?;
        Ok(id::user_by_phone_or_create(&c, phone, ms(now)).await?)
    }

    async fn user(&self, user: UserId) -> StoreResult<Option<User>> {
        Ok(fresh!(self, |c| id::user_by_id(&c, user).await?))
    }

    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        Ok(fresh!(self, |c| id::user_by_phone(&c, phone).await?))
    }

    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| id::grant_role(
            &tx,
            user,
            &grant,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        // A new login starts a family named after its first token, as in SQLite.
        Ok(id::refresh_create(&c, token_hash, token_hash, user, ms(expires)).await?)
    }

    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>> {
        Ok(in_tx!(self, |tx| id::refresh_rotate(
            &tx,
            old_hash,
            new_hash,
            ms(now),
            ms(expires)
        ))?)
    }

    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::refresh_revoke(&c, token_hash, ms(now)).await?)
    }

    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::refresh_revoke_user(&c, user, ms(now)).await?)
    }

    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>> {
        // The primary: a profile is read right after it is saved (the answer to the save,
        // the application that needs it), and a replica's older one would be wrong, not
        // merely late.
        let c = self.primary().await?;
        Ok(id::profile(&c, user).await?)
    }

    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::put_profile(&c, user, profile, ms(now)).await?)
    }

    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        if id::set_photo(&c, user, key, content_type, ms(now)).await? {
            Ok(())
        } else {
            Err(StoreError::Backend("photo set before the profile exists".into()))
        }
    }

    async fn user_language(&self, user: UserId) -> StoreResult<Option<mpass_domain::language::Language>> {
        // The primary: a choice just made must be the one the next message uses.
        let c = self.primary().await?;
        Ok(notify::user_language(&c, user).await?)
    }

    async fn set_user_language(&self, user: UserId, language: mpass_domain::language::Language) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(notify::set_user_language(&c, user, language).await?)
    }
}
