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

// --- test users

/// The codes of the dev outbox, read by one poller for every login of the run, so that
/// logging in many users does not mean every one of them reading the outbox.
#[derive(Clone)]
struct CodeBook {
    codes: Arc<Mutex<HashMap<String, String>>>,
    changed: Arc<Notify>,
}

impl CodeBook {
    fn start(client: &Client) -> CodeBook {
        let book = CodeBook {
            codes: Arc::new(Mutex::new(HashMap::new())),
            changed: Arc::new(Notify::new()),
        };
        let (b, client) = (book.clone(), client.clone());
        let weak = Arc::downgrade(&book.codes);
        tokio::spawn(async move {
            // Stops when the last user of the book is gone.
            while weak.strong_count() > 1 {
                if let Ok(outbox) = client.dev_outbox_newest(500).await {
                    let mut codes = b.codes.lock().expect("codes lock");
                    // Newest first: keep the first code seen per phone.
                    let mut seen = std::collections::HashSet::new();
                    for m in outbox.messages {
                        let national = m.to.trim_start_matches("+88").to_string();
                        if !seen.insert(national.clone()) {
                            continue;
                        }
                        if let Some(c) = m.body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6) {
                            codes.insert(national, c.to_string());
                        }
                    }
                    drop(codes);
                    b.changed.notify_waiters();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        book
    }

    /// The code sent to `phone` (national form), waiting up to 30 s for it.
    async fn code(&self, phone: &str) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let notified = self.changed.notified();
            if let Some(c) = self.codes.lock().expect("codes lock").remove(phone) {
                return Ok(c);
            }
            if Instant::now() >= deadline {
                return Err("no_otp_in_outbox".into());
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
        }
    }
}

/// Logs `phone` in through the dev outbox: a client acting as that user.
async fn login(client: &Client, book: &CodeBook, phone: &str) -> Result<Client, String> {
    client.request_otp(phone).await.map_err(code)?;
    let c = book.code(phone).await?;
    let tokens = client.token(phone, &c).await.map_err(code)?;
    Ok(client.with_token(&tokens.access_token))
}

fn phone_base(args: &BenchArgs) -> u64 {
    args.phone_base.unwrap_or_else(|| {
        // A new block of numbers every second: runs against the same data do not meet the
        // per-phone OTP limit of an earlier run.
        (OffsetDateTime::now_utc().unix_timestamp() as u64 * 1000) % 100_000_000
    })
}

/// The `n`th phone of this run: `013` and 8 digits.
fn phone(base: u64, n: u64) -> String {
    format!("013{:08}", (base + n) % 100_000_000)
}

/// A valid adult profile whose document number is unique to the phone.
fn profile(phone: &str) -> ProfileBody {
    ProfileBody {
        name: "Rahima Akter".into(),
        date_of_birth: "1990-04-12".into(),
        gender: "F".into(),
        id_type: "NID".into(),
        id_number: format!("{phone:0>13}"),
        home_area: THANA_A.into(),
    }
}

fn dhaka() -> UtcOffset {
    UtcOffset::from_hms(6, 0, 0).expect("valid offset")
}

fn tomorrow_at(hour: u8) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let day = now.date().next_day().expect("a tomorrow");
    day.with_hms(hour, 0, 0).expect("valid time").assume_offset(dhaka())
}

/// A medical one-way trip of two hours (medical trips are allowed during curfew too).
fn application(start: OffsetDateTime) -> ApplicationBody {
    ApplicationBody {
        reason: "medical".into(),
        reason_note: None,
        from: PlaceBody {
            area: THANA_A.into(),
            address: "House 12, Road 4".into(),
        },
        to: PlaceBody {
            area: THANA_B.into(),
            address: "City Hospital".into(),
        },
        start: start
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats"),
        duration_hours: 2,
        trip: "one_way".into(),
        vehicle: None,
        companions: Vec::new(),
    }
}

/// Logs in `count` new citizens (phones `offset..offset+count` of this run) and saves
/// their profiles, 64 at a time, with a progress line.
async fn prepare_citizens(args: &BenchArgs, client: &Client, count: usize, offset: u64) -> anyhow::Result<Vec<Client>> {
    let base = phone_base(args);
    let book = CodeBook::start(client);
    let began = Instant::now();
    let mut out = Vec::with_capacity(count);
    let mut set = JoinSet::new();
    let mut next = 0u64;
    let mut failures = Vec::new();
    while out.len() + failures.len() < count {
        while set.len() < 64 && (next as usize) < count {
            let (client, book, p) = (client.clone(), book.clone(), phone(base, offset + next));
            next += 1;
            set.spawn(async move {
                let c = login(&client, &book, &p).await?;
                c.put_profile(&profile(&p)).await.map_err(code)?;
                Ok::<_, String>(c)
            });
        }
        match set.join_next().await {
            Some(Ok(Ok(c))) => out.push(c),
            Some(Ok(Err(e))) => failures.push(e),
            Some(Err(e)) => failures.push(e.to_string()),
            None => break,
        }
        let done = out.len() + failures.len();
        if !args.quiet && done % 500 == 0 {
            eprintln!(
                "[prepare] {done}/{count} citizens logged in, {:.1} s",
                began.elapsed().as_secs_f64()
            );
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {count} citizens could not log in (first: {}); is the server's \
             otp_per_ip_per_minute raised (MPASS_OTP_PER_IP_PER_MINUTE=1000000) and its SMS \
             provider `dev`?",
            failures.len(),
            failures[0]
        );
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {count} citizens ready in {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    Ok(out)
}

/// The police officer's client; fails with the command to run if the role is missing.
async fn police(args: &BenchArgs, client: &Client, book: &CodeBook, k: u64) -> anyhow::Result<Client> {
    let phone = match k {
        0 => args.police_phone.clone(),
        k => {
            let n: u64 = args.police_phone.parse().context("--police-phone is not a number")?;
            format!("0{}", n + k)
        }
    };
    let hint = format!("grant the role first: mpass admin grant {phone} police");
    let officer = match login(client, book, &phone).await {
        Ok(c) => c,
        Err(e) => bail!("the police officer {phone} could not log in: {e}"),
    };
    let me = officer.me().await.context("GET /api/v1/me of the police officer")?;
    if !me.roles.iter().any(|r| r == "police" || r == "police_supervisor") {
        bail!("{phone} is not police; {hint}");
    }
    Ok(officer)
}

/// `--wrk-script`: the verify scenario's officers and passes as a wrk script; request *i*
/// is officer *i* mod K checking pass *i* mod N, as in [`run`]. wrk counts answers other
/// than 2xx; it does not read the verdicts (the `verify` scenario requires green ones).
/// The max(K, N) distinct requests are formatted once per wrk thread (`init`), not once
/// per request: formatting each one in Lua cost wrk 6–8 µs more CPU per request, on the
/// machine it shares with the server.
pub async fn write_wrk_verify(args: &BenchArgs, path: &std::path::Path) -> anyhow::Result<()> {
    let client = Client::with_pool(&args.url, 80);
    let officers = prepare_officers(args, &client).await?;
    let passes = prepare_passes(args, &client).await?;
    let lua_list = |items: Vec<String>| {
        items
            .iter()
            .map(|s| serde_json::to_string(s).expect("strings serialise"))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let tokens = officers
        .iter()
        .map(|o| {
            o.access_token()
                .map(str::to_string)
                .context("an officer without a token")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let checkpoint = verify_position(args)?;
    let bodies = passes
        .iter()
        .map(|qr| {
            let body = VerifyBody {
                qr_text: Some(qr.clone()),
                checkpoint,
                ..VerifyBody::default()
            };
            serde_json::to_string(&body).expect("a verify body serialises")
        })
        .collect();
    let script = format!(
        "-- Written by `mpass bench verify --wrk-script`: {} officers, {} passes.\n\
         local tokens = {{\n{}\n}}\nlocal bodies = {{\n{}\n}}\nlocal requests = {{}}\nlocal n = 0\n\
         init = function(args)\n  for i = 0, math.max(#tokens, #bodies) - 1 do\n    \
         local headers = {{ [\"content-type\"] = \"application/json\", \
         [\"authorization\"] = \"Bearer \" .. tokens[(i % #tokens) + 1] }}\n    \
         -- Headers given to wrk with -H (e.g. a browser's Accept-Encoding) are added.\n    \
         for k, v in pairs(wrk.headers) do headers[k] = v end\n    \
         requests[i + 1] = wrk.format(\"POST\", nil, headers, bodies[(i % #bodies) + 1])\n  end\nend\n\
         request = function()\n  n = n + 1\n  return requests[(n % #requests) + 1]\nend\n",
        tokens.len(),
        passes.len(),
        lua_list(tokens),
        lua_list(bodies),
    );
    std::fs::write(path, script).with_context(|| format!("writing {}", path.display()))?;
    if !args.quiet {
        eprintln!("[prepare] wrk script written to {}", path.display());
    }
    Ok(())
}

/// Logs in the `--officers` police officers, 64 at a time.
async fn prepare_officers(args: &BenchArgs, client: &Client) -> anyhow::Result<Vec<Client>> {
    let book = CodeBook::start(client);
    let began = Instant::now();
    let count = args.officers.max(1);
    let mut officers = Vec::with_capacity(count as usize);
    let mut set = JoinSet::new();
    let mut next = 0;
    while (officers.len() as u64) < count {
        while set.len() < 64 && next < count {
            let (args, client, book, k) = (args.clone(), client.clone(), book.clone(), next);
            next += 1;
            set.spawn(async move { police(&args, &client, &book, k).await });
        }
        match set.join_next().await {
            Some(joined) => officers.push(joined??),
            None => break,
        }
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {count} police officers logged in, {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    Ok(officers)
}

/// `--position`: where the verify scenario's checks are made, the centre of the trips'
/// origin thana (on the route, and the same place each time, so the verdict stays green).
fn verify_position(args: &BenchArgs) -> anyhow::Result<Option<PositionBody>> {
    if !args.position {
        return Ok(None);
    }
    let area = mpass_domain::geo::areas()
        .get(THANA_A)
        .with_context(|| format!("thana {THANA_A} is not in the area list"))?;
    Ok(Some(PositionBody {
        lat: area.lat,
        lon: area.lon,
    }))
}

/// `args.passes` approved passes valid now, one per new citizen: their QR texts.
async fn prepare_passes(args: &BenchArgs, client: &Client) -> anyhow::Result<Arc<Vec<String>>> {
    let citizens = prepare_citizens(args, client, args.passes, 0).await?;
    let began = Instant::now();
    // Valid now: a medical trip that started a minute ago.
    let body = Arc::new(application(
        OffsetDateTime::now_utc().to_offset(dhaka()) - time::Duration::minutes(1),
    ));
    let mut set = JoinSet::new();
    let mut passes = Vec::with_capacity(citizens.len());
    let mut failures = Vec::new();
    let mut it = citizens.into_iter();
    loop {
        while set.len() < 64 {
            let Some(c) = it.next() else { break };
            let body = body.clone();
            set.spawn(async move {
                let app = c.submit(&body, None).await.map_err(code)?;
                let app = c.wait_decided(&app.id, Duration::from_secs(120)).await.map_err(code)?;
                let Some(pass_id) = app.pass_id else {
                    return Err(format!("application {} is {}, not approved", app.id, app.status));
                };
                Ok(c.pass(&pass_id).await.map_err(code)?.qr_text)
            });
        }
        match set.join_next().await {
            Some(Ok(Ok(qr))) => passes.push(qr),
            Some(Ok(Err(e))) => failures.push(e),
            Some(Err(e)) => failures.push(e.to_string()),
            None => break,
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} passes could not be prepared (first: {})",
            failures.len(),
            failures[0]
        );
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {} approved passes ready in {:.1} s",
            passes.len(),
            began.elapsed().as_secs_f64()
        );
    }
    Ok(Arc::new(passes))
}

// --- decide

/// Applications of one citizen in a `decide` run: each in its own 3-hour slot, so that none
/// overlaps another and none meets the daily limit of the default policy (5 a day).
const DECIDE_SLOTS: u64 = 5;

/// Submissions at the offered rate (step `submit`); after each accepted one, a poller of
/// `GET /api/v1/applications/{id}` (after 50 ms, then at doubling intervals up to
/// `--poll-ms`) records the time from the submission's intended send to the first answer
/// that is no longer `submitted` (step `decision`, and the outcome's own step). The
/// resolution is the last interval: at most `--poll-ms`.
async fn decide(
    args: &BenchArgs,
    client: &Client,
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Phase> {
    let citizens = Arc::new(prepare_citizens(args, client, args.citizens, 0).await?);
    let rec = Recorder::new(&[
        "submit (202)",
        "status poll",
        "decision (any)",
        "decision: approved",
        "decision: other",
    ]);
    let pollers = Arc::new(Mutex::new(JoinSet::new()));
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let op: Op = {
        let (citizens, pollers) = (citizens.clone(), pollers.clone());
        Arc::new(move |i, due, rec| {
            let n = citizens.len() as u64;
            let c = citizens[(i % n) as usize].clone();
            // The citizen's next slot: tomorrow 06:00, 09:00, ... (medical trips of 2 hours).
            let slot = (i / n) % DECIDE_SLOTS;
            let body = application(tomorrow_at(6) + time::Duration::hours(3 * slot as i64));
            let pollers = pollers.clone();
            Box::pin(async move {
                // Measured as its submission is (by when it was due): every counted
                // submission has its decision counted, and no other.
                let measured = rec.measures(due);
                let app = c.submit(&body, None).await.map_err(code)?;
                pollers
                    .lock()
                    .expect("pollers lock")
                    .spawn(await_decision(c, app.id, due, measured, rec, poll));
                Ok(())
            })
        })
    };
    let phase = phase(
        "decide",
        rec,
        op,
        mode,
        slots(args, mode),
        warmup,
        duration,
        args.quiet,
        Some(client.clone()),
    )
    .await;
    // The measured window is over; the decisions of measured submissions are still recorded
    // until every one is seen (each poller gives up 60 s after its submission was due).
    let mut set = std::mem::take(&mut *pollers.lock().expect("pollers lock"));
    while set.join_next().await.is_some() {}
    notes.push(format!(
        "{} citizens, each application in its own slot ({} per citizen before they repeat); decision latency = first status poll that sees the application decided − its intended send time (polls after 50 ms, doubling up to {} ms)",
        citizens.len(),
        DECIDE_SLOTS,
        args.poll_ms
    ));
    Ok(phase)
}

/// Polls one application until it leaves `submitted`; records the decision latency from
/// `due` when `measured`.
async fn await_decision(c: Client, id: String, due: Instant, measured: bool, rec: Arc<Recorder>, poll: Duration) {
    let give_up = due + Duration::from_secs(60);
    // 50 ms, then doubling up to `poll`: fine resolution for quick decisions without
    // flooding the server with polls when they take longer.
    let mut wait = poll.min(Duration::from_millis(50));
    loop {
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(poll);
        let t = Instant::now();
        let answer = c.application(&id).await;
        let seen = Instant::now();
        if !measured {
            if answer.as_ref().is_ok_and(|a| a.status != "submitted") || seen > give_up {
                return;
            }
            continue;
        }
        match answer {
            Ok(app) => {
                rec.steps[1].ok(seen - t);
                if app.status != "submitted" {
                    rec.steps[2].ok(seen - due);
                    rec.steps[if app.status == "approved" { 3 } else { 4 }].ok(seen - due);
                    return;
                }
            }
            Err(e) => rec.steps[1].error(&code(e)),
        }
        if seen > give_up {
            rec.steps[2].error("undecided_after_60s");
            return;
        }
    }
}

// --- launch day

/// One new user's day, as the steps of one operation.
async fn launch_day(
    args: &BenchArgs,
    client: &Client,
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Phase> {
    let book = CodeBook::start(client);
    let officers = Arc::new(prepare_officers(args, client).await?);
    let base = phone_base(args);
    let poll = Duration::from_millis(args.poll_ms.max(1).max(250));
    let op: Op = {
        let client = client.clone();
        Arc::new(move |i, _, rec| {
            let police = officers[i as usize % officers.len()].clone();
            let (client, book, p) = (client.clone(), book.clone(), phone(base, i));
            Box::pin(async move { one_user(&client, &book, &police, &p, &rec, poll).await })
        })
    };
    let phase = phase(
        "launch-day",
        Recorder::new(&[
            "user (whole day)",
            "otp request",
            "otp via dev outbox",
            "token",
            "profile",
            "apply (202)",
            "status poll",
            "pass",
            "qr.svg",
            "police verify",
        ]),
        op,
        mode,
        slots(args, mode),
        warmup,
        duration,
        args.quiet,
        Some(client.clone()),
    )
    .await;
    notes.push(format!(
        "each user: OTP, login, profile, apply, poll status every {} ms until decided, pass, QR, \
         one police verification; `otp via dev outbox` is the bench's own wait for the code",
        poll.as_millis()
    ));
    Ok(phase)
}

async fn one_user(
    client: &Client,
    book: &CodeBook,
    police: &Client,
    phone: &str,
    rec: &Recorder,
    poll: Duration,
) -> Result<(), String> {
    // Each step: time it, record it, stop the user's day at its first failure.
    macro_rules! step {
        ($i:expr, $call:expr) => {{
            let t = Instant::now();
            match $call.await {
                Ok(v) => {
                    rec.ok($i, t.elapsed());
                    v
                }
                Err(e) => {
                    let e: String = e;
                    rec.error($i, &e);
                    return Err(e);
                }
            }
        }};
    }
    step!(1, async { client.request_otp(phone).await.map_err(code) });
    let otp = step!(2, book.code(phone));
    let tokens = step!(3, async { client.token(phone, &otp).await.map_err(code) });
    let me = client.with_token(&tokens.access_token);
    step!(4, async { me.put_profile(&profile(phone)).await.map_err(code) });
    let app = step!(5, async {
        me.submit(&application(tomorrow_at(10)), None).await.map_err(code)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let decided = loop {
        tokio::time::sleep(poll).await;
        let a = step!(6, async { me.application(&app.id).await.map_err(code) });
        if a.status != "submitted" {
            break a;
        }
        if Instant::now() > deadline {
            rec.error(6, "undecided_after_60s");
            return Err("undecided_after_60s".into());
        }
    };
    let Some(pass_id) = decided.pass_id else {
        return Err(format!("not_approved_{}", decided.status));
    };
    let pass = step!(7, async { me.pass(&pass_id).await.map_err(code) });
    step!(8, async { me.pass_qr(&pass_id, "svg").await.map_err(code) });
    let body = VerifyBody {
        qr_text: Some(pass.qr_text),
        ..VerifyBody::default()
    };
    // The pass starts tomorrow: online verification answers it is not valid yet.
    step!(9, async { police.verify(&body).await.map_err(code) });
    Ok(())
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
