//! One behavioural story per queue property, run against every backend: the embedded queue
//! always, NATS JetStream when `MPASS_TEST_NATS_URL` is set (and failing if it is unreachable).

mod delivery;
mod fetching;
mod recovery;
mod streams;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use delivery::*;
use fetching::*;
use mpass_domain::ids::JobId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{Delivery, NewJob, Queue, Store};
use mpass_queue::EmbeddedQueue;
use mpass_queue::nats::{NatsOptions, NatsQueue};
use mpass_store::SqliteStore;
use recovery::*;
use time::OffsetDateTime;

/// Timing a story needs; each backend maps it onto its own settings.
#[derive(Clone, Copy)]
struct Timing {
    /// The embedded queue's lease: when an unanswered job is delivered again.
    embedded_lease_secs: i64,
    /// The NATS relay's lease: when a row whose message went missing is published again.
    relay_lease_secs: i64,
    /// NATS ack wait (the embedded queue has only the lease).
    ack_wait: Duration,
    max_deliver: i64,
}

const FAST: Timing = Timing {
    embedded_lease_secs: 30,
    relay_lease_secs: 30,
    ack_wait: Duration::from_secs(30),
    max_deliver: 5,
};

/// A queue under test, its store, and how to make a second process on the same backends.
struct Backend {
    name: &'static str,
    queue: Arc<dyn Queue>,
    store: Arc<dyn Store>,
    timing: Timing,
    nats: Option<NatsEnv>,
    _dir: TempDir,
}

struct NatsEnv {
    url: String,
    prefix: String,
    js: jetstream::Context,
    streams: Vec<String>,
}

impl NatsEnv {
    /// The name of the stream of job kind `kind`.
    fn stream_of(&self, kind: &str) -> &str {
        let suffix = format!("_JOBS_{kind}");
        self.streams
            .iter()
            .find(|s| s.ends_with(&suffix))
            .unwrap_or_else(|| panic!("no stream for {kind} in {:?}", self.streams))
    }
}

impl Backend {
    /// Another queue instance (another process) on the same store and broker.
    async fn second(&self) -> Arc<dyn Queue> {
        match &self.nats {
            None => Arc::new(EmbeddedQueue::new(self.store.clone()).with_lease_secs(self.timing.embedded_lease_secs)),
            Some(n) => Arc::new(
                NatsQueue::connect_with(&n.url, &n.prefix, self.store.clone(), nats_options(self.timing))
                    .await
                    .expect("second NATS queue"),
            ),
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("mpass-queue-test-{}", JobId::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn new_store(dir: &TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.0.join("mpass.db")).expect("sqlite store"))
}

fn nats_options(t: Timing) -> NatsOptions {
    NatsOptions {
        lease_secs: t.relay_lease_secs,
        ack_wait: t.ack_wait,
        redelivery: Vec::new(),
        max_deliver: t.max_deliver,
        relay_interval: Duration::from_millis(50),
        poll_interval: Duration::from_millis(50),
        ..NatsOptions::default()
    }
}

fn embedded(t: Timing) -> Backend {
    let dir = TempDir::new();
    let store = new_store(&dir);
    Backend {
        name: "embedded",
        queue: Arc::new(EmbeddedQueue::new(store.clone()).with_lease_secs(t.embedded_lease_secs)),
        store,
        timing: t,
        nats: None,
        _dir: dir,
    }
}

/// `None` (with the notice) when `MPASS_TEST_NATS_URL` is unset; panics if it is set but unreachable.
async fn nats(t: Timing) -> Option<Backend> {
    let Ok(url) = std::env::var("MPASS_TEST_NATS_URL") else {
        println!("skipped: MPASS_TEST_NATS_URL not set");
        return None;
    };
    let dir = TempDir::new();
    let store = new_store(&dir);
    let prefix = format!("t{}", JobId::new().0.simple());
    let queue = NatsQueue::connect_with(&url, &prefix, store.clone(), nats_options(t))
        .await
        .unwrap_or_else(|e| panic!("MPASS_TEST_NATS_URL={url} is set but unusable: {e}"));
    let client = async_nats::connect(&url).await.expect("test NATS client");
    let streams = queue.stream_names();
    Some(Backend {
        name: "nats",
        queue: Arc::new(queue),
        store,
        timing: t,
        nats: Some(NatsEnv {
            url,
            prefix,
            js: jetstream::new(client),
            streams,
        }),
        _dir: dir,
    })
}

/// Runs a story, then deletes the backend's streams whether the story passed or not.
async fn run<F, Fut>(backend: Backend, story: F)
where
    F: FnOnce(Arc<Backend>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let backend = Arc::new(backend);
    let outcome = tokio::spawn(story(backend.clone())).await;
    if let Some(n) = &backend.nats {
        for s in &n.streams {
            let _ = n.js.delete_stream(s).await;
        }
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

macro_rules! story {
    ($story:ident, $timing:expr) => {
        mod $story {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                run(super::embedded($timing), super::$story).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn nats() {
                if let Some(b) = super::nats($timing).await {
                    run(b, super::$story).await;
                }
            }
        }
    };
}

// --- helpers

/// Commits a job of `kind` the way the application does: in the store's transaction.
async fn commit_job(b: &Backend, n: u32, kind: &str) -> String {
    let phone = Phone::parse(&format!("0171{n:07}")).expect("phone");
    let payload = format!("{{\"n\":{n}}}");
    let job = NewJob {
        kind: kind.to_string(),
        payload: payload.clone(),
    };
    b.store
        .otp_issue(&phone, "hash", job, None, OffsetDateTime::now_utc())
        .await
        .expect("otp_issue")
        .expect("not rate limited");
    b.queue.notify();
    payload
}

/// Fetches until something comes or `within` passes.
async fn fetch_some(q: &dyn Queue, max: u32, within: Duration) -> Vec<Delivery> {
    let deadline = Instant::now() + within;
    loop {
        let got = q.fetch(max, Duration::from_millis(200)).await.expect("fetch");
        if !got.is_empty() || Instant::now() >= deadline {
            return got;
        }
    }
}

async fn fetch_one(b: &Backend, within: Duration) -> Delivery {
    let mut got = fetch_some(&*b.queue, 1, within).await;
    assert_eq!(got.len(), 1, "{}: expected one delivery within {within:?}", b.name);
    got.remove(0)
}

async fn wait_for_depth(b: &Backend, want: (u64, u64), within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let depth = b.queue.depth().await.expect("depth");
        if depth == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: depth {depth:?}, wanted {want:?}",
            b.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SMS: &str = mpass_domain::ports::JOB_SEND_SMS;
const DECIDE: &str = mpass_domain::ports::JOB_DECIDE;
const LOGIN_CODE: &str = mpass_domain::ports::JOB_SEND_LOGIN_CODE;

// --- stories (in delivery.rs, fetching.rs and recovery.rs), each on every backend

story!(committed_job_is_delivered, FAST);
story!(ack_removes_the_job, FAST);
story!(retry_redelivers_after_the_delay, FAST);
story!(dead_letter_parks_the_job, FAST);
story!(
    unanswered_delivery_is_redelivered,
    Timing {
        embedded_lease_secs: 1,
        relay_lease_secs: 30,
        ack_wait: Duration::from_secs(1),
        max_deliver: 5,
    }
);

story!(login_codes_jump_the_queue, FAST);
story!(concurrent_fetchers_share_the_work, FAST);

story!(
    job_lost_by_the_broker_is_recovered,
    Timing {
        embedded_lease_secs: 30,
        relay_lease_secs: 2,
        ack_wait: Duration::from_secs(1),
        max_deliver: 1,
    }
);
story!(
    job_nobody_finishes_is_parked,
    Timing {
        embedded_lease_secs: 1,
        relay_lease_secs: 30,
        ack_wait: Duration::from_secs(1),
        max_deliver: 2,
    }
);
