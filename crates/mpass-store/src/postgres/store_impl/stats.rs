//! `StatsStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::application::Status;
use mpass_domain::ports::*;

use crate::postgres::{PgError, PostgresStore, applications as apps, in_tx, stats};
use crate::stats_sql::Source;
use mpass_domain::stats::scans::{ScanCountRow, ScanQuery};
use mpass_domain::stats::{CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

#[async_trait]
impl StatsStore for PostgresStore {
    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>> {
        // Metrics only: replica lag is acceptable.
        let c = self.reader().await?;
        Ok(apps::status_counts(&c).await?)
    }

    // Statistics read the reader pool (a replica when configured): dashboards never load
    // the primary that citizens' requests write to.
    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let c = self.reader().await?;
        Ok(stats::counts(&c, q, Source::Counters).await?)
    }

    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let c = self.reader().await?;
        Ok(stats::counts(&c, q, Source::Direct).await?)
    }

    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let c = self.reader().await?;
        Ok(stats::latency(&c, q, Source::Counters).await?)
    }

    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let c = self.reader().await?;
        Ok(stats::latency(&c, q, Source::Direct).await?)
    }

    async fn stats_rebuild(&self) -> StoreResult<RebuildReport> {
        Ok(in_tx!(self, |tx| stats::rebuild(&tx))?)
    }

    async fn stats_fold(&self) -> StoreResult<u64> {
        Ok(in_tx!(self, |tx| stats::fold(&tx))?)
    }

    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let c = self.reader().await?;
        Ok(stats::scan_counts(&c, q, Source::Counters).await?)
    }

    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let c = self.reader().await?;
        Ok(stats::scan_counts(&c, q, Source::Direct).await?)
    }
}
