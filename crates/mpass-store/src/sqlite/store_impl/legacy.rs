//! `LegacyStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, legacy, ms};

#[async_trait]
impl LegacyStore for SqliteStore {
    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let name = name.to_string();
        self.write(move |c| legacy::upload_use(c, &name, ms(now))).await
    }

    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &mpass_domain::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let reg = reg.clone();
        self.write(move |c| legacy::registration_put(c, user, &reg, ms(now)))
            .await
    }

    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<mpass_domain::legacy::LegacyRegistration>> {
        self.read(move |c| legacy::registration(c, user)).await
    }

    async fn legacy_login_attempt(&self, phone: &Phone, day: i64, max_per_day: u32) -> StoreResult<bool> {
        let phone = phone.clone();
        self.write(move |c| legacy::login_attempt(c, &phone, day, max_per_day))
            .await
    }

    async fn legacy_login_refund(&self, phone: &Phone, day: i64) -> StoreResult<()> {
        let phone = phone.clone();
        self.write(move |c| legacy::login_refund(c, &phone, day)).await
    }
}
