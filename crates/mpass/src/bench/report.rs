//! The summary: one row per measured step, each figure also as a ratio to the ceiling
//! measured in the same run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::run::{Mode, Phase, Step, Syncs};

/// One measured step.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub ok: u64,
    pub errors: u64,
    pub error_codes: BTreeMap<String, u64>,
    /// Successful operations per second over the measured window.
    pub throughput: f64,
    /// Milliseconds.
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// The generator's own CPU per operation over the window, in microseconds (the first
    /// step of a phase only; `None` where the system does not tell it).
    pub generator_us: Option<f64>,
}

impl Row {
    pub fn of(step: &Step, seconds: f64) -> Row {
        let h = step.histogram();
        let ms = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        };
        Row {
            name: step.name.clone(),
            ok: step.count_ok(),
            errors: step.count_errors(),
            error_codes: step.error_codes(),
            throughput: step.count_ok() as f64 / seconds.max(1e-9),
            p50: ms(0.50),
            p90: ms(0.90),
            p99: ms(0.99),
            p999: ms(0.999),
            max: if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 },
            generator_us: None,
        }
    }

    fn to_json(&self, ceiling: Option<&Row>) -> serde_json::Value {
        let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
        json!({
            "name": self.name,
            "ok": self.ok,
            "errors": self.errors,
            "error_codes": self.error_codes,
            "throughput_per_s": self.throughput,
            "p50_ms": self.p50,
            "p90_ms": self.p90,
            "p99_ms": self.p99,
            "p999_ms": self.p999,
            "max_ms": self.max,
            "generator_cpu_us_per_op": self.generator_us,
            "ratio_to_ceiling": ceiling.map(|c| json!({
                "throughput": ratio(self.throughput, c.throughput),
                "p50": ratio(self.p50, c.p50),
                "p90": ratio(self.p90, c.p90),
                "p99": ratio(self.p99, c.p99),
                "p999": ratio(self.p999, c.p999),
            })),
        })
    }
}

/// One window of a run in rounds (`--rounds`): its rate and the ceilings measured just
/// before and just after it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Round {
    pub throughput: f64,
    pub ceiling_before: f64,
    pub ceiling_after: f64,
}

impl Round {
    /// The window's rate to the higher of the ceilings around it.
    pub fn ratio(&self) -> Option<f64> {
        let base = self.ceiling_before.max(self.ceiling_after);
        (base > 0.0).then(|| self.throughput / base)
    }
}

/// The median of the rounds' ratios; `None` without rounds (or without a ceiling).
pub fn median_ratio(rounds: &[Round]) -> Option<f64> {
    let mut ratios: Vec<f64> = rounds.iter().filter_map(Round::ratio).collect();
    if ratios.is_empty() || ratios.len() != rounds.len() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    Some(if ratios.len() % 2 == 1 {
        ratios[mid]
    } else {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    })
}

/// The whole run.
#[derive(Clone, Debug)]
pub struct Summary {
    pub scenario: String,
    /// `open` or `closed`.
    pub mode: String,
    pub rate: Option<f64>,
    pub concurrency: usize,
    pub seconds: f64,
    /// `GET /healthz`, closed loop, same concurrency, same run: the higher of the
    /// measurements before and after the load, the base of every ratio.
    pub ceiling: Option<Row>,
    /// The ceiling's throughput before and after the load.
    pub ceilings_per_s: Option<(f64, f64)>,
    pub rows: Vec<Row>,
    /// Open loop: operations not sent because all slots were busy.
    pub dropped: u64,
    /// The server's WAL syncs over the measured window (embedded store only).
    pub syncs: Option<Syncs>,
    /// `--rounds` above 1: each window with the ceilings around it.
    pub rounds: Vec<Round>,
    /// CPUs the generator kept busy on average over the measured window.
    pub generator_cpus: Option<f64>,
    pub notes: Vec<String>,
}

impl Summary {
    /// `ceilings`: the ceiling measured before and after the load, if it was.
    pub fn new(scenario: &str, phase: &Phase, ceilings: Option<(Row, Row)>, concurrency: usize) -> Summary {
        let seconds = phase.elapsed.as_secs_f64();
        let (mode, rate) = match phase.mode {
            Mode::Open { rate } => ("open", Some(rate)),
            Mode::Closed => ("closed", None),
        };
        let ceilings_per_s = ceilings.as_ref().map(|(b, a)| (b.throughput, a.throughput));
        let ceiling = ceilings.map(|(before, after)| {
            if after.throughput > before.throughput {
                after
            } else {
                before
            }
        });
        let mut rows: Vec<Row> = phase.recorder.steps.iter().map(|s| Row::of(s, seconds)).collect();
        if let Some(first) = rows.first_mut() {
            first.generator_us = phase.cpu_us_per_op();
        }
        Summary {
            scenario: scenario.to_string(),
            mode: mode.to_string(),
            rate,
            concurrency,
            seconds,
            ceiling,
            ceilings_per_s,
            rows,
            dropped: phase.dropped,
            syncs: phase.syncs,
            rounds: Vec::new(),
            generator_cpus: phase.cpu_secs.filter(|_| seconds > 0.0).map(|c| c / seconds),
            notes: Vec::new(),
        }
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mode = match self.rate {
            Some(r) => format!("open loop at {r}/s, at most {} in flight", self.concurrency),
            None => format!("closed loop, {} workers", self.concurrency),
        };
        let _ = writeln!(
            out,
            "\nscenario {}: {mode}, {:.1} s measured",
            self.scenario, self.seconds
        );
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "step", "ok", "errors", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
        );
        let mut rows: Vec<&Row> = Vec::new();
        if let Some(c) = &self.ceiling {
            rows.push(c);
        }
        rows.extend(self.rows.iter());
        for r in rows {
            let _ = writeln!(
                out,
                "{:<22} {:>9} {:>7} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                r.name, r.ok, r.errors, r.throughput, r.p50, r.p90, r.p99, r.p999, r.max
            );
            if let Some(c) = &self.ceiling
                && !std::ptr::eq(r, c)
            {
                let ratio = |a: f64, b: f64| {
                    if b > 0.0 { format!("{:.2}x", a / b) } else { "-".into() }
                };
                let _ = writeln!(
                    out,
                    "{:<22} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9}",
                    "  ratio to ceiling",
                    "",
                    "",
                    ratio(r.throughput, c.throughput),
                    ratio(r.p50, c.p50),
                    ratio(r.p90, c.p90),
                    ratio(r.p99, c.p99),
                    ratio(r.p999, c.p999),
                );
            }
            if !r.error_codes.is_empty() {
                let codes: Vec<String> = r.error_codes.iter().map(|(k, v)| format!("{k} {v}")).collect();
                let _ = writeln!(out, "  errors: {}", codes.join(", "));
            }
        }
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "dropped (all slots busy at the intended send time): {}",
                self.dropped
            );
        }
        if let Some(s) = self.syncs {
            let mean = if s.count > 0 {
                s.sum_secs * 1000.0 / s.count as f64
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "server WAL syncs in the window (each acknowledged write waits for one): {}, mean {mean:.2} ms, over 10 ms {}, over 100 ms {}",
                s.count, s.over_10ms, s.over_100ms
            );
        }
        if let (Some(first), Some(cpus)) = (self.rows.first(), self.generator_cpus) {
            let per_op = first.generator_us.map_or("-".into(), |us| format!("{us:.1} µs"));
            let ceiling = match self.ceiling.as_ref().and_then(|c| c.generator_us) {
                Some(us) => format!(" (per ceiling request: {us:.1} µs)"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "this generator's own CPU over the window: {cpus:.2} CPUs busy, {per_op} per {}{ceiling}",
                first.name
            );
        }
        if let Some(median) = median_ratio(&self.rounds) {
            let each: Vec<String> = self
                .rounds
                .iter()
                .filter_map(Round::ratio)
                .map(|r| format!("{r:.2}x"))
                .collect();
            let _ = writeln!(
                out,
                "ratio by round (each window to the higher of the ceilings just before and after it): {}; median {median:.2}x",
                each.join(", ")
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "scenario": self.scenario,
            "mode": self.mode,
            "rate": self.rate,
            "concurrency": self.concurrency,
            "seconds": self.seconds,
            "dropped": self.dropped,
            "ceiling": self.ceiling.as_ref().map(|c| c.to_json(None)),
            "ceiling_before_after_per_s": self.ceilings_per_s.map(|(b, a)| [b, a]),
            "rows": self.rows.iter().map(|r| r.to_json(self.ceiling.as_ref())).collect::<Vec<_>>(),
            "server_wal_syncs": self.syncs.map(|s| json!({
                "count": s.count,
                "over_10ms": s.over_10ms,
                "over_100ms": s.over_100ms,
                "sum_seconds": s.sum_secs,
            })),
            "rounds": self.rounds.iter().map(|r| json!({
                "throughput_per_s": r.throughput,
                "ceiling_before_per_s": r.ceiling_before,
                "ceiling_after_per_s": r.ceiling_after,
                "ratio": r.ratio(),
            })).collect::<Vec<_>>(),
            "ratio_median_of_rounds": median_ratio(&self.rounds),
            "generator_cpus": self.generator_cpus,
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Round, median_ratio};

    fn round(throughput: f64, before: f64, after: f64) -> Round {
        Round {
            throughput,
            ceiling_before: before,
            ceiling_after: after,
        }
    }

    #[test]
    fn a_round_is_measured_against_the_higher_ceiling_around_it() {
        assert_eq!(round(20.0, 50.0, 40.0).ratio(), Some(0.4));
        assert_eq!(round(20.0, 40.0, 50.0).ratio(), Some(0.4));
        assert_eq!(round(20.0, 0.0, 0.0).ratio(), None);
    }

    #[test]
    fn the_median_is_the_middle_ratio_or_the_mean_of_the_two_middle_ones() {
        let odd = [
            round(30.0, 100.0, 0.0),
            round(50.0, 100.0, 0.0),
            round(40.0, 100.0, 0.0),
        ];
        let near = |m: Option<f64>, x: f64| m.is_some_and(|m| (m - x).abs() < 1e-12);
        assert!(near(median_ratio(&odd), 0.4));
        let even = [round(30.0, 100.0, 0.0), round(50.0, 100.0, 0.0)];
        assert!(near(median_ratio(&even), 0.4));
        assert_eq!(median_ratio(&[]), None);
        // A round without a ceiling makes no median rather than a median of the others.
        assert_eq!(median_ratio(&[round(30.0, 100.0, 0.0), round(30.0, 0.0, 0.0)]), None);
    }
}
