//! Applications: submission, the citizen's list, cancelling and the automatic decision.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::application::Application;
use crate::ids::{ApplicationId, UserId};
use crate::ports::*;
use crate::stats::BulkApplication;

/// Applications from submission to the automatic decision.
#[async_trait]
pub trait ApplicationStore: Send + Sync + 'static {
    /// Stores an application and its decision job in one transaction.
    async fn submit_application(&self, app: NewApplication) -> StoreResult<SubmitOutcome>;
    async fn application(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    /// The user's applications, newest first, strictly older than `before` when given.
    async fn applications_of(
        &self,
        user: UserId,
        before: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>>;
    /// Cancels if the owner matches and the status allows. Returns the application as it now
    /// is and whether this call cancelled it; `None` if it is not the owner's (or absent).
    /// A cancellation is audited with the owner as actor.
    async fn cancel_application(
        &self,
        id: ApplicationId,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Application, bool)>>;
    async fn applicant_facts(&self, app: &Application, window_start: OffsetDateTime) -> StoreResult<ApplicantFacts>;
    /// Everything the decision of application `id` needs, read together: the application
    /// and, while it is still `submitted`, the applicant's profile, user, notification
    /// language and the policy facts (the weekly window ending at the trip's start). Each
    /// backend reads them in one place (one connection, on the primary where there is a
    /// replica), so it has no default made of the other methods.
    async fn decision_inputs(&self, id: ApplicationId, weekly_window: time::Duration) -> StoreResult<DecisionInputs>;

    /// Records a decision only if the application is still `submitted`: duplicate or
    /// late deliveries of a decision job change nothing. Returns whether it was recorded.
    /// A recorded decision is audited (actor `system`) in the same transaction.
    async fn record_decision(&self, d: DecisionRecord) -> StoreResult<bool>;
    /// Applications submitted in `[from, to)`, in id order after `after`, for replays
    /// (`mpass policy test`). A scan: for the console, not for requests.
    async fn applications_submitted_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>>;
    /// Stores synthetic applications (with their users and passes) as they are, in one
    /// transaction, without moving the counters: `mpass demo` rebuilds them afterwards.
    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()>;
}
