//! Settings of the JetStream queue, and the names it gives streams and subjects.

use std::time::Duration;

use mpass_domain::ports::{JOB_KINDS, StoreError, StoreResult};

/// Timing and sizing of the JetStream queue. Defaults suit production; tests shorten them.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// Job kinds that get a stream and a consumer.
    pub kinds: Vec<String>,
    /// How long the relay leases a row it published; when it runs out and the row is still
    /// there, the relay publishes it again (the sweeper).
    pub lease_secs: i64,
    /// Time a worker has to answer the first delivery (used when `redelivery` is empty).
    pub ack_wait: Duration,
    /// Ack wait for the 1st, 2nd, ... delivery (JetStream `backoff`); the last step repeats.
    /// Must be shorter than `max_deliver`.
    pub redelivery: Vec<Duration>,
    /// Deliveries before JetStream gives up and the job is dead-lettered.
    pub max_deliver: i64,
    /// How often the relay looks for due rows when nobody rings.
    pub relay_interval: Duration,
    /// Rows leased and published per relay round.
    pub relay_batch: u32,
    /// The relay stops leasing while the job streams hold this many messages.
    pub max_in_flight: u64,
    /// How often an idle `fetch` asks the consumers again.
    pub poll_interval: Duration,
    /// Window in which the job streams drop a message id they have already stored.
    pub duplicate_window: Duration,
    /// How long the dead-letter stream keeps a message.
    pub dead_letter_max_age: Duration,
    /// Stream replicas (1 on a single server, 3 on a cluster).
    pub replicas: usize,
    /// Whether this process runs a relay (every process may; the store's lease coordinates them).
    pub relay: bool,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            kinds: JOB_KINDS.iter().map(|k| k.to_string()).collect(),
            lease_secs: 300,
            ack_wait: Duration::from_secs(15),
            // With max_deliver 5: answers awaited 15 + 30 + 60 + 60 + 60 s = 225 s < lease.
            redelivery: vec![
                Duration::from_secs(15),
                Duration::from_secs(30),
                Duration::from_secs(60),
            ],
            max_deliver: 5,
            relay_interval: Duration::from_millis(250),
            relay_batch: 256,
            max_in_flight: 10_000,
            poll_interval: Duration::from_millis(100),
            duplicate_window: Duration::from_secs(120),
            dead_letter_max_age: Duration::from_secs(30 * 24 * 3600),
            replicas: 1,
            relay: true,
        }
    }
}

impl NatsOptions {
    /// The longest time JetStream may keep a message waiting for an answer before giving up.
    pub fn redelivery_span(&self) -> Duration {
        let deliveries = usize::try_from(self.max_deliver.max(1)).unwrap_or(usize::MAX);
        if self.redelivery.is_empty() {
            return self
                .ack_wait
                .saturating_mul(u32::try_from(deliveries).unwrap_or(u32::MAX));
        }
        let last = *self.redelivery.last().unwrap_or(&self.ack_wait);
        (0..deliveries)
            .map(|i| self.redelivery.get(i).copied().unwrap_or(last))
            .sum()
    }
}

/// Stream, subject and consumer names under one prefix, so deployments and tests can share a server.
#[derive(Debug, Clone)]
pub(super) struct Names {
    pub(super) streams: String,
    pub(super) subjects: String,
}

impl Names {
    pub(super) fn new(prefix: &str) -> StoreResult<Names> {
        let ok = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(StoreError::Backend(format!(
                "nats: prefix {prefix:?} must be letters, digits, '_' or '-'"
            )));
        }
        Ok(Names {
            streams: prefix.to_ascii_uppercase(),
            subjects: prefix.to_ascii_lowercase(),
        })
    }

    pub(super) fn job_stream(&self, kind: &str) -> String {
        format!("{}_JOBS_{kind}", self.streams)
    }

    pub(super) fn job_subject(&self, kind: &str) -> String {
        format!("{}.jobs.{kind}", self.subjects)
    }

    pub(super) fn dead_stream(&self) -> String {
        format!("{}_DLQ", self.streams)
    }

    pub(super) fn dead_subject(&self, kind: &str) -> String {
        format!("{}.dlq.{kind}", self.subjects)
    }
}
