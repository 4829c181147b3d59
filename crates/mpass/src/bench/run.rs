//! The load engine: open and closed loop, HDR histograms per step, a progress line.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mpass_client::Client;
use tokio::sync::Semaphore;

/// Latencies are recorded in microseconds, 1 µs to 5 minutes, 3 significant digits.
const MAX_MICROS: u64 = 300_000_000;

/// One measured step: its latencies and its errors by code.
pub struct Step {
    pub name: String,
    hist: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    ok: AtomicU64,
}

impl Step {
    fn new(name: &str) -> Step {
        Step {
            name: name.to_string(),
            hist: Mutex::new(Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")),
            errors: Mutex::new(BTreeMap::new()),
            ok: AtomicU64::new(0),
        }
    }

    pub fn ok(&self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        self.hist.lock().expect("histogram lock").saturating_record(micros);
        self.ok.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self, code: &str) {
        *self
            .errors
            .lock()
            .expect("errors lock")
            .entry(code.to_string())
            .or_default() += 1;
    }

    pub fn error_n(&self, code: &str, n: u64) {
        *self
            .errors
            .lock()
            .expect("errors lock")
            .entry(code.to_string())
            .or_default() += n;
    }

    pub fn count_ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    pub fn count_errors(&self) -> u64 {
        self.errors.lock().expect("errors lock").values().sum()
    }

    pub fn histogram(&self) -> Histogram<u64> {
        self.hist.lock().expect("histogram lock").clone()
    }

    pub fn error_codes(&self) -> BTreeMap<String, u64> {
        self.errors.lock().expect("errors lock").clone()
    }
}

/// The steps of one phase; the first is the operation as a whole.
pub struct Recorder {
    pub steps: Vec<Step>,
    /// False during warm-up: nothing is recorded.
    measuring: AtomicBool,
    /// When the measured window starts (set as the phase starts).
    measure_from: std::sync::OnceLock<Instant>,
}

impl Recorder {
    pub fn new(names: &[&str]) -> Arc<Recorder> {
        Arc::new(Recorder {
            steps: names.iter().map(|n| Step::new(n)).collect(),
            measuring: AtomicBool::new(false),
            measure_from: std::sync::OnceLock::new(),
        })
    }

    pub fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    /// Whether the operation due at `due` is in the measured window, as the open loop
    /// counts its operations: by their intended send time, not by when they end (the
    /// `measuring` flag flips on a timer, a moment off the window's start).
    pub fn measures(&self, due: Instant) -> bool {
        self.measure_from.get().is_some_and(|from| due >= *from)
    }

    /// Records step `i` as done in `latency`, while measuring.
    pub fn ok(&self, i: usize, latency: Duration) {
        if self.measuring() {
            self.steps[i].ok(latency);
        }
    }

    /// Records an error of step `i`, while measuring.
    pub fn error(&self, i: usize, code: &str) {
        if self.measuring() {
            self.steps[i].error(code);
        }
    }
}

/// What an operation answers: `Err(code)` for a failure.
pub type OpFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
/// The operation: called with its sequence number, its intended send time and the
/// recorder of its phase.
pub type Op = Arc<dyn Fn(u64, Instant, Arc<Recorder>) -> OpFuture + Send + Sync>;

/// How load is offered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Open { rate: f64 },
    Closed,
}

/// The result of one phase.
pub struct Phase {
    pub recorder: Arc<Recorder>,
    pub elapsed: Duration,
    /// Open loop: operations not sent because `concurrency` were already in flight.
    pub dropped: u64,
    pub mode: Mode,
    /// The server's WAL syncs over the measured window, where its `/metrics` has them.
    pub syncs: Option<Syncs>,
    /// This generator's own CPU time over the measured window (every thread, user and
    /// system), where the system tells it: it shares the machine with the server it
    /// measures, so its share is part of what a ratio means.
    pub cpu_secs: Option<f64>,
}

impl Phase {
    /// The generator's CPU per operation sent in the measured window, in microseconds.
    pub fn cpu_us_per_op(&self) -> Option<f64> {
        let step = self.recorder.steps.first()?;
        let sent = (step.count_ok() + step.count_errors()).saturating_sub(self.dropped);
        self.cpu_secs.filter(|_| sent > 0).map(|cpu| cpu * 1e6 / sent as f64)
    }
}

/// This process's CPU time so far (user and system, every thread), from `/proc/self/stat`;
/// `None` where there is no such file.
pub fn own_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command's name (in parentheses, which may hold spaces): the state is
    // field 3, utime field 14 and stime field 15, in clock ticks.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// The WAL syncs an embedded-store server made (`mpass_store_wal_sync_seconds` in its
/// `/metrics`): every acknowledged write waited for one, so a disk slow to flush shows
/// here when a run's latencies jump.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Syncs {
    pub count: u64,
    pub over_10ms: u64,
    pub over_100ms: u64,
    pub sum_secs: f64,
}

impl Syncs {
    /// The counts in a Prometheus text exposition; `None` without the histogram (a server
    /// on PostgreSQL, whose database server syncs).
    pub fn parse(metrics: &str) -> Option<Syncs> {
        const NAME: &str = "mpass_store_wal_sync_seconds";
        let (mut count, mut le_10ms, mut le_100ms, mut sum) = (None, None, None, None);
        for line in metrics.lines() {
            let Some(rest) = line.strip_prefix(NAME) else { continue };
            let Some((key, value)) = rest.rsplit_once(' ') else {
                continue;
            };
            match key {
                "_count" => count = value.parse::<u64>().ok(),
                "_sum" => sum = value.parse::<f64>().ok(),
                "_bucket{le=\"0.01\"}" => le_10ms = value.parse::<u64>().ok(),
                "_bucket{le=\"0.1\"}" => le_100ms = value.parse::<u64>().ok(),
                _ => {}
            }
        }
        let count = count?;
        Some(Syncs {
            count,
            over_10ms: count.saturating_sub(le_10ms?),
            over_100ms: count.saturating_sub(le_100ms?),
            sum_secs: sum?,
        })
    }

    /// Two windows' syncs together.
    pub fn plus(self, other: Syncs) -> Syncs {
        Syncs {
            count: self.count + other.count,
            over_10ms: self.over_10ms + other.over_10ms,
            over_100ms: self.over_100ms + other.over_100ms,
            sum_secs: self.sum_secs + other.sum_secs,
        }
    }

    /// What happened between `earlier` and this reading.
    pub fn since(self, earlier: Syncs) -> Syncs {
        Syncs {
            count: self.count.saturating_sub(earlier.count),
            over_10ms: self.over_10ms.saturating_sub(earlier.over_10ms),
            over_100ms: self.over_100ms.saturating_sub(earlier.over_100ms),
            sum_secs: (self.sum_secs - earlier.sum_secs).max(0.0),
        }
    }

    /// The server's reading now; `None` if it has none or does not answer.
    pub async fn read(client: &Client) -> Option<Syncs> {
        Syncs::parse(&client.metrics().await.ok()?)
    }
}

/// The shortest sleep of the open loop's pacer.
const PACER_TICK: Duration = Duration::from_micros(250);

/// The open loop's schedule: operation `i` is due at `began + i / rate` and is sent then,
/// whether or not earlier ones were answered, and timed from then.
///
/// It runs on a thread of its own, not on a tokio timer: tokio's timers tick once a
/// millisecond and round a deadline up to the next tick, so every operation due within a
/// millisecond was sent in one burst at its end, up to 1 ms late, and that lateness was
/// counted as the server's latency (at 12,000 checks a second the p50 read 2.2–2.5 ms
/// where the server's own log said 1.1 ms). The thread sleeps until the next due time, at
/// least [`PACER_TICK`] (a wake-up per operation cost the machine more than it saved),
/// then sends every operation due by then, each still timed from its own due time: what
/// the thread's wake-up adds (at most about 0.3 ms) is counted against the server.
struct Pacer {
    op: Op,
    rec: Arc<Recorder>,
    in_flight: Arc<Semaphore>,
    sent: Arc<AtomicU64>,
    runtime: tokio::runtime::Handle,
}

impl Pacer {
    /// Sends every operation due before `end`; answers how many were dropped in the
    /// measured window because every slot of `in_flight` was taken.
    fn run(self, rate: f64, began: Instant, end: Instant) -> u64 {
        let interval = 1.0 / rate;
        let mut dropped = 0;
        for i in 0u64.. {
            let due = began + Duration::from_secs_f64(i as f64 * interval);
            if due >= end {
                break;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep((due - now).max(PACER_TICK));
            }
            let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
                if self.rec.measures(due) {
                    dropped += 1;
                    self.rec.error(0, "dropped");
                }
                continue;
            };
            self.sent.fetch_add(1, Ordering::Relaxed);
            let (op, rec) = (self.op.clone(), self.rec.clone());
            self.runtime.spawn(async move {
                let measured = rec.measures(due);
                let result = op(i, due, rec.clone()).await;
                if measured {
                    match result {
                        Ok(()) => rec.steps[0].ok(due.elapsed()),
                        Err(code) => rec.steps[0].error(&code),
                    }
                }
                drop(permit);
            });
        }
        dropped
    }
}

/// Runs `op` for `warmup` unmeasured then `duration` measured; step 0 of `rec` is the
/// operation as a whole (from its intended send time in open loop).
#[allow(clippy::too_many_arguments)]
pub async fn phase(
    label: &str,
    rec: Arc<Recorder>,
    op: Op,
    mode: Mode,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    quiet: bool,
    probe: Option<Client>,
) -> Phase {
    let sent = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(Semaphore::new(concurrency));
    let stop_progress = Arc::new(AtomicBool::new(false));
    let progress = (!quiet).then(|| {
        let (rec, sent, in_flight, stop, label) = (
            rec.clone(),
            sent.clone(),
            in_flight.clone(),
            stop_progress.clone(),
            label.to_string(),
        );
        tokio::spawn(async move {
            let began = Instant::now();
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = rec.steps[0].count_ok();
                eprintln!(
                    "[{label}] {:>5.1} s{}  sent {:>8}  ok {:>8} ({:>7}/s)  errors {:>6}  in flight {:>4}",
                    began.elapsed().as_secs_f64(),
                    if rec.measuring() { "" } else { " (warm-up)" },
                    sent.load(Ordering::Relaxed),
                    done,
                    done.saturating_sub(last),
                    rec.steps[0].count_errors(),
                    concurrency - in_flight.available_permits(),
                );
                last = done;
            }
        })
    });

    // The server's syncs at the start of the measured window: read before the schedule
    // starts when there is no warm-up, so that the read delays no operation.
    let syncs_at_start = Arc::new(Mutex::new(None));
    if warmup.is_zero()
        && let Some(c) = &probe
    {
        *syncs_at_start.lock().expect("syncs lock") = Syncs::read(c).await;
    }
    // The generator's CPU at the start of the measured window.
    let cpu_at_start = Arc::new(Mutex::new(None));
    if warmup.is_zero() {
        *cpu_at_start.lock().expect("cpu lock") = own_cpu_secs();
    }
    let began = Instant::now();
    let measure_from = began + warmup;
    let end = measure_from + duration;
    let _ = rec.measure_from.set(measure_from);
    // Flip to measuring at the end of the warm-up, reading the server's syncs there.
    if warmup.is_zero() {
        rec.measuring.store(true, Ordering::Relaxed);
    } else {
        let (rec, probe, at_start) = (rec.clone(), probe.clone(), syncs_at_start.clone());
        let cpu_at_start = cpu_at_start.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            rec.measuring.store(true, Ordering::Relaxed);
            *cpu_at_start.lock().expect("cpu lock") = own_cpu_secs();
            if let Some(c) = &probe {
                let read = Syncs::read(c).await;
                *at_start.lock().expect("syncs lock") = read;
            }
        });
    }
    let mut measured_from = None;
    let mut dropped = 0;
    match mode {
        Mode::Open { rate } => {
            let pacer = Pacer {
                op: op.clone(),
                rec: rec.clone(),
                in_flight: in_flight.clone(),
                sent: sent.clone(),
                runtime: tokio::runtime::Handle::current(),
            };
            dropped = tokio::task::spawn_blocking(move || pacer.run(rate, began, end))
                .await
                .expect("the pacer thread");
            // Wait for the operations still in flight.
            let _all = in_flight.acquire_many(concurrency as u32).await;
            measured_from = Some(measure_from);
        }
        Mode::Closed => {
            let next = Arc::new(AtomicU64::new(0));
            let mut workers = Vec::new();
            for _ in 0..concurrency {
                let (op, rec, next, sent) = (op.clone(), rec.clone(), next.clone(), sent.clone());
                workers.push(tokio::spawn(async move {
                    while Instant::now() < end {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        sent.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        let result = op(i, t, rec.clone()).await;
                        if t >= measure_from && Instant::now() <= end {
                            match result {
                                Ok(()) => rec.steps[0].ok(t.elapsed()),
                                Err(code) => rec.steps[0].error(&code),
                            }
                        }
                    }
                }));
            }
            for w in workers {
                let _ = w.await;
            }
        }
    }
    let elapsed = match measured_from {
        // Open loop: the measured window is the schedule's, completions included.
        Some(from) => Instant::now().saturating_duration_since(from).max(duration),
        None => duration,
    };
    rec.measuring.store(false, Ordering::Relaxed);
    let cpu_at_start = *cpu_at_start.lock().expect("cpu lock");
    let cpu_secs = cpu_at_start
        .zip(own_cpu_secs())
        .map(|(start, end)| (end - start).max(0.0));
    let at_start = *syncs_at_start.lock().expect("syncs lock");
    let syncs = match (at_start, &probe) {
        (Some(start), Some(c)) => Syncs::read(c).await.map(|end| end.since(start)),
        _ => None,
    };
    stop_progress.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.await;
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

#[cfg(test)]
mod tests {
    use super::Syncs;

    const METRICS: &str = "# TYPE mpass_store_wal_sync_seconds histogram\n\
        mpass_store_wal_sync_seconds_bucket{le=\"0.005\"} 90\n\
        mpass_store_wal_sync_seconds_bucket{le=\"0.01\"} 95\n\
        mpass_store_wal_sync_seconds_bucket{le=\"0.1\"} 99\n\
        mpass_store_wal_sync_seconds_bucket{le=\"+Inf\"} 100\n\
        mpass_store_wal_sync_seconds_sum 0.5\n\
        mpass_store_wal_sync_seconds_count 100\n\
        mpass_jobs_processed_total 7\n";

    #[test]
    fn reads_the_sync_histogram_and_subtracts_an_earlier_reading() {
        let now = Syncs::parse(METRICS).expect("the histogram is there");
        assert_eq!((now.count, now.over_10ms, now.over_100ms), (100, 5, 1));
        let earlier = Syncs {
            count: 40,
            over_10ms: 2,
            over_100ms: 1,
            sum_secs: 0.2,
        };
        let d = now.since(earlier);
        assert_eq!((d.count, d.over_10ms, d.over_100ms), (60, 3, 0));
        assert!((d.sum_secs - 0.3).abs() < 1e-9);
    }

    #[test]
    fn the_generator_reads_its_own_cpu_time() {
        let before = super::own_cpu_secs().expect("/proc/self/stat on Linux");
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(60) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = super::own_cpu_secs().expect("a second reading");
        assert!(after >= before, "{before} then {after}");
        assert!(after - before >= 0.02, "60 ms of spinning: {before} then {after}");
    }

    #[test]
    fn a_server_without_the_histogram_has_no_reading() {
        assert_eq!(Syncs::parse("mpass_jobs_processed_total 7\n"), None);
    }
}
