//! Stories of one job: delivered, acked, retried, dead-lettered, redelivered when unanswered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Backend, DECIDE, SMS, commit_job, fetch_one, fetch_some, wait_for_depth};

/// A committed job is delivered once, whole, as attempt 1.
pub(crate) async fn committed_job_is_delivered(b: Arc<Backend>) {
    let payload = commit_job(&b, 1, SMS).await;
    assert_eq!(b.queue.depth().await.expect("depth"), (1, 0));
    let d = fetch_one(&b, Duration::from_secs(10)).await;
    assert_eq!(d.job.kind, SMS);
    assert_eq!(d.job.payload, payload);
    assert_eq!(d.attempt, 1);
    b.queue.ack(&d).await.expect("ack");
}

/// Ack removes the job: depth drops to zero and it is not delivered again.
pub(crate) async fn ack_removes_the_job(b: Arc<Backend>) {
    commit_job(&b, 1, DECIDE).await;
    let d = fetch_one(&b, Duration::from_secs(10)).await;
    b.queue.ack(&d).await.expect("ack");
    assert_eq!(b.queue.depth().await.expect("depth"), (0, 0));
    let again = fetch_some(&*b.queue, 10, Duration::from_millis(1500)).await;
    assert!(again.is_empty(), "{}: acked job delivered again", b.name);
}

/// Retry delivers the job again, not before the delay, as the next attempt.
pub(crate) async fn retry_redelivers_after_the_delay(b: Arc<Backend>) {
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

/// Dead-lettering parks the job: counted as dead, never delivered again.
pub(crate) async fn dead_letter_parks_the_job(b: Arc<Backend>) {
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

/// A delivery nobody answers (the worker was killed) is delivered again after the lease / ack wait.
pub(crate) async fn unanswered_delivery_is_redelivered(b: Arc<Backend>) {
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
