//! `PassStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::PassId;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, applications as apps, fresh, in_tx, ms};

#[async_trait]
impl PassStore for PostgresStore {
    async fn pass(&self, pass: PassId) -> StoreResult<Option<PassRecord>> {
        Ok(fresh!(self, |c| apps::pass(&c, pass).await?))
    }

    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>> {
        Ok(fresh!(self, |c| apps::pass_by_short_code(&c, code).await?))
    }

    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)> {
        let c = self.reader().await?;
        Ok(apps::revocations_since(&c, seq, limit).await?)
    }

    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        Ok(in_tx!(self, |tx| apps::revoke_pass(
            &tx,
            pass,
            reason,
            actor.clone(),
            &jobs,
            ms(now)
        ))?)
    }
}
