//! `PassStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::PassId;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, applications as apps, ms};

#[async_trait]
impl PassStore for SqliteStore {
    async fn pass(&self, pass: PassId) -> StoreResult<Option<PassRecord>> {
        self.read_point(move |c| apps::pass(c, pass)).await
    }

    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>> {
        let code = code.to_string();
        self.read(move |c| apps::pass_by_short_code(c, &code)).await
    }

    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)> {
        self.read(move |c| apps::revocations_since(c, seq, limit)).await
    }

    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        let reason = reason.to_string();
        self.write(move |c| apps::revoke(c, pass, &reason, actor, &jobs, ms(now)))
            .await
    }
}
