//! The outbox relay: leases due rows of the job table and publishes them to JetStream.

use std::sync::Arc;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::Info;
use mpass_domain::ports::{Job, StoreResult};
use time::OffsetDateTime;

use super::{Shared, unavailable};

/// Runs relay rounds until the task is aborted.
pub(super) async fn run(shared: Arc<Shared>) {
    loop {
        let full = match round(&shared).await {
            Ok(n) => n > 0 && n >= shared.opts.relay_batch as usize,
            Err(e) => {
                tracing::warn!(error = %e, "queue.nats.relay_failed");
                false
            }
        };
        if !full {
            let _ = tokio::time::timeout(shared.opts.relay_interval, shared.committed.notified()).await;
        }
    }
}

/// One round: lease what is due (as far as the streams have room) and publish it.
/// Returns how many rows were leased.
async fn round(shared: &Shared) -> StoreResult<usize> {
    if shared.client.connection_state() != async_nats::connection::State::Connected {
        // Leasing now would only delay the rows until their lease runs out.
        return Ok(0);
    }
    let room = shared.opts.max_in_flight.saturating_sub(in_flight(shared).await?);
    let max = u32::try_from(room).unwrap_or(u32::MAX).min(shared.opts.relay_batch);
    if max == 0 {
        return Ok(0);
    }
    let jobs = shared
        .store
        .jobs_lease(max, OffsetDateTime::now_utc(), shared.opts.lease_secs)
        .await?;
    let leased = jobs.len();
    let mut published = 0usize;
    // Publish the whole round, then await the acks together.
    let mut acks = Vec::with_capacity(leased);
    for job in jobs {
        if !shared.opts.kinds.contains(&job.kind) {
            // No stream carries it; the row stays leased and is tried again after the lease.
            tracing::warn!(job.id = %job.id, job.kind = %job.kind, "queue.nats.unknown_kind");
            continue;
        }
        let ack = publish(shared, &job).await;
        acks.push((job, ack));
    }
    for (job, ack) in acks {
        let confirmed = match ack {
            Ok(pending) => pending.await.map_err(|e| unavailable("publish ack", e)),
            Err(e) => Err(e),
        };
        // One more try with the same message id: the stream drops it if the first one landed.
        let confirmed = match confirmed {
            Ok(ack) => Ok(ack),
            Err(_) => match publish(shared, &job).await {
                Ok(pending) => pending.await.map_err(|e| unavailable("publish ack", e)),
                Err(e) => Err(e),
            },
        };
        match confirmed {
            Ok(_) => published += 1,
            // The row stays leased; when the lease runs out the relay publishes it again.
            Err(e) => tracing::warn!(job.id = %job.id, job.kind = %job.kind, error = %e, "queue.nats.publish_failed"),
        }
    }
    if published > 0 {
        shared.published.notify_waiters();
        tracing::debug!(jobs = published, "queue.nats.relayed");
    }
    Ok(leased)
}

async fn publish(shared: &Shared, job: &Job) -> StoreResult<async_nats::jetstream::context::PublishAckFuture> {
    let payload = serde_json::to_vec(job).map_err(|e| unavailable("encode job", e))?;
    let msg = PublishMessage::build()
        .payload(payload.into())
        .message_id(format!("{}:{}", job.id, job.attempts));
    shared
        .js
        .send_publish(shared.names.job_subject(&job.kind), msg)
        .await
        .map_err(|e| unavailable("publish", e))
}

/// Messages waiting or unacknowledged in the job streams.
async fn in_flight(shared: &Shared) -> StoreResult<u64> {
    let mut total = 0;
    for kind in &shared.opts.kinds {
        let info: Info = shared
            .js
            .get_stream_no_info(shared.names.job_stream(kind))
            .await
            .map_err(|e| unavailable("stream", e))?
            .get_info()
            .await
            .map_err(|e| unavailable("stream info", e))?;
        total += info.state.messages;
    }
    Ok(total)
}
