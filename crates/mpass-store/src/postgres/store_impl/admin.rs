//! `AdminStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::UserId;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, in_tx, ms};

#[async_trait]
impl AdminStore for PostgresStore {
    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>> {
        let c = self.primary().await?;
        Ok(crate::postgres::admin::grants_list(&c).await?)
    }

    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| crate::postgres::admin::revoke_role(
            &tx,
            user,
            role,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // The search and its audit entry commit together before the answer.
        Ok(in_tx!(self, |tx| crate::postgres::admin::search(
            &tx,
            query,
            actor.clone(),
            ms(now),
            limit
        ))?)
    }
}
