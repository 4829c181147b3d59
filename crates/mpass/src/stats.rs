//! `mpass stats rebuild|check`: recompute the statistics counters from the source tables,
//! or compare them with a direct count (SPEC §9).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;
use mpass_domain::ports::{Store, StoreResult};
use mpass_domain::stats::scans::{ScanDim, ScanQuery};
use mpass_domain::stats::{CountQuery, Dim, LatencyQuery};

use crate::config::Settings;

#[derive(Subcommand)]
pub enum StatsCommand {
    /// Recompute every counter from the applications table and the scan log, in one
    /// transaction.
    Rebuild,
    /// Compare the counters with a direct count of the applications table and the scan
    /// log; exit 0 when they agree, 1 when not (a scan: run it off-peak on big databases).
    Check,
}

pub async fn run(settings: Settings, cmd: StatsCommand) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    match cmd {
        StatsCommand::Rebuild => {
            let t = Instant::now();
            let r = store.stats_rebuild().await?;
            println!(
                "rebuilt: {} applications into {} counter rows and {} latency rows, {} scans into {} scan counter rows, in {:.2} s",
                r.applications,
                r.count_rows,
                r.latency_rows,
                r.scans,
                r.scan_rows,
                t.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        StatsCommand::Check => {
            let differences = check(store.as_ref()).await?;
            if differences.is_empty() {
                println!("OK: the counters equal a direct count");
                Ok(ExitCode::SUCCESS)
            } else {
                for d in &differences {
                    println!("DIFFERS: {d}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Every grouping the API uses, compared counter by counter with a direct count; the
/// differences found (empty when all agree).
pub async fn check(store: &dyn Store) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for group in [
        vec![Dim::Status],
        vec![Dim::Hour, Dim::District, Dim::Reason, Dim::Status],
        vec![Dim::Thana, Dim::Status],
    ] {
        let q = CountQuery {
            group,
            ..CountQuery::default()
        };
        let kept: Vec<_> = store.stats_counts(&q).await?.into_iter().filter(|r| r.n != 0).collect();
        let direct = store.stats_counts_direct(&q).await?;
        if kept != direct {
            out.push(format!(
                "{:?}: {} counter rows, {} direct rows",
                q.group,
                kept.len(),
                direct.len()
            ));
        }
    }
    let q = LatencyQuery::default();
    if store.stats_latency(&q).await? != store.stats_latency_direct(&q).await? {
        out.push("decision latency histogram".into());
    }
    for group in [
        vec![ScanDim::Result],
        vec![ScanDim::Hour, ScanDim::District, ScanDim::Checkpoint, ScanDim::Result],
    ] {
        let q = ScanQuery {
            group,
            ..ScanQuery::default()
        };
        let kept: Vec<_> = store.stats_scans(&q).await?.into_iter().filter(|r| r.n != 0).collect();
        let direct = store.stats_scans_direct(&q).await?;
        if kept != direct {
            out.push(format!(
                "scans by {:?}: {} counter rows, {} direct rows",
                q.group,
                kept.len(),
                direct.len()
            ));
        }
    }
    Ok(out)
}
