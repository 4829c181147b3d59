//! `mpass demo`: fills a data directory with a synthetic day of the emergency (SPEC §9), so
//! the dashboard can be seen working at scale, then rebuilds the statistics counters.
//!
//! Applications go straight into the store through its bulk path (big transactions, no
//! decision jobs, no SMS), with the shape of a real day: districts weighted by population
//! (Dhaka and Chattogram most), reasons in typical proportions, submissions following the
//! hours of the day, decisions a fraction of a second to a few seconds after submission,
//! a review queue partly worked through, some cancellations and revocations; police
//! checkpoints in every district and the scans of the day's passes at them (`demo/scans.rs`).
//!
//! Honest limits: the applicants have no profiles, and the passes of approved applications
//! are records with real ids and short codes but an unsigned placeholder credential
//! (`MP1:DEMO-...`, kid `demo`): they make the statistics and pages real, not the QR codes.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use mpass_domain::application::{Application, ApplicationDetails, Place, Status, Trip};
use mpass_domain::geo::areas;
use mpass_domain::ids::{ApplicationId, PassId, UserId};
use mpass_domain::pass::short_code_of_bits;
use mpass_domain::phone::Phone;
use mpass_domain::policy::{Decision, Outcome, RuleHit};
use mpass_domain::ports::{PassRecord, Store};
use mpass_domain::scan::Scan;
use mpass_domain::stats::scans::{ScanDim, ScanQuery, result_str};
use mpass_domain::stats::{BulkApplication, CountQuery, Dim};
use time::{Duration, OffsetDateTime};

use crate::config::Settings;

mod scans;

/// Applications per bulk transaction.
const BATCH: usize = 5_000;

/// Reason codes and their share of applications (per mille).
const REASONS: [(&str, u32); 8] = [
    ("medical", 250),
    ("essential_work", 220),
    ("groceries", 180),
    ("goods_transport", 100),
    ("emergency", 80),
    ("agriculture", 70),
    ("funeral", 40),
    ("other", 60),
];

/// Relative submissions per hour of the (Dhaka) day: quiet at night, peaks in the morning
/// and late afternoon.
const HOURLY: [u32; 24] = [
    2, 1, 1, 1, 2, 5, 12, 22, 30, 32, 28, 24, 20, 18, 20, 24, 27, 25, 18, 12, 8, 6, 4, 3,
];

/// Districts with more people get more applications (weights on top of 1 each).
const BIG: [(&str, u32); 10] = [
    ("Dhaka", 30),
    ("Chattogram", 12),
    ("Gazipur", 6),
    ("Narayanganj", 5),
    ("Cumilla", 4),
    ("Sylhet", 3),
    ("Rajshahi", 3),
    ("Khulna", 3),
    ("Mymensingh", 3),
    ("Bogura", 2),
];

/// A small deterministic generator (xorshift64*): the demo needs spread, not secrecy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for (item, w) in items {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }
}

/// Options of `mpass demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// How many applications to create.
    #[arg(long, default_value_t = 200_000)]
    pub applications: u32,
    /// Seed of the generator (the same seed gives the same day).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub async fn run(settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    let existing = store.stats_counts(&CountQuery::default()).await?;
    if existing.first().is_some_and(|r| r.n > 0) {
        anyhow::bail!("the data directory already holds applications: run mpass demo on a fresh one");
    }
    let now = OffsetDateTime::now_utc();
    let report = fill(store.as_ref(), &args, now).await?;
    eprintln!(
        "demo: {} applications and {} scans at {} checkpoints in {:.1} s ({:.0} applications/s); counters rebuilt in {:.1} s",
        report.applications,
        report.scans,
        report.checkpoints,
        report.insert_secs,
        f64::from(report.applications) / report.insert_secs.max(0.001),
        report.rebuild_secs
    );
    // How fast the dashboard's headline question answers at this size.
    let t = Instant::now();
    let q = CountQuery {
        from_hour: Some(mpass_domain::stats::hour_of(now) - 24),
        to_hour: Some(mpass_domain::stats::hour_of(now) + 1),
        group: vec![Dim::Status],
        ..CountQuery::default()
    };
    let rows = store.stats_counts(&q).await?;
    let summary_ms = t.elapsed().as_secs_f64() * 1000.0;
    for r in &rows {
        if let Some(s) = r.status {
            eprintln!("  {:<15} {:>9}", s.as_str(), r.n);
        }
    }
    eprintln!("summary by status over the last 24 h answered in {summary_ms:.1} ms");
    let t = Instant::now();
    let scans = store
        .stats_scans(&ScanQuery {
            from_hour: q.from_hour,
            to_hour: q.to_hour,
            group: vec![ScanDim::Result],
            ..ScanQuery::default()
        })
        .await?;
    let scans_ms = t.elapsed().as_secs_f64() * 1000.0;
    for r in &scans {
        if let Some(c) = r.result {
            eprintln!("  scans {:<9} {:>9}", result_str(c), r.n);
        }
    }
    eprintln!("scans by result over the last 24 h answered in {scans_ms:.1} ms");
    Ok(())
}

/// What `fill` stored, and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct DemoReport {
    pub applications: u32,
    pub scans: u64,
    pub checkpoints: usize,
    /// Seconds to create the checkpoints and insert applications and scans.
    pub insert_secs: f64,
    /// Seconds to rebuild the counters.
    pub rebuild_secs: f64,
}

/// Generates and stores the day, then rebuilds the counters.
pub async fn fill(store: &dyn Store, args: &DemoArgs, now: OffsetDateTime) -> anyhow::Result<DemoReport> {
    let mut rng = Rng(args.seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let districts: Vec<(&str, u32)> = areas()
        .districts()
        .map(|d| {
            let extra = BIG.iter().find(|(n, _)| d.name_en == *n).map_or(0, |(_, w)| *w);
            (d.code.as_str(), 1 + extra)
        })
        .collect();
    let day = Day::new(now - Duration::hours(24), args.applications);
    // Short codes are numbered from a random start: 40 random bits per pass would collide
    // (about 45 pairs among 10 million), and a run must not fail on one.
    let mut start = [0u8; 8];
    getrandom::fill(&mut start).map_err(|e| anyhow::anyhow!("operating system random source: {e}"))?;
    let codes = u64::from_le_bytes(start);
    let started = Instant::now();
    let police = scans::Police::create(store, &mut rng, &districts, now).await?;
    let mut done = 0u32;
    let mut scanned = 0u64;
    let mut generate = |from: u32| {
        let n = (args.applications - from).min(BATCH as u32);
        let batch: Vec<BulkApplication> = (0..n)
            .map(|i| synthetic(&mut rng, from + i, codes, &districts, &day, now))
            .collect();
        let scans: Vec<Scan> = batch.iter().flat_map(|b| police.scans_of(&mut rng, b, now)).collect();
        (batch, scans)
    };
    let mut progress = Progress::new();
    let mut next = (args.applications > 0).then(|| generate(0));
    while let Some((batch, scans)) = next.take() {
        let n = batch.len() as u32;
        scanned += scans.len() as u64;
        // The writer thread stores this batch while this thread generates the next one.
        let store_batch = async {
            store.bulk_insert_applications(batch).await?;
            store.bulk_insert_scans(scans).await
        };
        let following = done + n;
        let generate_next = async { (following < args.applications).then(|| generate(following)) };
        let (stored, generated) = tokio::join!(store_batch, generate_next);
        stored?;
        next = generated;
        done = following;
        if !args.quiet {
            progress.show(done, args.applications, started.elapsed().as_secs_f64());
        }
    }
    if !args.quiet {
        progress.finish();
    }
    let insert_secs = started.elapsed().as_secs_f64();
    let t = Instant::now();
    store.stats_rebuild().await?;
    Ok(DemoReport {
        applications: done,
        scans: scanned,
        checkpoints: police.checkpoints(),
        insert_secs,
        rebuild_secs: t.elapsed().as_secs_f64(),
    })
}

/// The loading progress on stderr: one line redrawn in place on a terminal; elsewhere (a
/// log file, CI) a line for each tenth of the way, not one per batch.
struct Progress {
    terminal: bool,
    tenths_shown: u64,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            tenths_shown: 0,
        }
    }

    /// Whether `done` of `total` is worth a line: always on a terminal, else only when
    /// another tenth is complete.
    fn due(&mut self, done: u32, total: u32) -> bool {
        if self.terminal {
            return true;
        }
        let tenths = u64::from(done) * 10 / u64::from(total.max(1));
        if tenths <= self.tenths_shown {
            return false;
        }
        self.tenths_shown = tenths;
        true
    }

    fn show(&mut self, done: u32, total: u32, secs: f64) {
        if !self.due(done, total) {
            return;
        }
        let total = total.max(1);
        let width = 30usize;
        let filled = (done as usize * width) / total as usize;
        let (start, end) = if self.terminal { ("\r", "") } else { ("", "\n") };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "{start}demo: [{}{}] {done}/{total} ({:.0}%) {secs:.1} s{end}",
            "#".repeat(filled),
            " ".repeat(width - filled),
            f64::from(done) * 100.0 / f64::from(total)
        );
        let _ = err.flush();
    }

    /// Ends the line redrawn in place.
    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

fn hit(code: &str, outcome: Outcome) -> RuleHit {
    RuleHit {
        code: code.into(),
        outcome,
        message_en: format!("Synthetic decision ({code})."),
        message_bn: format!("কৃত্রিম সিদ্ধান্ত ({code})।"),
    }
}

/// The day's submission times, handed out in time order: application `i` of `n` falls at
/// quantile `(i + u) / n` of the hourly profile (`u` random in [0, 1)). The spread is that
/// of drawing each hour by its weight, but times, and the time-ordered ids made from
/// them, only grow, so the bulk inserts append to the indexes instead of scattering over
/// them (at 2 million applications the scattered inserts made the load 3× slower).
struct Day {
    start: OffsetDateTime,
    /// Weights of the 24 hours from `start` on, in order.
    weights: [f64; 24],
    total: f64,
    n: u32,
}

impl Day {
    fn new(start: OffsetDateTime, n: u32) -> Day {
        // The profile is by hour of the day in Bangladesh time (UTC+6).
        let first = (usize::from(start.hour()) + 6) % 24;
        let weights: [f64; 24] = std::array::from_fn(|k| f64::from(HOURLY[(first + k) % 24]));
        Day {
            start,
            total: weights.iter().sum(),
            weights,
            n: n.max(1),
        }
    }

    /// When application `i` was submitted, `u` in [0, 1) placing it within its share.
    fn at(&self, i: u32, u: f64) -> OffsetDateTime {
        let mut x = ((f64::from(i) + u) / f64::from(self.n)).clamp(0.0, 1.0) * self.total;
        for (k, w) in self.weights.iter().enumerate() {
            if x < *w || k == 23 {
                let secs = (x / w).clamp(0.0, 1.0) * 3600.0;
                return self.start + Duration::hours(k as i64) + Duration::seconds_f64(secs);
            }
            x -= w;
        }
        self.start
    }
}

/// Application `i` of the run; its pass, if any, has short code number `codes + i`.
fn synthetic(
    rng: &mut Rng,
    i: u32,
    codes: u64,
    districts: &[(&str, u32)],
    day: &Day,
    now: OffsetDateTime,
) -> BulkApplication {
    let district = rng.weighted(districts);
    let thanas: Vec<&str> = areas().thanas_of(district).map(|a| a.code.as_str()).collect();
    let from = thanas[rng.below(thanas.len() as u32) as usize];
    let to = thanas[rng.below(thanas.len() as u32) as usize];
    let reason = rng.weighted(&REASONS);
    let submitted = day
        .at(i, f64::from(rng.below(1_000_000)) / 1e6)
        .min(now - Duration::seconds(1))
        .replace_nanosecond(0)
        .unwrap_or(now);
    let start = submitted + Duration::hours(1 + i64::from(rng.below(12)));
    let place = |area: &str| {
        let a = areas().get(area);
        Place {
            area: area.to_string(),
            address: "Synthetic address".into(),
            lat: a.map(|a| a.lat),
            lon: a.map(|a| a.lon),
        }
    };
    let details = ApplicationDetails {
        reason: reason.to_string(),
        reason_note: None,
        from: place(from),
        to: place(to),
        start,
        duration_hours: (2 + rng.below(10)) as u8,
        trip: if rng.chance(600) { Trip::RoundTrip } else { Trip::OneWay },
        vehicle: None,
        companions: vec![],
        legacy: None,
    };
    let id = ApplicationId::new_at(submitted);
    let user_id = UserId::new();
    let phone = Phone::parse(&format!("017{:08}", 10_000_000 + i)).expect("synthetic phone is valid");

    // The policy's first decision: a fraction of a second, sometimes seconds, later;
    // applications of the last few seconds are still waiting.
    let latency_ms = match rng.below(1000) {
        0..700 => 20 + i64::from(rng.below(200)),
        700..950 => 200 + i64::from(rng.below(800)),
        950..995 => 1_000 + i64::from(rng.below(4_000)),
        _ => 5_000 + i64::from(rng.below(60_000)),
    };
    let decided_at = submitted + Duration::milliseconds(latency_ms);
    let mut app = Application {
        id,
        user_id,
        status: Status::Submitted,
        details,
        submitted_at: submitted,
        updated_at: submitted,
        decision: None,
        pass_id: None,
    };
    if decided_at >= now {
        return BulkApplication {
            app,
            phone,
            decided_at: None,
            review_district: None,
            pass: None,
        };
    }
    let (outcome, code) = if reason == "other" || rng.chance(60) {
        (Outcome::Review, "reason_needs_review")
    } else if rng.chance(50) {
        (Outcome::Reject, "curfew")
    } else {
        (Outcome::Approve, "approved")
    };
    let decision = Decision {
        outcome,
        reasons: vec![hit(code, outcome)],
        policy_version: "demo".into(),
    };
    app.decision = Some(decision);
    app.updated_at = decided_at;
    app.status = match outcome {
        Outcome::Approve => Status::Approved,
        Outcome::Reject => Status::Rejected,
        Outcome::Review => Status::InReview,
    };
    let mut review_district = None;
    if app.status == Status::InReview {
        review_district = Some(district.to_string());
        // Reviewers have worked through most of what came in more than two hours ago.
        let age = now - submitted;
        if age > Duration::hours(2) && rng.chance(800) {
            let approve = rng.chance(700);
            app.status = if approve { Status::Approved } else { Status::Rejected };
            let o = if approve { Outcome::Approve } else { Outcome::Reject };
            app.decision = Some(Decision {
                outcome: o,
                reasons: vec![hit("reviewed", o)],
                policy_version: "demo".into(),
            });
            app.updated_at = submitted + Duration::minutes(30 + i64::from(rng.below(90)));
        } else if rng.chance(80) {
            app.status = Status::InfoRequested;
        }
    }
    let mut pass = None;
    if app.status == Status::Approved {
        let pid = PassId::new();
        let code = short_code_of_bits(codes.wrapping_add(u64::from(i)));
        pass = Some(PassRecord {
            id: pid,
            application_id: id,
            user_id,
            qr_text: format!("MP1:DEMO-{}", pid.0.simple()),
            short_code: code,
            kid: "demo".into(),
            valid_from: app.details.start,
            valid_until: app.details.end(),
            issued_at: app.updated_at,
        });
        app.pass_id = Some(pid);
        if rng.chance(20) {
            app.status = Status::Cancelled;
        } else if rng.chance(3) {
            app.status = Status::Revoked;
        }
    } else if app.status == Status::Submitted || (app.status == Status::InReview && rng.chance(10)) {
        app.status = Status::Cancelled;
    }
    BulkApplication {
        app,
        phone,
        decided_at: Some(decided_at),
        review_district,
        pass,
    }
}

#[cfg(test)]
mod tests;
