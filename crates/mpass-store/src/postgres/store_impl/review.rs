//! `ReviewStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::application::Application;
use mpass_domain::ids::{ApplicationId, MessageId, UserId};
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, applications as apps, in_tx, ms, threads};

#[async_trait]
impl ReviewStore for PostgresStore {
    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>> {
        // The primary: a reviewer who just claimed or decided must see the queue as it is.
        let c = self.primary().await?;
        Ok(apps::review_queue(&c, districts, limit).await?)
    }

    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome> {
        let until = ms(now) + lease_secs * 1000;
        Ok(in_tx!(self, |tx| apps::review_claim(
            &tx,
            app,
            reviewer,
            ms(now),
            until
        ))?)
    }

    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome> {
        Ok(in_tx!(self, |tx| apps::review_decide(&tx, &d))?)
    }

    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| apps::review_issue_pass(&tx, &p))?)
    }

    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome> {
        Ok(in_tx!(self, |tx| threads::request_info(&tx, &r))?)
    }

    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome> {
        Ok(in_tx!(self, |tx| threads::reply(&tx, app, user, message, body, now))?)
    }

    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>> {
        // The primary: the author of a message expects to see it at once.
        let c = self.primary().await?;
        Ok(threads::thread(&c, app).await?)
    }
}
