//! The scenarios: what is prepared before the measurement, and the operation measured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mpass_client::{ApplicationBody, Client, ClientError, PlaceBody, PositionBody, ProfileBody, VerifyBody};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::report::Round;
use super::run::{Mode, Op, OpFuture, Phase, Recorder, Syncs, phase};
use super::{BenchArgs, Row, Scenario, Summary};

mod decide;
mod launch_day;
mod prepare;

use decide::decide;
use launch_day::launch_day;
pub use prepare::write_wrk_verify;
use prepare::*;

/// Two thanas of Dhaka (geocodes known to exist).
const THANA_A: &str = "30260014";
const THANA_B: &str = "30262000";

pub async fn run(args: &BenchArgs) -> anyhow::Result<Summary> {
    let client = Client::with_pool(&args.url, args.concurrency.max(args.in_flight.unwrap_or(0)) + 16);
    client
        .healthz()
        .await
        .with_context(|| format!("the server at {} does not answer /healthz", args.url))?;
    let ceiling = if args.scenario == Scenario::Ceiling || args.ceiling_secs <= 0.0 {
        None
    } else {
        Some(ceiling_row(args, &client).await)
    };
    let mode = mode(args.rate, args.rate_of_ceiling, ceiling.as_ref());
    let slots = slots(args, mode);
    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
    let duration = Duration::from_secs_f64(args.duration);
    let label = args.scenario.name();
    let mut notes = Vec::new();
    // `--rounds`: the windows and the ceilings between them, the last of which is the
    // ceiling after the load.
    let mut rounds: Option<(Vec<Round>, Row)> = None;
    let phase = match args.scenario {
        Scenario::Ceiling => {
            let op: Op = {
                let client = client.clone();
                Arc::new(move |_, _, _| healthz(client.clone()))
            };
            phase(
                label,
                Recorder::new(&["healthz"]),
                op,
                mode,
                slots,
                warmup,
                duration,
                args.quiet,
                Some(client.clone()),
            )
            .await
        }
        Scenario::Verify => {
            let officers = prepare_officers(args, &client).await?;
            notes.push(format!("{} police officers taking turns", officers.len()));
            let passes = prepare_passes(args, &client).await?;
            let checkpoint = verify_position(args)?;
            if checkpoint.is_some() {
                notes.push(format!(
                    "each check at the centre of thana {THANA_A}, the trips' origin"
                ));
            }
            // The bodies made once, and officers and bodies shared, not copied per check:
            // this generator shares the machine with the server it measures, and its own
            // work per check lowers the rate it reads (docs/BENCHMARKS.md).
            let officers: Arc<[Client]> = officers.into();
            let bodies: Arc<[VerifyBody]> = passes
                .iter()
                .map(|qr| VerifyBody {
                    qr_text: Some(qr.clone()),
                    checkpoint,
                    ..VerifyBody::default()
                })
                .collect();
            let op: Op = Arc::new(move |i, _, _| {
                let (officers, bodies) = (officers.clone(), bodies.clone());
                Box::pin(async move {
                    let police = &officers[i as usize % officers.len()];
                    let body = &bodies[i as usize % bodies.len()];
                    let verdict = police.verify_result(body).await.map_err(code)?;
                    if verdict.result != "green" {
                        return Err(format!("verdict_{}", verdict.result));
                    }
                    Ok(())
                })
            });
            measure(
                args,
                &client,
                &["verify"],
                op,
                mode,
                warmup,
                ceiling.as_ref(),
                &mut rounds,
            )
            .await
        }
        Scenario::Submit => {
            let citizens = Arc::new(prepare_citizens(args, &client, args.citizens, 0).await?);
            notes.push(format!("{} citizens, each submitting in turn", citizens.len()));
            let body = Arc::new(application(tomorrow_at(10)));
            let op: Op = Arc::new(move |i, _, _| {
                let (c, body) = (citizens[i as usize % citizens.len()].clone(), body.clone());
                Box::pin(async move { c.submit(&body, None).await.map(|_| ()).map_err(code) })
            });
            measure(
                args,
                &client,
                &["submit (202)"],
                op,
                mode,
                warmup,
                ceiling.as_ref(),
                &mut rounds,
            )
            .await
        }
        Scenario::Decide => decide(args, &client, mode, warmup, duration, &mut notes).await?,
        Scenario::LaunchDay => launch_day(args, &client, mode, warmup, duration, &mut notes).await?,
    };
    // The ceiling again, after the measurement: one disturbed by work the server had left
    // (a checkpoint, jobs of an earlier scenario) or by the host would flatter the ratio, so
    // the higher of the two is the ratio's base.
    let (rounds, last_ceiling) = match rounds {
        Some((rounds, last)) => (rounds, Some(last)),
        None => (Vec::new(), None),
    };
    let ceilings = match ceiling {
        Some(before) => {
            let after = match last_ceiling {
                Some(last) => last,
                None => ceiling_row(args, &client).await,
            };
            notes.push(format!(
                "ceiling measured before the load {:.0}/s and after it {:.0}/s; the ratios are to the higher",
                before.throughput, after.throughput
            ));
            Some((before, after))
        }
        None => None,
    };
    let mut summary = Summary::new(label, &phase, ceilings, slots);
    summary.rounds = rounds;
    summary.notes = notes;
    Ok(summary)
}

/// The measured load of `verify` and `submit`: one window of `--duration`, or with
/// `--rounds` N, N windows of a share of it each followed by the ceiling (the first one's is
/// `before`, measured already). The windows record into one recorder, so the summary's
/// percentiles are those of the whole load; `rounds` gets each window's rate with the
/// ceilings around it, and the last ceiling.
#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &BenchArgs,
    client: &Client,
    steps: &[&str],
    op: Op,
    mode: Mode,
    warmup: Duration,
    before: Option<&Row>,
    rounds: &mut Option<(Vec<Round>, Row)>,
) -> Phase {
    let label = args.scenario.name();
    let duration = Duration::from_secs_f64(args.duration);
    let slots = slots(args, mode);
    let rec = Recorder::new(steps);
    let probe = Some(client.clone());
    let Some(before) = before.filter(|_| args.rounds > 1) else {
        return phase(label, rec, op, mode, slots, warmup, duration, args.quiet, probe).await;
    };
    let window = duration / args.rounds as u32;
    let mut ceiling_before = before.throughput;
    let mut windows = Vec::with_capacity(args.rounds);
    let (mut elapsed, mut dropped, mut syncs) = (Duration::ZERO, 0, Some(Syncs::default()));
    let mut cpu_secs = Some(0.0);
    let mut last = None;
    for i in 0..args.rounds {
        let done = rec.steps[0].count_ok();
        let warm = if i == 0 { warmup } else { Duration::ZERO };
        let p = phase(
            label,
            rec.clone(),
            op.clone(),
            mode,
            slots,
            warm,
            window,
            args.quiet,
            probe.clone(),
        )
        .await;
        let after = ceiling_row(args, client).await;
        let secs = p.elapsed.as_secs_f64().max(1e-9);
        windows.push(Round {
            throughput: (rec.steps[0].count_ok() - done) as f64 / secs,
            ceiling_before,
            ceiling_after: after.throughput,
        });
        ceiling_before = after.throughput;
        elapsed += p.elapsed;
        dropped += p.dropped;
        syncs = syncs.zip(p.syncs).map(|(a, b)| a.plus(b));
        cpu_secs = cpu_secs.zip(p.cpu_secs).map(|(a, b)| a + b);
        last = Some(after);
    }
    if let Some(last) = last {
        *rounds = Some((windows, last));
    }
    Phase {
        recorder: rec,
        elapsed,
        dropped,
        mode,
        syncs,
        cpu_secs,
    }
}

/// Open loop at `--rate`, or at `--rate-of-ceiling` times the ceiling just measured (at
/// least one a second); closed loop without either.
fn mode(rate: Option<f64>, of_ceiling: Option<f64>, ceiling: Option<&Row>) -> Mode {
    match (rate, of_ceiling, ceiling) {
        (Some(rate), _, _) => Mode::Open { rate },
        (None, Some(f), Some(c)) => Mode::Open {
            rate: (f * c.throughput).max(1.0),
        },
        _ => Mode::Closed,
    }
}

/// Workers of a closed loop, or the most operations in flight of an open one.
fn slots(args: &BenchArgs, mode: Mode) -> usize {
    match mode {
        Mode::Open { .. } => args.in_flight.unwrap_or(args.concurrency),
        Mode::Closed => args.concurrency,
    }
}

/// `GET /healthz`, closed loop at the run's concurrency for `--ceiling-secs`: the ceiling
/// of server and generator, as the summary's row.
async fn ceiling_row(args: &BenchArgs, client: &Client) -> Row {
    let op: Op = {
        let client = client.clone();
        Arc::new(move |_, _, _| healthz(client.clone()))
    };
    let p = phase(
        "ceiling",
        Recorder::new(&["ceiling (healthz)"]),
        op,
        Mode::Closed,
        args.concurrency,
        Duration::from_secs_f64(args.warmup.clamp(0.0, 1.0)),
        Duration::from_secs_f64(args.ceiling_secs),
        args.quiet,
        None,
    )
    .await;
    let mut row = Row::of(&p.recorder.steps[0], p.elapsed.as_secs_f64());
    row.generator_us = p.cpu_us_per_op();
    row
}

fn healthz(client: Client) -> OpFuture {
    Box::pin(async move { client.healthz().await.map_err(code) })
}

/// The stable code of a failed call: the problem code, or the kind of transport failure.
fn code(e: ClientError) -> String {
    match e {
        ClientError::Api { status, problem } => format!("{} {}", status.as_u16(), problem.code),
        e if e.is_timeout() => "timeout".into(),
        e if e.is_connect() => "connect".into(),
        ClientError::Transport(_) | ClientError::Connection(_) => "transport".into(),
        ClientError::Unexpected(_) => "unexpected".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceiling(throughput: f64) -> Row {
        Row {
            name: "ceiling (healthz)".into(),
            ok: 1,
            errors: 0,
            error_codes: Default::default(),
            throughput,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            p999: 0.0,
            max: 0.0,
            generator_us: None,
        }
    }

    #[test]
    fn the_offered_rate_follows_the_ceiling_just_measured() {
        let c = ceiling(60_000.0);
        assert_eq!(mode(None, Some(0.25), Some(&c)), Mode::Open { rate: 15_000.0 });
        assert_eq!(mode(Some(500.0), None, Some(&c)), Mode::Open { rate: 500.0 });
        assert_eq!(mode(None, None, Some(&c)), Mode::Closed);
        // A server that answered nothing still gets load, at one a second.
        assert_eq!(mode(None, Some(0.25), Some(&ceiling(0.0))), Mode::Open { rate: 1.0 });
    }

    fn args(line: &[&str]) -> BenchArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("bench").chain(line.iter().copied()))
            .expect("arguments parse")
            .bench
    }

    #[test]
    fn an_open_loop_may_have_more_in_flight_than_the_ceiling_has_workers() {
        let open = Mode::Open { rate: 15_000.0 };
        let a = args(&["verify", "--concurrency", "256", "--in-flight", "1024"]);
        assert_eq!(slots(&a, open), 1024);
        assert_eq!(
            slots(&a, Mode::Closed),
            256,
            "a closed loop keeps --concurrency workers"
        );
        let a = args(&["verify", "--concurrency", "256"]);
        assert_eq!(slots(&a, open), 256, "by default as many as --concurrency");
    }
}
