//! The scan log's group commit on PostgreSQL: every `scan_record` of a node joins the
//! scans waiting at that moment, and one transaction logs and counts them all
//! (`verification::scan_record_batch`). Each caller is answered after that commit, as it
//! was when every scan had a transaction of its own: the durability is the same, the
//! database's work per scan is not (one statement and one commit for the batch, each
//! counter row moved once per batch instead of once per scan, and one round trip).
//!
//! A batch leaves as soon as a slot is free: alone, a scan is logged at once (no wait
//! for company); under load the scans that arrive while [`IN_FLIGHT`] batches are in
//! the database make up the next one. A batch that fails for a reason other than the
//! database being unreachable is retried scan by scan, so that one bad scan fails alone.

use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use mpass_domain::ports::{StoreError, StoreResult};
use mpass_domain::scan::{Scan, ScanRecorded};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{PgError, in_tx, verification};

/// Batches in the database at once (each on its own connection, in its own shard of the
/// counter rows).
const IN_FLIGHT: usize = 4;
/// Scans in one batch at most.
const MAX_BATCH: usize = 512;
/// Scans waiting for a batch at most; callers beyond it wait for room.
const WAITING: usize = 8192;

type Reply = oneshot::Sender<StoreResult<ScanRecorded>>;

/// A node's handle on its scan log task. Cheap to clone; the task ends with the last one.
#[derive(Clone)]
pub(super) struct ScanLog {
    tx: mpsc::Sender<(Scan, Reply)>,
}

impl ScanLog {
    /// Starts the task on the current runtime, writing through `primary`.
    pub(super) fn start(primary: Pool) -> ScanLog {
        let (tx, rx) = mpsc::channel(WAITING);
        tokio::spawn(run(Primary(primary), rx));
        ScanLog { tx }
    }

    /// Logs `scan` with the batch it joins; answers after that batch's commit.
    pub(super) async fn record(&self, scan: Scan) -> StoreResult<ScanRecorded> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the scan log has stopped".into());
        self.tx.send((scan, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The primary pool, as `in_tx!` expects a store to offer it.
#[derive(Clone)]
struct Primary(Pool);

impl Primary {
    async fn primary(&self) -> Result<Object, PgError> {
        Ok(self.0.get().await?)
    }
}

async fn run(primary: Primary, mut rx: mpsc::Receiver<(Scan, Reply)>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut batches: u64 = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        batches += 1;
        let shard = (batches % u64::from(verification::SHARDS)) as i16;
        let primary = primary.clone();
        tokio::spawn(async move {
            write(&primary, batch, shard).await;
            drop(slot);
        });
    }
}

async fn write(primary: &Primary, batch: Vec<(Scan, Reply)>, shard: i16) {
    let (scans, replies): (Vec<Scan>, Vec<Reply>) = batch.into_iter().unzip();
    let all: Vec<&Scan> = scans.iter().collect();
    match log(primary, &all, shard).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) => {
            let e = StoreError::from(e);
            if scans.len() == 1 || matches!(e, StoreError::Unavailable(_)) {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
                return;
            }
            tracing::warn!(error = %e, scans = scans.len(), "store.scan_batch_failed_retrying_one_by_one");
            for (scan, reply) in scans.iter().zip(replies) {
                let result = log(primary, &[scan], shard).await;
                let _ = reply.send(result.map_err(StoreError::from).map(|mut r| r.remove(0)));
            }
        }
    }
}

async fn log(primary: &Primary, scans: &[&Scan], shard: i16) -> Result<Vec<ScanRecorded>, PgError> {
    in_tx!(primary, |tx| verification::scan_record_batch(&tx, scans, shard))
}
