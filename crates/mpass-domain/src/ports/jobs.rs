//! The work queue's port and the jobs the store puts in it (the outbox), their kinds, dead
//! letters and the development SMS outbox.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreResult;
use crate::ids::{ApplicationId, JobId};
use crate::phone::Phone;

/// A background job as stored in the outbox / job table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempts: u32,
}

/// Work a submission or another change adds to the queue, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub payload: String,
}

/// A job parked in the dead-letter store after it failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadJob {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempts: u32,
    pub last_error: String,
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

/// A message in the development SMS outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub to: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A delivered job. `attempt` counts from 1.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub job: Job,
    pub attempt: u32,
}

/// The work queue. Jobs are put in by the store (outbox); the queue hands them to workers.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Waits up to `wait` for up to `max` jobs.
    async fn fetch(&self, max: u32, wait: std::time::Duration) -> StoreResult<Vec<Delivery>>;
    /// The job is done; it will not be delivered again.
    async fn ack(&self, d: &Delivery) -> StoreResult<()>;
    /// Deliver again after `delay`.
    async fn retry(&self, d: &Delivery, delay: std::time::Duration, error: &str) -> StoreResult<()>;
    /// Give up: park the job in the dead-letter store.
    async fn dead_letter(&self, d: &Delivery, error: &str) -> StoreResult<()>;
    /// Wakes waiting fetchers (new work was committed).
    fn notify(&self);
    /// `(ready, dead)` job counts.
    async fn depth(&self) -> StoreResult<(u64, u64)>;
    /// Whether the queue's own infrastructure answers (for `/readyz`); by default, whether
    /// its depth can be read.
    async fn ping(&self) -> StoreResult<()> {
        self.depth().await.map(|_| ())
    }
}

/// Job kind: decide an application (payload: the application id).
pub const JOB_DECIDE: &str = "decide_application";
/// Job kind: send one SMS (payload: `{"to", "body"}`).
pub const JOB_SEND_SMS: &str = "send_sms";
/// Job kind: send a login code by SMS (payload as `send_sms`). A kind of its own so that
/// queues hand it out before every other job: a person waits at the login page for it,
/// while a decision SMS behind a launch-day backlog may wait minutes without harm.
pub const JOB_SEND_LOGIN_CODE: &str = "send_login_code";
/// Job kind: sign and attach the pass of an application a reviewer approved (payload: the
/// application id).
pub const JOB_ISSUE_REVIEWED_PASS: &str = "issue_reviewed_pass";

/// Every job kind there is: each queue backend must carry all of them (JetStream has a
/// stream per kind).
pub const JOB_KINDS: [&str; 4] = [JOB_SEND_LOGIN_CODE, JOB_DECIDE, JOB_SEND_SMS, JOB_ISSUE_REVIEWED_PASS];
/// The kind every queue leases first.
pub const JOB_PRIORITY_KIND: &str = JOB_SEND_LOGIN_CODE;

impl NewJob {
    /// The job that decides application `id`.
    pub fn decide(id: ApplicationId) -> NewJob {
        NewJob {
            kind: JOB_DECIDE.into(),
            payload: id.to_string(),
        }
    }

    /// The job that sends `body` to `to` by SMS.
    pub fn sms(to: &Phone, body: &str) -> NewJob {
        NewJob {
            kind: JOB_SEND_SMS.into(),
            payload: serde_json::json!({ "to": to.as_str(), "body": body }).to_string(),
        }
    }

    /// The job that sends a login code (`body`) to `to`: leased before any other job.
    pub fn login_code(to: &Phone, body: &str) -> NewJob {
        NewJob {
            kind: JOB_SEND_LOGIN_CODE.into(),
            ..NewJob::sms(to, body)
        }
    }
}

/// Counts of jobs settled by this process's workers, exported as metrics.
#[derive(Debug, Default)]
pub struct JobCounters {
    pub processed: std::sync::atomic::AtomicU64,
    pub retried: std::sync::atomic::AtomicU64,
    pub dead: std::sync::atomic::AtomicU64,
}
