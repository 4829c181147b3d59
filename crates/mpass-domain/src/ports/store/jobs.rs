//! The job table (the embedded queue and the outbox relay read it), dead letters and the development SMS outbox.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::ids::JobId;
use crate::ports::*;

/// The job table, dead letters and the development SMS outbox.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn outbox_push(&self, to: &str, body: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// The newest `limit` messages, newest first; with `to` (E.164), only those sent to it.
    async fn outbox_list(&self, to: Option<&str>, limit: u32) -> StoreResult<Vec<OutboxMessage>>;

    /// Leases up to `max` due jobs for `lease_secs`.
    async fn jobs_lease(&self, max: u32, now: OffsetDateTime, lease_secs: i64) -> StoreResult<Vec<Job>>;
    async fn job_done(&self, id: JobId) -> StoreResult<()>;
    async fn job_retry(&self, id: JobId, run_at: OffsetDateTime, error: &str) -> StoreResult<()>;
    async fn job_dead(&self, id: JobId, error: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn jobs_depth(&self) -> StoreResult<(u64, u64)>;
    /// Dead jobs (of `kind` when given), most recently failed first.
    async fn dead_jobs(&self, kind: Option<&str>, limit: u32) -> StoreResult<Vec<DeadJob>>;
    /// Moves a dead job back into the job table, in one transaction with its audit entry
    /// (`dlq.replayed`, by `actor`): a new job with the same kind and payload, a new id and
    /// no attempts, due at `now`, so every queue backend runs it again (on NATS the relay
    /// publishes it; a new id keeps the stream's duplicate window from dropping it).
    /// Returns the new job's id; `None` when there is no such dead job.
    async fn dead_job_replay(&self, id: JobId, actor: Actor, now: OffsetDateTime) -> StoreResult<Option<JobId>>;
}
