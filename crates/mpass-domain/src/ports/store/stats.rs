//! Statistics (issue 7, SPEC §9) from counters moved in the transaction of every status change.

use async_trait::async_trait;

use crate::application::Status;
use crate::ports::*;
use crate::stats::scans::{ScanCountRow, ScanQuery};
use crate::stats::{CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

/// Statistics from counters moved in the transaction of every status change (submit,
/// decisions, reviews, information requests, cancel, revoke, scans), so they always agree
/// with the rows; reads never touch the applications or scans tables.
#[async_trait]
pub trait StatsStore: Send + Sync + 'static {
    /// Counts of applications by status, for metrics: read from the statistics counters
    /// (kept in the same transactions as the applications), so a scrape costs the same at
    /// any number of applications. `stats_counts_direct` counts the table itself.
    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>>;
    /// Sums of the counters for `q`.
    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>>;
    /// The same answer counted directly from the applications table: a scan, for checks
    /// (`mpass stats check`, tests), never for requests.
    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>>;
    /// First-decision latencies for `q`, from the histogram counters.
    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram>;
    /// The same histogram computed from the applications table (a scan, for checks).
    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram>;
    /// Recomputes every counter from the source tables, in one transaction.
    async fn stats_rebuild(&self) -> StoreResult<RebuildReport>;
    /// Moves counter changes that status changes left pending into the counters (how
    /// many), without changing any answer: a store shared by many nodes may let changes
    /// wait there so that concurrent changes do not queue on a counter row's lock; every
    /// node calls it every few hundred milliseconds. A store that counts into the counters
    /// directly (the embedded one, with its single writer) has nothing to do.
    async fn stats_fold(&self) -> StoreResult<u64> {
        Ok(0)
    }
    /// Sums of the scan counters for `q` (moved in the transaction of `scan_record`).
    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>>;
    /// The same answer counted directly from the scan log (a scan of the table, for checks).
    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>>;
}
