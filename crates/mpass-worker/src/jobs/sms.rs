//! `send_sms` and `send_login_code`: deliver one text message through the configured
//! provider (the two differ only in queue priority).

use mpass_domain::phone::Phone;
use mpass_domain::ports::{NewJob, SmsError};
use serde::Deserialize;

use super::JobError;
use crate::WorkerContext;

pub use mpass_domain::ports::JOB_SEND_LOGIN_CODE as LOGIN_CODE_KIND;
pub use mpass_domain::ports::JOB_SEND_SMS as KIND;

#[derive(Debug, Deserialize)]
struct Payload {
    to: String,
    body: String,
}

/// The job that sends `body` to `to`.
pub fn job(to: &Phone, body: &str) -> NewJob {
    NewJob::sms(to, body)
}

pub async fn run(ctx: &WorkerContext, payload: &str) -> Result<(), JobError> {
    let p: Payload = serde_json::from_str(payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let to = Phone::parse(&p.to).ok_or_else(|| JobError::Permanent("bad phone".into()))?;
    // Sending twice on a redelivery is possible (the provider has no idempotency key);
    // a duplicate SMS is a nuisance, a lost one is worse.
    ctx.sms.send(&to, &p.body).await.map_err(|e| match e {
        SmsError::Transient(e) => JobError::Transient(e),
        SmsError::Permanent(e) => JobError::Permanent(e),
    })
}
