//! `AdminStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::UserId;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, ms};

#[async_trait]
impl AdminStore for SqliteStore {
    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>> {
        self.read(crate::sqlite::admin::grants_list).await
    }

    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |c| crate::sqlite::admin::revoke_role(c, user, role, actor, ms(now)))
            .await
    }

    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // On the writer: the search and its audit entry commit together before the answer.
        let query = query.clone();
        self.write(move |c| crate::sqlite::admin::search(c, &query, actor, ms(now), limit))
            .await
    }
}
