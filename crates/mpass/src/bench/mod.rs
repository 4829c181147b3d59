//! `mpass bench`: the load generator (issue 8). It speaks to a running server only through
//! the typed client (`mpass-client`), as any other client would.
//!
//! Two ways of offering load:
//! - **open loop** (`--rate R`): request `i` is due at `start + i/R`, whatever happened to
//!   the ones before; its latency is measured from that *intended* send time, so a stall of
//!   the server shows up in the percentiles instead of silently slowing the generator
//!   (coordinated omission). At most `--in-flight` requests are in flight (by default
//!   `--concurrency`); a request due while all of them are busy is not sent and counted as
//!   `dropped` (an error).
//! - **closed loop** (no `--rate`): `--concurrency` workers each send, wait, send again:
//!   the server's maximum throughput at that concurrency.
//!
//! Every scenario except `ceiling` measures the ceiling (`GET /healthz`, closed loop at the
//! same concurrency, same client) before its load and again after it, so that each figure
//! of the summary can be given as a ratio to the trivial-HTTP ceiling of the same run on the
//! same machine: to the higher of the two, since a ceiling disturbed by leftover work or by
//! the host could only flatter the ratios.

mod report;
mod run;
mod scenario;

use std::path::PathBuf;

pub use report::{Row, Summary};

/// The scenarios of `mpass bench`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `GET /healthz`: the trivial-HTTP ceiling of the server and of this generator.
    Ceiling,
    /// `POST /api/v1/verify` (police, online) of many distinct approved passes.
    Verify,
    /// `POST /api/v1/applications` from many distinct citizens (202 = durably committed).
    Submit,
    /// Submissions at `--rate`, and the time from each one's intended send to its decision
    /// as observed through the API (`GET /api/v1/applications/{id}`, polled per application).
    Decide,
    /// The realistic mix, per new user: OTP, login, profile, apply, status polling until
    /// decided, pass and QR download, a police verification of the pass.
    LaunchDay,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Ceiling => "ceiling",
            Scenario::Verify => "verify",
            Scenario::Submit => "submit",
            Scenario::Decide => "decide",
            Scenario::LaunchDay => "launch-day",
        }
    }
}

/// `mpass bench SCENARIO [options]`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Base URL of the server under test.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Open loop at this many operations per second (launch-day: new users per second).
    /// Without it: closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Open loop at this fraction of the ceiling measured at the start of this scenario
    /// (0.25: a quarter of it), instead of a fixed `--rate`: the host's capacity may have
    /// moved since a ceiling measured minutes earlier.
    #[arg(long, conflicts_with = "rate")]
    pub rate_of_ceiling: Option<f64>,
    /// Closed loop: workers. Open loop: the most operations in flight at once, unless
    /// `--in-flight` says otherwise. The ceilings are always measured with this many.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop: the most operations in flight at once (default: `--concurrency`). An
    /// operation due while this many are in flight is dropped, so a stall longer than
    /// `in-flight / rate` seconds turns into errors instead of latency; more slots let the
    /// stall's operations go out on time and count their whole wait.
    #[arg(long)]
    pub in_flight: Option<usize>,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of each of the two ceiling measurements, before and after every other
    /// scenario's load (0: none).
    #[arg(long, default_value_t = 5.0)]
    pub ceiling_secs: f64,
    /// Closed loop of `verify` and `submit`: the measured `--duration` split into this many
    /// windows, the ceiling measured before each and after the last. Each window's rate is
    /// also given as a ratio to the higher of the two ceilings around it, and the summary
    /// gives their median: the host's capacity moves within seconds (a ceiling before the
    /// load and one after it differed by up to two thirds on one machine), and a window
    /// paired with the ceilings around it moves less than one long window.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Seconds of unmeasured load before the measurement (warms connections and caches).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Distinct citizens prepared for `submit` and `decide` (each logs in through the dev
    /// outbox and saves a profile).
    #[arg(long, default_value_t = 1000)]
    pub citizens: usize,
    /// Distinct approved passes prepared for `verify` (one citizen each).
    #[arg(long, default_value_t = 1000)]
    pub passes: usize,
    /// Phone of the police officer whose token `verify` and `launch-day` use; grant the role
    /// first on the server's data: `mpass admin grant PHONE police`.
    #[arg(long, default_value = "01900000000")]
    pub police_phone: String,
    /// `verify` and `launch-day`: officers taking turns, phones `--police-phone` + 0..N (each granted
    /// `police`). The server lets one officer verify 120 passes a minute (a security
    /// limit, not weakened for benchmarks), so a sustained R/s needs about R/2 officers.
    #[arg(long, default_value_t = 1)]
    pub officers: u64,
    /// First citizen phone number of this run (8 digits after `013`); by default derived
    /// from the clock, so runs against the same data use new numbers.
    #[arg(long)]
    pub phone_base: Option<u64>,
    /// `decide`: the longest wait between two status polls of one application (they start at
    /// 50 ms and double). `launch-day`: between two polls of one user (at least 250).
    #[arg(long, default_value_t = 100)]
    pub poll_ms: u64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress line every second (on stderr).
    #[arg(long)]
    pub quiet: bool,
    /// `verify` only: prepare the officers and passes, then write a wrk script that sends
    /// the same checks (officer *i* mod K, pass *i* mod N) to this file instead of measuring,
    /// so that an external tool loads the server with the same work
    /// (`wrk -s FILE URL/api/v1/verify`; `scripts/bench_wrk.sh`).
    #[arg(long)]
    pub wrk_script: Option<PathBuf>,
    /// `verify` (and its wrk script): send the checkpoint's position with each check, as an
    /// officer's device does (SPEC §8), at the centre of the trips' origin thana. The
    /// server then also reads the pass's latest scans (impossible travel) and checks the
    /// route. Without it the checks carry no place.
    #[arg(long)]
    pub position: bool,
}

/// Runs the benchmark and prints the summary table; answers the summary (none when it only
/// wrote a wrk script).
pub async fn run(args: BenchArgs) -> anyhow::Result<Option<Summary>> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.in_flight != Some(0), "--in-flight must be at least 1");
    anyhow::ensure!(args.duration > 0.0, "--duration must be positive");
    if let Some(r) = args.rate {
        anyhow::ensure!(r > 0.0 && r.is_finite(), "--rate must be positive");
    }
    if let Some(f) = args.rate_of_ceiling {
        anyhow::ensure!(f > 0.0 && f.is_finite(), "--rate-of-ceiling must be positive");
        anyhow::ensure!(
            args.scenario != Scenario::Ceiling && args.ceiling_secs > 0.0,
            "--rate-of-ceiling needs the scenario's ceiling measurement (--ceiling-secs above 0)"
        );
    }
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    if args.rounds > 1 {
        anyhow::ensure!(
            matches!(args.scenario, Scenario::Verify | Scenario::Submit)
                && args.rate.is_none()
                && args.rate_of_ceiling.is_none()
                && args.ceiling_secs > 0.0,
            "--rounds is for the closed loop of verify and submit, with the ceiling measured (--ceiling-secs above 0)"
        );
    }
    if let Some(path) = &args.wrk_script {
        anyhow::ensure!(
            args.scenario == Scenario::Verify,
            "--wrk-script is for the verify scenario"
        );
        scenario::write_wrk_verify(&args, path).await?;
        return Ok(None);
    }
    let summary = scenario::run(&args).await?;
    print!("{}", summary.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&summary.to_json())?)?;
    }
    Ok(Some(summary))
}
