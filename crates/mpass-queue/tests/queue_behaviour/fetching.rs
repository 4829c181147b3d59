//! Stories of fetching: login codes first, and fetchers in two processes sharing the work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mpass_domain::ids::JobId;

use crate::{Backend, DECIDE, LOGIN_CODE, SMS, commit_job, fetch_some, wait_for_depth};

/// A login code committed behind a backlog of other jobs is handed out first: a person is
/// waiting at the login page for it. Four rounds, so that a queue taking its kinds in turn
/// starts at least one round with another kind.
pub(crate) async fn login_codes_jump_the_queue(b: Arc<Backend>) {
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

/// Several fetchers in two processes: every job is delivered, none is held by two at once,
/// and with no failures each is acknowledged exactly once.
pub(crate) async fn concurrent_fetchers_share_the_work(b: Arc<Backend>) {
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
