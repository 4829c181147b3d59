//! `LegacyStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PostgresStore, legacy, ms};

#[async_trait]
impl LegacyStore for PostgresStore {
    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let c = self.primary().await?;
        Ok(legacy::upload_use(&c, name, ms(now)).await?)
    }

    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &mpass_domain::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let c = self.primary().await?;
        Ok(legacy::registration_put(&c, user, reg, ms(now)).await?)
    }

    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<mpass_domain::legacy::LegacyRegistration>> {
        // The primary: a client reads its registration right after writing it.
        let c = self.primary().await?;
        Ok(legacy::registration(&c, user).await?)
    }

    async fn legacy_login_attempt(&self, phone: &Phone, day: i64, max_per_day: u32) -> StoreResult<bool> {
        let c = self.primary().await?;
        Ok(legacy::login_attempt(&c, phone, day, max_per_day).await?)
    }

    async fn legacy_login_refund(&self, phone: &Phone, day: i64) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(legacy::login_refund(&c, phone, day).await?)
    }
}
