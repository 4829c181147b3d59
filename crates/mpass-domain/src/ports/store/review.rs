//! The reviewers' queue and the information-request threads (SPEC §6).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::application::Application;
use crate::ids::{ApplicationId, MessageId, UserId};
use crate::ports::*;

/// The reviewers' queue: claims, reviewers' decisions and the information-request threads.
#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Applications `in_review` whose district is in `districts` and that no reviewer has
    /// approved yet, oldest first.
    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>>;
    /// Claims an application for `reviewer` for `lease_secs`, in one conditional update: it
    /// succeeds only while the application is in review, not yet approved, and unclaimed,
    /// its lease expired, or already held by `reviewer` (a renewal). Audited.
    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome>;
    /// Records a reviewer's decision, only for the holder of an unexpired lease, with the
    /// pass (if any), the jobs and the audit entry (`application.reviewed`) in one
    /// transaction.
    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome>;
    /// Attaches a worker-signed pass to an application a reviewer approved without one: it
    /// becomes `approved`. Idempotent: returns false (changing nothing) unless the
    /// application is still in review with that approval pending.
    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool>;

    /// The lease holder asks the applicant a question: the application becomes
    /// `info_requested` and leaves the queue (its claim released); the question is the
    /// thread's next message; jobs and the audit entry go in the same transaction.
    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome>;
    /// The applicant answers: the message is stored and the application returns to the
    /// review queue (`in_review`, unclaimed, at its original place), audited.
    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome>;
    /// The thread of an application, oldest first.
    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>>;
}
