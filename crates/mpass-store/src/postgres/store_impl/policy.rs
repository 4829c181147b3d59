//! `PolicyStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, in_tx, threads};

#[async_trait]
impl PolicyStore for PostgresStore {
    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        Ok(in_tx!(self, |tx| threads::policy_put(
            &tx,
            version,
            source,
            actor.clone(),
            now
        ))?)
    }

    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>> {
        let c = self.primary().await?;
        Ok(threads::policy_latest(&c, after_seq).await?)
    }
}
