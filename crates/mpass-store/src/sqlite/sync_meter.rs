//! How long the WAL syncs that acknowledgements wait on take: every durable write is
//! answered only after one (`syncer_loop`), so a disk that is slow to flush shows here
//! first (`/metrics`: `mpass_store_wal_sync_seconds`), and a sync slow enough for callers
//! to notice is logged (`store.wal_sync_slow`).

use mpass_domain::ports::SyncTimes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds, seconds: from a flush of a disk with a protected cache (well under a
/// millisecond) to a stalled one.
const LE_SECS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// A sync at least this slow holds back every answer waiting on it: a warning.
const SLOW: Duration = Duration::from_millis(100);

/// The syncs' histogram, shared by the syncer thread (which records) and the store
/// handles (which read it).
#[derive(Debug, Default)]
pub(crate) struct SyncMeter {
    /// Syncs per bucket (not cumulative); one more for those above the last bound.
    buckets: [AtomicU64; LE_SECS.len() + 1],
    sum_nanos: AtomicU64,
}

impl SyncMeter {
    pub(crate) fn record(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = LE_SECS.iter().position(|&le| secs <= le).unwrap_or(LE_SECS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        if took >= SLOW {
            tracing::warn!(duration_ms = took.as_millis() as u64, "store.wal_sync_slow");
        }
    }

    pub(crate) fn snapshot(&self) -> SyncTimes {
        let mut running = 0;
        let mut cumulative = Vec::with_capacity(LE_SECS.len());
        for b in &self.buckets[..LE_SECS.len()] {
            running += b.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        SyncTimes {
            le_secs: &LE_SECS,
            cumulative,
            count: running + self.buckets[LE_SECS.len()].load(Ordering::Relaxed),
            sum_secs: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_slowest_count_only_in_the_total() {
        let m = SyncMeter::default();
        for ms in [0.2, 0.7, 3.0, 3.0, 180.0, 2_000.0] {
            m.record(Duration::from_secs_f64(ms / 1000.0));
        }
        let s = m.snapshot();
        assert_eq!(s.le_secs.len(), s.cumulative.len());
        // <= 0.5 ms, 1, 2.5, 5, 10, 25, 50, 100, 250 ms, 1 s
        assert_eq!(s.cumulative, vec![1, 2, 2, 4, 4, 4, 4, 4, 5, 5]);
        assert_eq!(s.count, 6);
        assert!((s.sum_secs - 2.1869).abs() < 1e-6, "{}", s.sum_secs);
    }
}
