//! `ReviewStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::application::Application;
use mpass_domain::ids::{ApplicationId, MessageId, UserId};
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, applications as apps, ms, threads};

#[async_trait]
impl ReviewStore for SqliteStore {
    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>> {
        let districts = districts.to_vec();
        self.read(move |c| apps::review_queue(c, &districts, limit)).await
    }

    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome> {
        let until = ms(now) + lease_secs * 1000;
        self.write(move |c| apps::review_claim(c, app, reviewer, ms(now), until))
            .await
    }

    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome> {
        self.write(move |c| apps::review_decide(c, &d)).await
    }

    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool> {
        self.write(move |c| apps::review_issue_pass(c, &p)).await
    }

    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome> {
        self.write(move |c| threads::request_info(c, &r, ms(r.at))).await
    }

    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome> {
        let body = body.to_string();
        self.write(move |c| threads::reply(c, app, user, message, &body, now))
            .await
    }

    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>> {
        self.read(move |c| threads::thread(c, app)).await
    }
}
