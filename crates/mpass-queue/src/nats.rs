//! The work queue on NATS JetStream, fed from the database's job table (transactional outbox).
//!
//! # Why the database stays in charge
//!
//! JetStream is not a store of record: it acknowledges writes before they are on disk and
//! has been seen to lose acknowledged messages (see STYLE.md, "Facts about our
//! dependencies"). So the job table is the outbox and the truth: every job row is written in
//! the same transaction as its cause (a submitted application, an OTP to send, a decision to
//! notify), and the row is deleted only when a worker has done the work. JetStream only
//! carries work from the table to the workers.
//!
//! # How a job travels
//!
//! 1. **Relay** (`relay.rs`, one task per process, any number of processes): leases due rows
//!    with `JobStore::jobs_lease(max, now, lease_secs)`, publishes each to subject
//!    `<prefix>.jobs.<kind>` with header `Nats-Msg-Id: <job id>:<lease count>` and awaits the
//!    stream's publish ack. The store's lease keeps other relays off the row; the message id
//!    makes the stream drop a re-publish whose first ack was lost (within the stream's
//!    duplicate window). The relay stops leasing while the job streams already hold
//!    `max_in_flight` messages, so a backlog cannot outlive the lease and be re-published.
//! 2. **Fetch**: one work-queue stream per job kind (`<PREFIX>_JOBS_<kind>`), each with one
//!    durable pull consumer `workers` (explicit ack, `max_deliver`, `ack_wait` then the
//!    `redelivery` back-off schedule). A stream per kind rather than one stream with a
//!    consumer per subject: each kind gets its own limits, replicas and metrics, a flood of
//!    SMS never sits in front of decisions, and a kind can be inspected or purged alone.
//!    `fetch` pulls from each consumer in turn (`no_wait` requests that expire after
//!    `poll_interval`, starting at a rotating consumer so no kind starves) until it has `max`
//!    messages, and naps until the local relay publishes or `poll_interval` passes. It never
//!    asks for more than `max`, so no message sits unread in a client buffer.
//!    `Delivery::attempt` is JetStream's delivery count.
//! 3. **Ack**: `JobStore::job_done` (the row goes) and then the message is acked. If the process
//!    dies between the two, JetStream redelivers and the idempotent job runs again.
//! 4. **Retry**: the message is nak'ed with the worker's delay (JetStream redelivers it, so
//!    the delivery count goes on counting attempts) and `JobStore::job_retry` moves the row's
//!    due time to `now + delay + lease_secs`, which records the error and keeps the relay off
//!    the row while JetStream still owns the message. One scheme, one attempt counter.
//! 5. **Dead letter**: the job is published to `<PREFIX>_DLQ` (subject
//!    `<prefix>.dlq.<kind>`, limits retention, for inspection), `JobStore::job_dead` parks the
//!    row, and the message is terminated. A message that JetStream gives up on after
//!    `max_deliver` deliveries without any answer (a worker that crashes on it every time)
//!    raises a `MAX_DELIVERIES` advisory; `dead.rs` listens (queue group, so one process
//!    handles each) and parks that job the same way.
//! 6. **Sweeper**: a row whose lease runs out while it still exists (JetStream lost the
//!    message, the publish ack never came, the advisory was missed) is leased and published
//!    again by the relay with a new message id. So anything committed in the database is
//!    delivered even if the broker loses it; the price is a duplicate delivery now and then,
//!    which jobs tolerate (`record_decision` only writes while the application is
//!    `submitted`).
//!
//! `depth` is read from the store (rows still to do, rows parked), like the embedded queue.
//!
//! # Timing
//!
//! `lease_secs` must outlast JetStream's own redelivery schedule (`ack_wait`, the back-off
//! steps, `max_deliver` deliveries); otherwise the relay re-publishes work JetStream still
//! holds and workers see duplicates (harmless but wasteful). `connect_with` warns when it
//! does not. Everything used here exists in NATS server 2.9 (back-off, nak with delay,
//! advisories); nothing newer (per-message TTL, batch publish) is relied on.

mod dead;
mod options;
mod relay;

use options::Names;
pub use options::NatsOptions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_trait::async_trait;
use futures_util::StreamExt;
use mpass_domain::ids::JobId;
use mpass_domain::ports::{Delivery, JOB_PRIORITY_KIND, Job, Queue, Store, StoreError, StoreResult};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Durable consumer name on every job stream.
const CONSUMER: &str = "workers";

/// A message handed to a worker and not yet settled.
struct Pending {
    message: jetstream::Message,
    since: Instant,
}

/// What the relay, the dead-letter listener and the `Queue` methods share.
struct Shared {
    store: Arc<dyn Store>,
    client: async_nats::Client,
    js: jetstream::Context,
    names: Names,
    opts: NatsOptions,
    /// `(kind, consumer)` for every job stream.
    consumers: Vec<(String, consumer::PullConsumer)>,
    /// Delivered messages by job id, so `ack`/`retry`/`dead_letter` can answer them. A newer
    /// delivery of the same job replaces an older one (whose ack wait has run out).
    pending: Mutex<HashMap<JobId, Pending>>,
    /// Rung by the local relay after it published: fetchers look again at once.
    published: Notify,
    /// Rung by `Queue::notify`: the relay looks for new rows at once.
    committed: Notify,
    next_consumer: AtomicUsize,
}

/// The work queue on NATS JetStream. Dropping it stops its background tasks.
pub struct NatsQueue {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for NatsQueue {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The stream `config` names, created if it does not exist yet. Nodes that start together
/// on a new prefix (an API node and a worker, say) all try to create it, and JetStream may
/// refuse one creation while another's is still in progress ("subjects overlap with an
/// existing stream"; seen when the broker's disk was busy). So a failed creation is tried
/// again a few times, 200 ms apart; the next try finds the stream. A real conflict (another
/// stream with these subjects) still fails, after about a second.
async fn ensure_stream(js: &jetstream::Context, config: stream::Config, what: &str) -> StoreResult<stream::Stream> {
    const TRIES: u32 = 5;
    let mut tried = 1;
    loop {
        match js.get_or_create_stream(config.clone()).await {
            Ok(stream) => return Ok(stream),
            Err(e) if tried == TRIES => return Err(unavailable(what, e)),
            Err(e) => {
                tracing::debug!(stream = %config.name, error = %e, "queue.nats.stream_create_retry");
                tokio::time::sleep(Duration::from_millis(200)).await;
                tried += 1;
            }
        }
    }
}

pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("nats: {what}: {e}"))
}

impl NatsQueue {
    /// Connects with the default options; see [`NatsQueue::connect_with`].
    pub async fn connect(url: &str, prefix: &str, store: Arc<dyn Store>) -> StoreResult<NatsQueue> {
        NatsQueue::connect_with(url, prefix, store, NatsOptions::default()).await
    }

    /// Connects, creates the streams and consumers under `prefix` if missing, and starts the
    /// relay and the dead-letter listener. Fails if the server cannot be reached.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        store: Arc<dyn Store>,
        opts: NatsOptions,
    ) -> StoreResult<NatsQueue> {
        let names = Names::new(prefix)?;
        if opts.kinds.is_empty() || opts.max_deliver < 1 {
            return Err(StoreError::Backend(
                "nats: need at least one job kind and max_deliver >= 1".into(),
            ));
        }
        if let Some(bad) = opts
            .kinds
            .iter()
            .find(|k| k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(StoreError::Backend(format!(
                "nats: job kind {bad:?} cannot name a stream"
            )));
        }
        if !opts.redelivery.is_empty() && opts.max_deliver <= opts.redelivery.len() as i64 {
            return Err(StoreError::Backend(
                "nats: max_deliver must exceed the number of redelivery steps".into(),
            ));
        }
        let span = opts.redelivery_span();
        if span.as_secs_f64() >= opts.lease_secs as f64 {
            tracing::warn!(
                lease_secs = opts.lease_secs,
                redelivery_span_ms = span.as_millis() as u64,
                "queue.nats.lease_shorter_than_redelivery"
            );
        }

        let client = async_nats::ConnectOptions::new()
            .name("mpass")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| unavailable("connect", e))?;
        let js = jetstream::new(client.clone());

        let mut consumers = Vec::with_capacity(opts.kinds.len());
        for kind in &opts.kinds {
            let stream = ensure_stream(
                &js,
                stream::Config {
                    name: names.job_stream(kind),
                    subjects: vec![names.job_subject(kind)],
                    retention: stream::RetentionPolicy::WorkQueue,
                    storage: stream::StorageType::File,
                    duplicate_window: opts.duplicate_window,
                    num_replicas: opts.replicas,
                    ..Default::default()
                },
                "create job stream",
            )
            .await?;
            let ack_wait = opts.redelivery.first().copied().unwrap_or(opts.ack_wait);
            let consumer: consumer::PullConsumer = stream
                .get_or_create_consumer(
                    CONSUMER,
                    consumer::pull::Config {
                        durable_name: Some(CONSUMER.to_string()),
                        ack_policy: consumer::AckPolicy::Explicit,
                        ack_wait,
                        max_deliver: opts.max_deliver,
                        backoff: opts.redelivery.clone(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| unavailable("create consumer", e))?;
            consumers.push((kind.clone(), consumer));
        }
        ensure_stream(
            &js,
            stream::Config {
                name: names.dead_stream(),
                subjects: vec![format!("{}.dlq.>", names.subjects)],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: opts.dead_letter_max_age,
                num_replicas: opts.replicas,
                ..Default::default()
            },
            "create dead-letter stream",
        )
        .await?;

        let shared = Arc::new(Shared {
            store,
            client,
            js,
            names,
            opts,
            consumers,
            pending: Mutex::new(HashMap::new()),
            published: Notify::new(),
            committed: Notify::new(),
            next_consumer: AtomicUsize::new(0),
        });
        let mut tasks = dead::spawn(&shared).await?;
        if shared.opts.relay {
            tasks.push(tokio::spawn(relay::run(shared.clone())));
        }
        Ok(NatsQueue { shared, tasks })
    }

    /// Names of the streams this queue uses: one per job kind, then the dead-letter stream.
    pub fn stream_names(&self) -> Vec<String> {
        let names = &self.shared.names;
        let mut all: Vec<String> = self.shared.opts.kinds.iter().map(|k| names.job_stream(k)).collect();
        all.push(names.dead_stream());
        all
    }

    /// Whether the server answers (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.shared
            .js
            .query_account()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("account info", e))
    }
}

impl Shared {
    fn take_pending(&self, id: JobId) -> Option<jetstream::Message> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .map(|p| p.message)
    }

    /// Forgets messages held longer than a lease: by then the sweeper owns the job anyway.
    fn prune_pending(&self) {
        let horizon = Duration::from_secs(self.opts.lease_secs.max(1) as u64);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, p| p.since.elapsed() < horizon);
    }

    /// Pulls, without waiting, up to `max` messages across the consumers.
    async fn sweep(&self, max: usize) -> StoreResult<Vec<Delivery>> {
        let mut out = Vec::new();
        let n = self.consumers.len();
        let start = self.next_consumer.fetch_add(1, Ordering::Relaxed);
        // Login codes first (a person is waiting for them), then the other kinds in turn.
        let priority = self.consumers.iter().position(|(kind, _)| kind == JOB_PRIORITY_KIND);
        let order = priority
            .into_iter()
            .chain((0..n).map(|i| (start + i) % n).filter(|i| Some(*i) != priority));
        for index in order {
            let want = max - out.len();
            if want == 0 {
                break;
            }
            let (kind, consumer) = &self.consumers[index];
            let mut batch = consumer
                .fetch()
                .max_messages(want)
                .messages()
                .await
                .map_err(|e| unavailable("fetch", e))?;
            // A request the server never answers must not hold the worker for good.
            let guard = tokio::time::sleep(self.opts.poll_interval + Duration::from_secs(1));
            tokio::pin!(guard);
            loop {
                let next = tokio::select! {
                    next = batch.next() => next,
                    _ = &mut guard => {
                        tracing::warn!(job.kind = %kind, "queue.nats.fetch_unanswered");
                        None
                    }
                };
                match next {
                    None => break,
                    Some(Ok(message)) => {
                        if let Some(d) = self.accept(kind, message).await {
                            out.push(d);
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(job.kind = %kind, error = %e, "queue.nats.fetch_failed");
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Turns a message into a delivery and remembers it; a message that is not a job is parked.
    async fn accept(&self, kind: &str, message: jetstream::Message) -> Option<Delivery> {
        let delivered = message
            .info()
            .map(|i| u32::try_from(i.delivered.max(1)).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let mut job: Job = match serde_json::from_slice(&message.payload) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(job.kind = %kind, error = %e, "queue.nats.undecodable_message");
                let parked = self
                    .js
                    .publish(self.names.dead_subject("undecodable"), message.payload.clone())
                    .await;
                if let Ok(ack) = parked {
                    let _ = ack.await;
                }
                let _ = message.ack_with(AckKind::Term).await;
                return None;
            }
        };
        job.attempts = delivered;
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(
            job.id,
            Pending {
                message,
                since: Instant::now(),
            },
        );
        Some(Delivery {
            job,
            attempt: delivered,
        })
    }

    /// Publishes a job to the dead-letter stream and awaits the stream's ack.
    async fn publish_dead(&self, job: &Job, error: &str) -> StoreResult<()> {
        let payload = serde_json::to_vec(job).map_err(|e| StoreError::Backend(e.to_string()))?;
        let msg = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .header("Mpass-Error", error.replace(['\r', '\n'], " ").as_str())
            .message_id(format!("{}:dead", job.id));
        self.js
            .send_publish(self.names.dead_subject(&job.kind), msg)
            .await
            .map_err(|e| unavailable("publish dead letter", e))?
            .await
            .map_err(|e| unavailable("publish dead letter", e))?;
        Ok(())
    }
}

#[async_trait]
impl Queue for NatsQueue {
    async fn ping(&self) -> StoreResult<()> {
        NatsQueue::ping(self).await
    }

    async fn fetch(&self, max: u32, wait: Duration) -> StoreResult<Vec<Delivery>> {
        let max = max.max(1) as usize;
        let deadline = tokio::time::Instant::now() + wait;
        self.shared.prune_pending();
        loop {
            // Register interest before looking, so a publish between the look and the nap is not missed.
            let published = self.shared.published.notified();
            tokio::pin!(published);
            published.as_mut().enable();
            let got = self.shared.sweep(max).await?;
            if !got.is_empty() {
                return Ok(got);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let nap = self.shared.opts.poll_interval.min(deadline - now);
            let _ = tokio::time::timeout(nap, published).await;
        }
    }

    async fn ack(&self, d: &Delivery) -> StoreResult<()> {
        self.shared.store.job_done(d.job.id).await?;
        if let Some(message) = self.shared.take_pending(d.job.id) {
            message.ack().await.map_err(|e| unavailable("ack", e))?;
        }
        Ok(())
    }

    async fn retry(&self, d: &Delivery, delay: Duration, error: &str) -> StoreResult<()> {
        let now = OffsetDateTime::now_utc();
        match self.shared.take_pending(d.job.id) {
            Some(message) => {
                // JetStream redelivers after `delay`; the row stays out of the relay's way until
                // a lease after that, and keeps the error.
                let sweep_at = now + delay + Duration::from_secs(self.shared.opts.lease_secs.max(1) as u64);
                self.shared.store.job_retry(d.job.id, sweep_at, error).await?;
                message
                    .ack_with(AckKind::Nak(Some(delay)))
                    .await
                    .map_err(|e| unavailable("nak", e))
            }
            // The message is no longer ours to answer: let the relay publish the job again at the due time.
            None => self.shared.store.job_retry(d.job.id, now + delay, error).await,
        }
    }

    async fn dead_letter(&self, d: &Delivery, error: &str) -> StoreResult<()> {
        self.shared.publish_dead(&d.job, error).await?;
        self.shared
            .store
            .job_dead(d.job.id, error, OffsetDateTime::now_utc())
            .await?;
        if let Some(message) = self.shared.take_pending(d.job.id) {
            message
                .ack_with(AckKind::Term)
                .await
                .map_err(|e| unavailable("term", e))?;
        }
        Ok(())
    }

    fn notify(&self) {
        // A stored permit: the relay runs at once even if it is busy right now.
        self.shared.committed.notify_one();
    }

    async fn depth(&self) -> StoreResult<(u64, u64)> {
        self.shared.store.jobs_depth().await
    }
}
