//! `mpass`: the one Movement Pass binary. `serve` runs everything in one process on the
//! embedded default; the other subcommands administer the same data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mpass::serve::NodeKind;
use mpass::{
    BackendArgs, DataArgs, admin, audit, bench, config, demo, dlq, keys, policy, runtime, serve, stats, telemetry,
    verify,
};

/// mimalloc rather than glibc's malloc: the runtime threads free what the SQLite writer
/// allocated and the other way round, and glibc takes the owning arena's lock for each
/// such free once the thread cache is full. Under verification load the runtime threads
/// slept on those locks 190–670 times a second; with mimalloc, under 10 (docs/BENCHMARKS-HISTORY.md,
/// fifth round). Its version 2 (the `v2` feature) rather than the crate's default 3: under the
/// online check mimalloc 3's allocation and free paths were 11.7% of the server's samples,
/// version 2's 6.6% (thirtieth round).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "mpass", version, about = "Movement Pass: emergency movement permits")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything (API, pages, worker) in one process.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Also serve the legacy `/v1` API (SPEC §12); or `MPASS_COMPAT_V1=true`.
        #[arg(long)]
        compat_v1: bool,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run a stateless API node (distributed layout; any number behind a load balancer).
    Api {
        #[command(flatten)]
        data: DataArgs,
        /// Also serve the legacy `/v1` API (SPEC §12); or `MPASS_COMPAT_V1=true`.
        #[arg(long)]
        compat_v1: bool,
        #[command(flatten)]
        backends: BackendArgs,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run a worker node: decisions and notifications (distributed layout).
    Worker {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Administration: role grants.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// The audit log: `mpass audit verify` checks the hash chain (exit 0 intact, 1 broken).
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// The decision policy: show, reload without restart, test a proposed one (dry run).
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// The dead-letter queue: `mpass dlq list [--json]`, `mpass dlq replay ID... | --all [--kind K]`.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Statistics counters: `rebuild` recomputes them, `check` compares them with a direct count.
    Stats {
        #[command(subcommand)]
        command: stats::StatsCommand,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Fill a fresh data directory with a synthetic day (for the dashboard), with progress.
    Demo {
        #[command(flatten)]
        args: demo::DemoArgs,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Verify a pass offline; exits 0 only for a valid (green) pass.
    Verify(verify::VerifyArgs),
    /// Load generator against a running server: ceiling, verify, submit, decide, launch-day
    /// (docs/BENCHMARKS.md).
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            data,
            listen,
            compat_v1,
        } => config::Settings::load(&data, listen).and_then(|mut s| {
            s.compat_v1 |= compat_v1;
            s.check()?;
            telemetry::init(&s.log_format);
            run_server(s, NodeKind::All)
        }),
        Command::Api {
            data,
            backends,
            listen,
            compat_v1,
        } => config::Settings::load_with(&data, listen, &backends).and_then(|mut s| {
            s.compat_v1 |= compat_v1;
            s.check()?;
            telemetry::init(&s.log_format);
            run_server(s, NodeKind::Api)
        }),
        Command::Worker { data, backends } => config::Settings::load_with(&data, None, &backends).and_then(|s| {
            telemetry::init(&s.log_format);
            run_server(s, NodeKind::Worker)
        }),
        Command::Admin {
            command,
            data,
            backends,
        } => console(&data, &backends, |s| admin::run(s, command)),
        Command::Audit {
            command,
            data,
            backends,
        } => return exit_code(console(&data, &backends, |s| audit::run(s, command))),
        Command::Policy {
            command,
            data,
            backends,
        } => console(&data, &backends, |s| policy::run(s, command)),
        Command::Dlq {
            command,
            data,
            backends,
        } => return exit_code(console(&data, &backends, |s| dlq::run(s, command))),
        Command::Stats {
            command,
            data,
            backends,
        } => return exit_code(console(&data, &backends, |s| stats::run(s, command))),
        Command::Demo { args, data, backends } => console(&data, &backends, |s| demo::run(s, args)),
        Command::Keys { command, data } => config::Settings::load(&data, None).and_then(|s| keys::run(&s, command)),
        Command::Bench(args) => run_async(bench::run(args)).map(|_| ()),
        Command::Verify(args) => return exit_code(run_async(verify::run(args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A console command on the same data as the server: settings, readable logs, a runtime.
fn console<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    data: &DataArgs,
    backends: &BackendArgs,
    run: impl FnOnce(config::Settings) -> F,
) -> anyhow::Result<T> {
    let settings = config::Settings::load_with(data, None, backends)?;
    telemetry::init("pretty");
    run_async(run(settings))
}

/// The exit code of a command that answers with one; 2 when it could not run.
fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

/// Runs a server node on its own runtime (workers pinned, `runtime::server_runtime`).
fn run_server(settings: config::Settings, kind: NodeKind) -> anyhow::Result<()> {
    telemetry::write_back_log_file();
    runtime::server_runtime(settings.pin_workers)?.block_on(serve::serve(settings, kind))
}

fn run_async<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(f)
}
