//! The worker loop: fetch jobs into free slots, run them concurrently, acknowledge, retry
//! or park.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mpass_domain::ports::{Delivery, JobCounters, Queue};

use crate::WorkerContext;
use crate::jobs::{self, JobError};

/// Deliveries of one job before it is parked in the dead-letter store.
pub const MAX_ATTEMPTS: u32 = 5;

/// Delay before attempt `attempt + 1`: 1 s, 2 s, 4 s, ... capped at 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    RetryPolicy::default().delay(attempt)
}

/// When a failing job is tried again, and when it is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries before a job that keeps failing transiently is dead-lettered.
    pub max_attempts: u32,
    /// Delay after the first failure; it doubles after each further one.
    pub backoff_base: Duration,
    /// The longest delay.
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1`: base, 2 × base, 4 × base, ... up to 256 × base,
    /// and never more than the max.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(8);
        self.backoff_base.saturating_mul(factor).min(self.backoff_max)
    }
}

/// Runs jobs until shut down. Counters are exported as metrics.
pub struct Runner {
    ctx: Arc<WorkerContext>,
    queue: Arc<dyn Queue>,
    /// Jobs run at once (the slots a fetch fills).
    batch: u32,
    counters: Arc<JobCounters>,
    retry: RetryPolicy,
}

impl Runner {
    /// A runner with the default retry policy.
    pub fn new(ctx: Arc<WorkerContext>, queue: Arc<dyn Queue>, batch: u32, counters: Arc<JobCounters>) -> Arc<Runner> {
        Runner::with_retry(ctx, queue, batch, counters, RetryPolicy::default())
    }

    /// A runner that retries and gives up as `retry` says.
    pub fn with_retry(
        ctx: Arc<WorkerContext>,
        queue: Arc<dyn Queue>,
        batch: u32,
        counters: Arc<JobCounters>,
        retry: RetryPolicy,
    ) -> Arc<Runner> {
        Arc::new(Runner {
            ctx,
            queue,
            batch: batch.max(1),
            counters,
            retry: RetryPolicy {
                max_attempts: retry.max_attempts.max(1),
                ..retry
            },
        })
    }

    /// Fetches and runs jobs until `shutdown` completes, up to `batch` at once. A job that
    /// finishes frees its slot for the next fetch: a slow job (an SMS provider taking
    /// seconds) holds its own slot, not the whole batch it came with. A fetch asks for
    /// the free slots once at least half are free, so fetches stay large under load.
    ///
    /// A fetch already under way is never cut short (its leases would strand jobs until
    /// they expire); the worker stops after finishing the jobs in hand.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send + 'static) {
        let stopping = Arc::new(AtomicBool::new(false));
        let (flag, queue) = (stopping.clone(), self.queue.clone());
        tokio::spawn(async move {
            shutdown.await;
            flag.store(true, Ordering::SeqCst);
            queue.notify();
        });
        let slots = self.batch as usize;
        let mut running = tokio::task::JoinSet::new();
        while !stopping.load(Ordering::SeqCst) {
            while running.try_join_next().is_some() {}
            if running.len() > slots / 2 {
                running.join_next().await;
                continue;
            }
            let free = u32::try_from(slots - running.len()).unwrap_or(u32::MAX);
            match self.queue.fetch(free, Duration::from_secs(1)).await {
                Ok(deliveries) => {
                    for d in deliveries {
                        let this = self.clone();
                        running.spawn(async move { this.settle(d).await });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "worker.fetch_failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        while running.join_next().await.is_some() {}
        tracing::info!("worker.stopped");
    }

    async fn settle(&self, d: Delivery) {
        let started = std::time::Instant::now();
        let result = jobs::run(&self.ctx, &d.job).await;
        let settled = match result {
            Ok(()) => {
                self.counters.processed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(job.id = %d.job.id, job.kind = %d.job.kind, duration_ms = started.elapsed().as_millis() as u64, "job.done");
                self.queue.ack(&d).await
            }
            Err(JobError::Permanent(e)) => {
                self.counters.dead.fetch_add(1, Ordering::Relaxed);
                tracing::error!(job.id = %d.job.id, job.kind = %d.job.kind, error = %e, "job.dead_letter");
                self.queue.dead_letter(&d, &e).await
            }
            Err(JobError::Transient(e)) if d.attempt >= self.retry.max_attempts => {
                self.counters.dead.fetch_add(1, Ordering::Relaxed);
                tracing::error!(job.id = %d.job.id, job.kind = %d.job.kind, attempt = d.attempt, error = %e, "job.dead_letter");
                self.queue.dead_letter(&d, &e).await
            }
            Err(JobError::Transient(e)) => {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                let delay = self.retry.delay(d.attempt);
                tracing::warn!(job.id = %d.job.id, job.kind = %d.job.kind, attempt = d.attempt, retry_in_ms = delay.as_millis() as u64, error = %e, "job.retry");
                self.queue.retry(&d, delay, &e).await
            }
        };
        if let Err(e) = settled {
            // The lease runs out and the job is delivered again; jobs are idempotent.
            tracing::warn!(job.id = %d.job.id, error = %e, "job.settle_failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(30), Duration::from_secs(256));
        let quick = RetryPolicy {
            max_attempts: 3,
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_millis(300),
        };
        assert_eq!(quick.delay(1), Duration::from_millis(50));
        assert_eq!(quick.delay(3), Duration::from_millis(200));
        assert_eq!(quick.delay(4), Duration::from_millis(300));
        assert_eq!(quick.delay(u32::MAX), Duration::from_millis(300));
    }
}
