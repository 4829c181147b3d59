//! Stories of recovery: a job the broker loses, and a job that no worker finishes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Backend, DECIDE, SMS, commit_job, fetch_one, wait_for_depth};

/// A job the broker loses after accepting it is still delivered: the row outlives the
/// message and the relay publishes it again when its lease runs out.
pub(crate) async fn job_lost_by_the_broker_is_recovered(b: Arc<Backend>) {
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

/// A job every worker dies on is parked after the last allowed delivery instead of looping
/// forever (NATS: `max_deliver` and the max-deliveries advisory; embedded: the worker's
/// attempt limit, shown here by dead-lettering at attempt 2).
pub(crate) async fn job_nobody_finishes_is_parked(b: Arc<Backend>) {
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
