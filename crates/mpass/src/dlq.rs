//! `mpass dlq`: the dead-letter queue from the console. `list` shows the jobs that failed
//! for good; `replay` moves them back into the job table as new jobs, which the running
//! workers pick up on either queue backend (on NATS the outbox relay publishes them).
//! Every replay is audited (`dlq.replayed`, actor `cli`) in the same transaction.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::Subcommand;
use mpass_domain::audit::Actor;
use mpass_domain::ids::JobId;
use mpass_domain::ports::{DeadJob, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Settings;

/// Most dead jobs `replay --all` moves in one run (run it again for more).
const REPLAY_ALL_MAX: u32 = 10_000;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List dead jobs, most recently failed first.
    List {
        /// Only jobs of this kind (send_sms, decide_application, ...).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON array (with payloads) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put dead jobs back in the queue: the given ids, or `--all` (of `--kind`).
    Replay {
        /// Dead job ids (from `mpass dlq list`).
        ids: Vec<String>,
        /// Every dead job (of `--kind` when given).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// With `--all`: only jobs of this kind.
        #[arg(long, requires = "all")]
        kind: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: DlqCommand) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    match cmd {
        DlqCommand::List { kind, limit, json } => {
            let jobs = store.dead_jobs(kind.as_deref(), limit.clamp(1, 100_000)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                print_table(&jobs);
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Replay { ids, all, kind } => {
            let targets: Vec<JobId> = if all {
                store
                    .dead_jobs(kind.as_deref(), REPLAY_ALL_MAX)
                    .await?
                    .into_iter()
                    .map(|d| d.id)
                    .collect()
            } else {
                if ids.is_empty() {
                    bail!("name the dead jobs to replay (ids from `mpass dlq list`), or use --all");
                }
                let mut parsed = Vec::with_capacity(ids.len());
                for raw in &ids {
                    match JobId::parse(raw) {
                        Some(id) => parsed.push(id),
                        None => bail!("{raw:?} is not a job id"),
                    }
                }
                parsed
            };
            let mut missing = 0;
            for id in &targets {
                match store
                    .dead_job_replay(*id, Actor::cli(), OffsetDateTime::now_utc())
                    .await?
                {
                    Some(new_id) => println!("replayed {id} as job {new_id}"),
                    None => {
                        eprintln!("no dead job {id} (never dead, or already replayed)");
                        missing += 1;
                    }
                }
            }
            println!("{} replayed", targets.len() - missing);
            Ok(if missing == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn print_table(jobs: &[DeadJob]) {
    if jobs.is_empty() {
        println!("no dead jobs");
        return;
    }
    println!(
        "{:<36}  {:<20}  {:>8}  {:<25}  LAST ERROR",
        "ID", "KIND", "ATTEMPTS", "FAILED AT"
    );
    for j in jobs {
        let error: String = j.last_error.chars().take(100).collect();
        println!(
            "{:<36}  {:<20}  {:>8}  {:<25}  {}",
            j.id,
            j.kind,
            j.attempts,
            j.failed_at.format(&Rfc3339).unwrap_or_default(),
            error
        );
    }
}
