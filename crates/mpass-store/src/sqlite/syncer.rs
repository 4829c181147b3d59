//! The two threads beside the writer: the syncer, which makes committed batches durable
//! before their callers are answered, and the checkpointer, which copies the WAL back into
//! the database file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;

use mpass_domain::ports::StoreError;
use rusqlite::Connection;

use super::{CHECKPOINT_EVERY, Deliver, sync_meter};

/// Answers the callers of committed batches once the WAL that holds them is on disk: one
/// `fdatasync` for every batch committed since the last one. The writer commits with
/// `synchronous = NORMAL` (no sync inside the commit) and goes on with the next batch while
/// this thread waits for the disk, so a sync no longer leaves the writer idle. Nobody is
/// answered before the sync, so what was acknowledged survives a power loss as before; a
/// batch is visible to other reads from its commit, a sync earlier than it is durable.
pub(super) fn syncer_loop(wal: PathBuf, batches: mpsc::Receiver<Vec<Deliver>>, meter: &sync_meter::SyncMeter) {
    let mut file = None;
    while let Ok(first) = batches.recv() {
        let mut answers = first;
        while let Ok(more) = batches.try_recv() {
            answers.extend(more);
        }
        sync_then_answer(&mut file, &wal, answers, meter);
    }
}

/// Syncs the WAL (opening it on first use) and answers `answers`, with an error if the
/// sync failed: what they wrote may not be on disk.
pub(super) fn sync_then_answer(
    file: &mut Option<std::fs::File>,
    wal: &Path,
    answers: Vec<Deliver>,
    meter: &sync_meter::SyncMeter,
) {
    let began = std::time::Instant::now();
    let synced = match file {
        Some(f) => f.sync_data(),
        None => std::fs::File::open(wal).and_then(|f| f.sync_data().map(|()| *file = Some(f))),
    };
    meter.record(began.elapsed());
    let error = synced.err().map(|e| {
        tracing::error!(error = %e, wal = %wal.display(), "store.wal_sync_failed");
        StoreError::Unavailable(format!("the write-ahead log could not be synced: {e}"))
    });
    for d in answers {
        d(error.clone());
    }
}

/// A PASSIVE checkpoint (it waits for no reader and no writer): the WAL's length in frames.
pub(super) fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`], and
/// publishes the WAL's length in `wal_frames`, until the writer stops (`alive` drops).
pub(super) fn checkpoint_loop(conn: Connection, wal_frames: &AtomicI64, writer_alive: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_alive.recv_timeout(CHECKPOINT_EVERY) {
        match checkpoint(&conn) {
            Ok(frames) => wal_frames.store(frames, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "store.checkpoint_failed"),
        }
    }
}
