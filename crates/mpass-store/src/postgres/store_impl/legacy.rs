//! `LegacyStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::ids::UserId;
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
}
