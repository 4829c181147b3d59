//! `issue_reviewed_pass`: signs the pass of an application a reviewer approved (API nodes
//! hold no pass-signing key) and attaches it. Idempotent: the store attaches a pass only
//! while the approval is pending, so a second delivery changes nothing.

use mpass_domain::application::Status;
use mpass_domain::ids::ApplicationId;
use mpass_domain::notify;
use mpass_domain::ports::ReviewedPass;
use time::OffsetDateTime;

use super::{JobError, decide, sms};
use crate::WorkerContext;

pub use mpass_domain::ports::JOB_ISSUE_REVIEWED_PASS as KIND;

pub async fn run(ctx: &WorkerContext, payload: &str) -> Result<(), JobError> {
    let id =
        ApplicationId::parse(payload).ok_or_else(|| JobError::Permanent(format!("bad application id {payload:?}")))?;
    let Some(app) = ctx.store.application(id).await? else {
        return Err(JobError::Permanent(format!("application {id} not found")));
    };
    if app.status != Status::InReview {
        return Ok(());
    }
    let profile = ctx
        .store
        .profile(app.user_id)
        .await?
        .ok_or_else(|| JobError::Permanent("applicant has no profile".into()))?;
    let user = ctx
        .store
        .user(app.user_id)
        .await?
        .ok_or_else(|| JobError::Permanent("applicant not found".into()))?;
    let now = OffsetDateTime::now_utc();
    let pass = decide::issue_pass(ctx, &app, &profile, now)?;
    let lang = ctx.language_of(user.id).await?;
    let message = notify::approved(lang, &pass.short_code, pass.valid_from, pass.valid_until);
    let attached = ctx
        .store
        .review_issue_pass(ReviewedPass {
            pass,
            jobs: vec![sms::job(&user.phone, &message)],
            issued_at: now,
        })
        .await?;
    tracing::info!(application.id = %app.id, attached, "application.review_pass_issued");
    Ok(())
}
