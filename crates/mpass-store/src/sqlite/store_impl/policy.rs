//! `PolicyStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, threads};

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        let (version, source) = (version.to_string(), source.to_string());
        self.write(move |c| threads::policy_put(c, &version, &source, actor, now))
            .await
    }

    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>> {
        self.read(move |c| threads::policy_latest(c, after_seq)).await
    }
}
