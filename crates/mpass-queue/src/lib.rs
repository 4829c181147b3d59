//! Movement Pass work queue: the `Queue` port and its in-process durable implementation.
//!
//! The embedded queue keeps jobs in the database's job table, written in the same
//! transaction as the change that caused them (the outbox pattern), so a job exists
//! exactly when its cause was committed. Workers lease due jobs for a while; a job whose
//! worker died is leased again when its lease runs out. A distributed queue (NATS
//! JetStream) implements the same trait by relaying that table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mpass_domain::ports::{Delivery, Queue, Store, StoreResult};
use time::OffsetDateTime;
use tokio::sync::Notify;

pub mod nats;

/// How long a fetched job stays invisible to other workers.
pub const LEASE_SECS: i64 = 60;

/// The in-process durable queue over the store's job table.
pub struct EmbeddedQueue {
    store: Arc<dyn Store>,
    wake: Notify,
    /// How often to look for due jobs (retries) when nobody rings.
    poll: Duration,
    /// How long a fetched job stays invisible before it is delivered again.
    lease_secs: i64,
}

impl EmbeddedQueue {
    pub fn new(store: Arc<dyn Store>) -> Self {
        EmbeddedQueue {
            store,
            wake: Notify::new(),
            poll: Duration::from_millis(200),
            lease_secs: LEASE_SECS,
        }
    }

    /// The same queue with another lease (tests use a short one to see redelivery quickly).
    pub fn with_lease_secs(mut self, lease_secs: i64) -> Self {
        self.lease_secs = lease_secs.max(1);
        self
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn fetch(&self, max: u32, wait: Duration) -> StoreResult<Vec<Delivery>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a notify between the look and the wait is not lost.
            let notified = self.wake.notified();
            let jobs = self
                .store
                .jobs_lease(max, OffsetDateTime::now_utc(), self.lease_secs)
                .await?;
            if !jobs.is_empty() {
                return Ok(jobs
                    .into_iter()
                    .map(|job| Delivery {
                        attempt: job.attempts,
                        job,
                    })
                    .collect());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let nap = self.poll.min(deadline - now);
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn ack(&self, d: &Delivery) -> StoreResult<()> {
        self.store.job_done(d.job.id).await
    }

    async fn retry(&self, d: &Delivery, delay: Duration, error: &str) -> StoreResult<()> {
        let at = OffsetDateTime::now_utc() + delay;
        self.store.job_retry(d.job.id, at, error).await
    }

    async fn dead_letter(&self, d: &Delivery, error: &str) -> StoreResult<()> {
        self.store.job_dead(d.job.id, error, OffsetDateTime::now_utc()).await
    }

    fn notify(&self) {
        self.wake.notify_waiters();
    }

    async fn depth(&self) -> StoreResult<(u64, u64)> {
        self.store.jobs_depth().await
    }
}
