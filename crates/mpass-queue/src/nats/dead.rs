//! Parks jobs that JetStream gave up on: after `max_deliver` deliveries that nobody answered
//! (a worker crashing on the job every time), the server raises a `MAX_DELIVERIES`
//! advisory; the job goes to the dead-letter stream and the store's dead jobs, and the
//! message leaves the work-queue stream.

use std::sync::Arc;

use futures_util::StreamExt;
use mpass_domain::ports::{Job, StoreResult};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::{CONSUMER, Shared, unavailable};

/// Subscribes (one queue group across processes, so each advisory is handled once) and
/// returns the listener tasks.
pub(super) async fn spawn(shared: &Arc<Shared>) -> StoreResult<Vec<JoinHandle<()>>> {
    let group = format!("{}_dead_letter", shared.names.subjects);
    let mut tasks = Vec::new();
    for kind in &shared.opts.kinds {
        let stream = shared.names.job_stream(kind);
        let subject = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{CONSUMER}");
        let mut advisories = shared
            .client
            .queue_subscribe(subject, group.clone())
            .await
            .map_err(|e| unavailable("subscribe to advisories", e))?;
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(advisory) = advisories.next().await {
                let Some((seq, deliveries)) = parse(&advisory.payload) else {
                    tracing::warn!(stream = %stream, "queue.nats.bad_advisory");
                    continue;
                };
                if let Err(e) = park(&shared, &stream, seq, deliveries).await {
                    // The row's lease runs out and the relay publishes the job again.
                    tracing::warn!(stream = %stream, stream_seq = seq, error = %e, "queue.nats.dead_letter_failed");
                }
            }
        }));
    }
    Ok(tasks)
}

/// `(stream_seq, deliveries)` from a max-deliveries advisory.
fn parse(payload: &[u8]) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    Some((
        v.get("stream_seq")?.as_u64()?,
        v.get("deliveries").and_then(Value::as_u64).unwrap_or(0),
    ))
}

async fn park(shared: &Shared, stream_name: &str, seq: u64, deliveries: u64) -> StoreResult<()> {
    let stream = shared
        .js
        .get_stream_no_info(stream_name)
        .await
        .map_err(|e| unavailable("stream", e))?;
    let Ok(raw) = stream.get_raw_message(seq).await else {
        // Already answered or removed by another process.
        return Ok(());
    };
    let job: Job = serde_json::from_slice(&raw.payload).map_err(|e| unavailable("decode job", e))?;
    let error = format!("no answer after {deliveries} deliveries");
    tracing::error!(job.id = %job.id, job.kind = %job.kind, deliveries, "job.dead_letter");
    shared.publish_dead(&job, &error).await?;
    shared.store.job_dead(job.id, &error, OffsetDateTime::now_utc()).await?;
    stream
        .delete_message(seq)
        .await
        .map_err(|e| unavailable("delete message", e))?;
    Ok(())
}
