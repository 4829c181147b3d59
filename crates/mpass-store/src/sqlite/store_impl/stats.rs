//! `StatsStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::application::Status;
use mpass_domain::ports::*;

use mpass_domain::stats::scans::{ScanCountRow, ScanQuery};
use mpass_domain::stats::{CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

use crate::sqlite::{SqliteStore, applications as apps, stats};
use crate::stats_sql::Source;

#[async_trait]
impl StatsStore for SqliteStore {
    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>> {
        self.read(apps::status_counts).await
    }

    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let q = q.clone();
        self.read(move |c| stats::counts(c, &q, Source::Counters)).await
    }

    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let q = q.clone();
        self.read(move |c| stats::counts(c, &q, Source::Direct)).await
    }

    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let q = q.clone();
        self.read(move |c| stats::latency(c, &q, Source::Counters)).await
    }

    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let q = q.clone();
        self.read(move |c| stats::latency(c, &q, Source::Direct)).await
    }

    async fn stats_rebuild(&self) -> StoreResult<RebuildReport> {
        self.write(stats::rebuild).await
    }

    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let q = q.clone();
        self.read(move |c| stats::scan_counts(c, &q, Source::Counters)).await
    }

    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let q = q.clone();
        self.read(move |c| stats::scan_counts(c, &q, Source::Direct)).await
    }
}
