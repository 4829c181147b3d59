//! One behavioural story per queue property, run against every backend: the embedded queue
//! always, NATS JetStream when `MPASS_TEST_NATS_URL` is set (and failing if it is unreachable).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use mpass_domain::ids::JobId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{Delivery, NewJob, Queue, Store};
use mpass_queue::EmbeddedQueue;
use mpass_queue::nats::{NatsOptions, NatsQueue};
use mpass_store::SqliteStore;
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
        .otp_issue(&phone, "hash", job, OffsetDateTime::now_utc())
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

// --- stories

/// A committed job is delivered once, whole, as attempt 1.
async fn committed_job_is_delivered(b: Arc<Backend>) {
    let payload = commit_job(&b, 1, SMS).await;
    assert_eq!(b.queue.depth().await.expect("depth"), (1, 0));
    let d = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(d.job.kind, SMS);
    assert_eq!(d.job.payload, payload);
    assert_eq!(d.attempt, 1);
    b.queue.ack(&d).await.expect("ack");
}
story!(committed_job_is_delivered, FAST);

/// Ack removes the job: depth drops to zero and it is not delivered again.
async fn ack_removes_the_job(b: Arc<Backend>) {
    commit_job(&b, 1, DECIDE).await;
    let d = fetch_one(&b, Duration::from_secs(10)).await;
    b.queue.ack(&d).await.expect("ack");
    assert_eq!(b.queue.depth().await.expect("depth"), (0, 0));
    let again = fetch_some(&*b.queue, 10, Duration::from_millis(1500)).await;
    assert!(again.is_empty(), "{}: acked job delivered again", b.name);
}
story!(ack_removes_the_job, FAST);

/// Retry delivers the job again, not before the delay, as the next attempt.
async fn retry_redelivers_after_the_delay(b: Arc<Backend>) {
    commit_job(&b, 1, SMS).await;
    let first = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(first.attempt, 1);
    let delay = Duration::from_secs(2);
    let retried_at = Instant::now();
    b.queue.retry(&first, delay, "sms gateway down").await.expect("retry");
    let early = fetch_some(&*b.queue, 10, Duration::from_millis(1000)).await;
    assert!(early.is_empty(), "{}: delivered again before the delay", b.name);
    let second = fetch_one(&b, Duration::from_secs(10)).await;
    assert!(retried_at.elapsed() >= delay - Duration::from_millis(100));
    assert_eq!(second.job.id, first.job.id);
    assert_eq!(second.attempt, 2);
    b.queue.ack(&second).await.expect("ack");
    wait_for_depth(&b, (0, 0), Duration::from_secs(5)).await;
}
story!(retry_redelivers_after_the_delay, FAST);

/// Dead-lettering parks the job: counted as dead, never delivered again.
async fn dead_letter_parks_the_job(b: Arc<Backend>) {
    commit_job(&b, 1, DECIDE).await;
    let d = fetch_one(&b, Duration::from_secs(10)).await;
    b.queue
        .dead_letter(&d, "payload is not an application id")
        .await
        .expect("dead letter");
    assert_eq!(b.queue.depth().await.expect("depth"), (0, 1));
    let again = fetch_some(&*b.queue, 10, Duration::from_millis(1500)).await;
    assert!(again.is_empty(), "{}: dead job delivered again", b.name);
    if let Some(n) = &b.nats {
        let mut dlq =
            n.js.get_stream(&n.streams[n.streams.len() - 1])
                .await
                .expect("DLQ stream");
        assert_eq!(dlq.info().await.expect("DLQ info").state.messages, 1);
    }
}
story!(dead_letter_parks_the_job, FAST);

/// A delivery nobody answers (the worker was killed) is delivered again after the lease / ack wait.
async fn unanswered_delivery_is_redelivered(b: Arc<Backend>) {
    commit_job(&b, 1, SMS).await;
    let first = fetch_one(&b, Duration::from_secs(10)).await;
    // `first` is never answered, as if its worker had been killed.
    let early = fetch_some(&*b.queue, 10, Duration::from_millis(300)).await;
    assert!(early.is_empty(), "{}: delivered twice at once", b.name);
    let again = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(again.job.id, first.job.id);
    assert_eq!(again.attempt, 2);
    b.queue.ack(&again).await.expect("ack");
    wait_for_depth(&b, (0, 0), Duration::from_secs(5)).await;
}
story!(
    unanswered_delivery_is_redelivered,
    Timing {
        embedded_lease_secs: 1,
        relay_lease_secs: 30,
        ack_wait: Duration::from_secs(1),
        max_deliver: 5,
    }
);

/// A login code committed behind a backlog of other jobs is handed out first: a person is
/// waiting at the login page for it. Four rounds, so that a queue taking its kinds in turn
/// starts at least one round with another kind.
async fn login_codes_jump_the_queue(b: Arc<Backend>) {
    for round in 0..4u32 {
        for n in 0..4 {
            commit_job(&b, round * 10 + n, if n % 2 == 0 { SMS } else { DECIDE }).await;
        }
        let login = commit_job(&b, round * 10 + 9, LOGIN_CODE).await;
        if let Some(n) = &b.nats {
            // Wait until the relay has published the login code.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut stream = n.js.get_stream(n.stream_of(LOGIN_CODE)).await.expect("login stream");
            while stream.info().await.expect("info").state.messages == 0 {
                assert!(Instant::now() < deadline, "relay did not publish");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let first = fetch_some(&*b.queue, 3, Duration::from_secs(10)).await;
        assert_eq!(
            first.first().map(|d| (d.job.kind.as_str(), d.job.payload.as_str())),
            Some((LOGIN_CODE, login.as_str())),
            "{}, round {round}: the login code was not handed out first",
            b.name
        );
        for d in &first {
            b.queue.ack(d).await.expect("ack");
        }
    }
}
story!(login_codes_jump_the_queue, FAST);

/// Several fetchers in two processes: every job is delivered, none is held by two at once,
/// and with no failures each is acknowledged exactly once.
async fn concurrent_fetchers_share_the_work(b: Arc<Backend>) {
    const JOBS: u32 = 60;
    for n in 0..JOBS {
        commit_job(&b, n, if n % 2 == 0 { SMS } else { DECIDE }).await;
    }
    let queues = [b.queue.clone(), b.second().await];
    let in_hand: Arc<Mutex<HashMap<JobId, u32>>> = Arc::default();
    let acked: Arc<Mutex<HashMap<JobId, u32>>> = Arc::default();
    let mut fetchers = tokio::task::JoinSet::new();
    for i in 0..6 {
        let q = queues[i % 2].clone();
        let (in_hand, acked) = (in_hand.clone(), acked.clone());
        fetchers.spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline && acked.lock().unwrap().len() < JOBS as usize {
                for d in q.fetch(4, Duration::from_millis(200)).await.expect("fetch") {
                    let held = {
                        let mut h = in_hand.lock().unwrap();
                        let c = h.entry(d.job.id).or_default();
                        *c += 1;
                        *c
                    };
                    assert_eq!(held, 1, "job {} held by two fetchers at once", d.job.id);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    in_hand.lock().unwrap().remove(&d.job.id);
                    q.ack(&d).await.expect("ack");
                    *acked.lock().unwrap().entry(d.job.id).or_default() += 1;
                }
            }
        });
    }
    while let Some(r) = fetchers.join_next().await {
        r.expect("fetcher");
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), JOBS as usize, "{}: not every job was delivered", b.name);
    assert!(
        acked.values().all(|&c| c == 1),
        "{}: a job was acknowledged twice",
        b.name
    );
    wait_for_depth(&b, (0, 0), Duration::from_secs(5)).await;
}
story!(concurrent_fetchers_share_the_work, FAST);

/// A job the broker loses after accepting it is still delivered: the row outlives the
/// message and the relay publishes it again when its lease runs out.
async fn job_lost_by_the_broker_is_recovered(b: Arc<Backend>) {
    commit_job(&b, 1, DECIDE).await;
    let committed = b.store.jobs_depth().await.expect("depth");
    assert_eq!(committed, (1, 0));
    if let Some(n) = &b.nats {
        // Wait until the relay has published it, then lose it.
        let mut stream = n.js.get_stream(n.stream_of(DECIDE)).await.expect("decide stream");
        let deadline = Instant::now() + Duration::from_secs(5);
        while stream.info().await.expect("info").state.messages == 0 {
            assert!(Instant::now() < deadline, "relay did not publish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stream.purge().await.expect("purge");
        assert_eq!(stream.info().await.expect("info").state.messages, 0);
    }
    let d = fetch_one(&b, Duration::from_secs(15)).await;
    assert_eq!(d.job.kind, DECIDE);
    b.queue.ack(&d).await.expect("ack");
    wait_for_depth(&b, (0, 0), Duration::from_secs(5)).await;
}
story!(
    job_lost_by_the_broker_is_recovered,
    Timing {
        embedded_lease_secs: 30,
        relay_lease_secs: 2,
        ack_wait: Duration::from_secs(1),
        max_deliver: 1,
    }
);

/// A job every worker dies on is parked after the last allowed delivery instead of looping
/// forever (NATS: `max_deliver` and the max-deliveries advisory; embedded: the worker's
/// attempt limit, shown here by dead-lettering at attempt 2).
async fn job_nobody_finishes_is_parked(b: Arc<Backend>) {
    commit_job(&b, 1, SMS).await;
    let first = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(first.attempt, 1);
    let second = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(second.attempt, 2);
    if b.nats.is_none() {
        // The embedded queue has no delivery limit of its own: the worker's MAX_ATTEMPTS rule applies.
        b.queue.dead_letter(&second, "gave up").await.expect("dead letter");
    }
    // Keep fetching, as live workers do, until the job is parked.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = b.queue.fetch(10, Duration::from_millis(200)).await.expect("fetch");
        assert!(got.is_empty(), "{}: delivered beyond max_deliver", b.name);
        if b.queue.depth().await.expect("depth") == (0, 1) {
            break;
        }
        assert!(Instant::now() < deadline, "{}: job was not parked", b.name);
    }
    if let Some(n) = &b.nats {
        let mut dlq =
            n.js.get_stream(&n.streams[n.streams.len() - 1])
                .await
                .expect("DLQ stream");
        assert_eq!(dlq.info().await.expect("DLQ info").state.messages, 1);
        let mut sms = n.js.get_stream(n.stream_of(SMS)).await.expect("sms stream");
        assert_eq!(sms.info().await.expect("info").state.messages, 0);
    }
}
story!(
    job_nobody_finishes_is_parked,
    Timing {
        embedded_lease_secs: 1,
        relay_lease_secs: 30,
        ack_wait: Duration::from_secs(1),
        max_deliver: 2,
    }
);

/// Nodes that start together on a new prefix (an API node and a worker started at once,
/// say) all connect, though each tries to create the same streams at the same moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_on_a_new_prefix_all_connect() {
    let Ok(url) = std::env::var("MPASS_TEST_NATS_URL") else {
        println!("skipped: MPASS_TEST_NATS_URL not set");
        return;
    };
    let dir = TempDir::new();
    let store = new_store(&dir);
    let js = jetstream::new(async_nats::connect(&url).await.expect("test NATS client"));
    for _ in 0..5 {
        let prefix = format!("t{}", JobId::new().0.simple());
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let (url, prefix, store) = (url.clone(), prefix.clone(), store.clone());
                tokio::spawn(async move { NatsQueue::connect_with(&url, &prefix, store, nats_options(FAST)).await })
            })
            .collect();
        let mut results = Vec::new();
        for node in nodes {
            results.push(node.await.expect("node task"));
        }
        if let Some(Ok(q)) = results.iter().find(|r| r.is_ok()) {
            for s in q.stream_names() {
                let _ = js.delete_stream(&s).await;
            }
        }
        for r in results {
            if let Err(e) = r {
                panic!("a node starting with three others on prefix {prefix} failed: {e}");
            }
        }
    }
}

/// Retrying a refused stream creation does not hide a real conflict: a stream of another
/// name already holding a job kind's subjects still stops the node, with the broker's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_conflict_is_still_reported() {
    let Ok(url) = std::env::var("MPASS_TEST_NATS_URL") else {
        println!("skipped: MPASS_TEST_NATS_URL not set");
        return;
    };
    let dir = TempDir::new();
    let js = jetstream::new(async_nats::connect(&url).await.expect("test NATS client"));
    let prefix = format!("t{}", JobId::new().0.simple());
    let squatter = format!("SQUAT_{}", prefix.to_ascii_uppercase());
    js.create_stream(jetstream::stream::Config {
        name: squatter.clone(),
        subjects: vec![format!("{prefix}.jobs.>")],
        ..Default::default()
    })
    .await
    .expect("the conflicting stream");
    let outcome = NatsQueue::connect_with(&url, &prefix, new_store(&dir), nats_options(FAST)).await;
    let _ = js.delete_stream(&squatter).await;
    match outcome {
        Ok(q) => {
            for s in q.stream_names() {
                let _ = js.delete_stream(&s).await;
            }
            panic!("connected although another stream holds the job subjects");
        }
        Err(e) => assert!(
            e.to_string().contains("create job stream") && e.to_string().contains("overlap"),
            "{e}"
        ),
    }
}
