//! `Store` for `PostgresStore`: one file per resource's trait, and the store's own
//! health and upkeep here. Every method picks the primary (writes, and reads that must
//! see them) or the reader pool (lookups that tolerate replica lag).

mod admin;
mod applications;
mod audit;
mod identity;
mod jobs;
mod legacy;
mod passes;
mod policy;
mod review;
mod stats;
mod verification;

use async_trait::async_trait;
use mpass_domain::ports::*;

use crate::postgres::{PgError, PostgresStore};

/// How often a node vacuums the queue-like tables ([`VACUUM_QUEUES`]).
const TIDY_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The tables whose rows are inserted and soon deleted or updated again and again: jobs
/// (leased, then deleted), queued audit entries and pending counter changes (moved every
/// few hundred milliseconds), the hourly counters they are folded into, login codes. Each
/// stays small, but its dead rows do not: without a vacuum a lease, a seal or a fold reads
/// past all of them (a `jobs` of 120 live rows in 4,151 pages after 50,000 applications,
/// on a server whose autovacuum is off). Small tables and their indexes vacuum in a few
/// milliseconds; `SKIP_LOCKED` leaves a table another node is vacuuming. The large tables
/// (applications, scans) are autovacuum's.
const VACUUM_QUEUES: &str = "VACUUM (SKIP_LOCKED) jobs, audit_queue, stats_thana_pending, \
    stats_district_pending, stats_latency_pending, stats_thana_hourly, stats_district_hourly, \
    stats_latency_hourly, stats_scans_hourly, otp_codes, otp_sends, otp_address_minutes, \
    legacy_login_days";

/// Deletes the counts of past minutes and days: login codes by address (`otp_issue` reads
/// only the current minute's and the last) and legacy logins by phone (`legacy_login_attempt`, only the
/// current day's). The nodes count by their own clocks and this deletes by the database's,
/// so it keeps ten minutes and a day more than needed: a node's clock may be that far off.
const PURGE_PAST_COUNTS: &str = "DELETE FROM otp_address_minutes \
    WHERE minute < (extract(epoch FROM now()) * 1000)::bigint / 60000 - 10; \
    DELETE FROM legacy_login_days WHERE day < (extract(epoch FROM now()) * 1000)::bigint / 86400000 - 1";

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let c = self.primary().await?;
        c.batch_execute("SELECT 1").await.map_err(PgError::from)?;
        if self.replica.is_some() {
            let r = self.reader().await?;
            r.batch_execute("SELECT 1").await.map_err(PgError::from)?;
        }
        Ok(())
    }

    async fn tidy(&self) -> StoreResult<()> {
        {
            let mut last = self.tidied.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < TIDY_EVERY) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        let c = self.primary().await?;
        c.batch_execute(PURGE_PAST_COUNTS).await.map_err(PgError::from)?;
        c.batch_execute(VACUUM_QUEUES).await.map_err(PgError::from)?;
        Ok(())
    }
}
