//! Job kinds and their dispatch.

pub mod decide;
pub mod reviewed;
pub mod sms;

use mpass_domain::ports::{Job, StoreError};

use crate::WorkerContext;

/// Why a job failed: worth retrying, or never going to work.
#[derive(Debug)]
pub enum JobError {
    Transient(String),
    Permanent(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Transient(e.to_string())
    }
}

/// Runs one job by kind.
pub async fn run(ctx: &WorkerContext, job: &Job) -> Result<(), JobError> {
    match job.kind.as_str() {
        decide::KIND => decide::run(ctx, &job.payload).await,
        sms::KIND | sms::LOGIN_CODE_KIND => sms::run(ctx, &job.payload).await,
        reviewed::KIND => reviewed::run(ctx, &job.payload).await,
        other => Err(JobError::Permanent(format!("unknown job kind {other}"))),
    }
}
