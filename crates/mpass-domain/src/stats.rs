//! Statistics (SPEC §9): the keys the stores count applications under, the decision-latency
//! buckets, and the questions the API and the dashboard ask of those counters.
//!
//! An application is counted once, under `(hour of submission, from-thana, reason, status,
//! has a pass)`. District and division are prefixes of the thana code (4 and 2 digits), so
//! one key serves every level. The stores move the count on every status change, in the
//! transaction of the change, so the counters never drift from the rows they describe.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::application::{Application, Status};

pub mod scans;

/// Milliseconds in an hour bucket.
pub const HOUR_MS: i64 = 3_600_000;

/// The hour bucket (hours since the Unix epoch, UTC) of an instant.
pub fn hour_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(3600)
}

/// The hour bucket of a stored instant in unix milliseconds.
pub fn hour_of_ms(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// The start of an hour bucket.
pub fn hour_start(hour: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(hour * 3600).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Upper bounds (inclusive, milliseconds) of the decision-latency buckets; one more bucket
/// holds everything slower. Fine near the 1 s target of SPEC §16, coarse beyond.
pub const LATENCY_BOUNDS_MS: [i64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 86_400_000,
];

/// Number of latency buckets (the bounds plus the open last one).
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The bucket of a latency: the first whose bound is at least `ms`.
pub fn latency_bucket(ms: i64) -> i16 {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(LATENCY_BOUNDS_MS.len()) as i16
}

/// A human label for a bucket's upper bound: `≤ 250 ms`, `≤ 5 min`, `> 1 d`.
pub fn latency_bucket_label(bucket: usize) -> String {
    fn human(ms: i64) -> String {
        match ms {
            m if m < 1_000 => format!("{m} ms"),
            m if m < 60_000 => format!("{} s", m / 1_000),
            m if m < 3_600_000 => format!("{} min", m / 60_000),
            m if m < 86_400_000 => format!("{} h", m / 3_600_000),
            m => format!("{} d", m / 86_400_000),
        }
    }
    match LATENCY_BOUNDS_MS.get(bucket) {
        Some(b) => format!("≤ {}", human(*b)),
        None => format!("> {}", human(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1])),
    }
}

/// A SQL `CASE` expression giving the bucket of the latency `expr` (milliseconds), for the
/// stores' rebuilds: the same buckets as [`latency_bucket`], in portable SQL.
pub fn latency_bucket_sql(expr: &str) -> String {
    let mut sql = String::from("CASE");
    for (i, b) in LATENCY_BOUNDS_MS.iter().enumerate() {
        sql.push_str(&format!(" WHEN {expr} <= {b} THEN {i}"));
    }
    sql.push_str(&format!(" ELSE {} END", LATENCY_BOUNDS_MS.len()));
    sql
}

/// What an application is counted under, besides its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    pub hour: i64,
    pub thana: String,
    pub reason: String,
}

impl AppKey {
    pub fn of(app: &Application) -> AppKey {
        AppKey {
            hour: hour_of(app.submitted_at),
            thana: app.details.from.area.clone(),
            reason: app.details.reason.clone(),
        }
    }

    /// The district code: the thana's first four digits.
    pub fn district(&self) -> &str {
        self.thana.get(..4).unwrap_or(&self.thana)
    }
}

/// Where an application stands, as far as the counters care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub status: Status,
    pub has_pass: bool,
}

impl Standing {
    pub fn new(status: Status, has_pass: bool) -> Standing {
        Standing { status, has_pass }
    }
}

/// The counter changes of one transition: −1 on `from` (if any), +1 on `to` (if any),
/// ordered by status so every transaction touches counter rows in the same order (no
/// deadlocks between two transitions on PostgreSQL). Empty when nothing changes.
pub fn deltas(from: Option<Standing>, to: Option<Standing>) -> Vec<(Standing, i64)> {
    if from == to {
        return Vec::new();
    }
    let mut d: Vec<(Standing, i64)> = from.map(|s| (s, -1)).into_iter().chain(to.map(|s| (s, 1))).collect();
    d.sort_by_key(|(s, _)| (s.status.as_str(), s.has_pass));
    d
}

/// A dimension to group counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Hour,
    Division,
    District,
    Thana,
    Reason,
    Status,
}

/// Which counts to sum: every filter is optional; hours are `[from_hour, to_hour)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountQuery {
    pub from_hour: Option<i64>,
    pub to_hour: Option<i64>,
    /// A division (2 digits), district (4) or thana (8) code: counts from that area.
    pub area: Option<String>,
    pub reason: Option<String>,
    pub status: Option<Status>,
    /// Dimensions of the answer's rows, in this order; none: one row of totals.
    pub group: Vec<Dim>,
}

impl CountQuery {
    /// Whether the answer needs thana detail (else the district rollup is enough).
    pub fn needs_thana(&self) -> bool {
        self.group.contains(&Dim::Thana) || self.area.as_ref().is_some_and(|a| a.len() > 4)
    }
}

/// One row of a count answer: the grouped dimensions (others `None`) and the sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<i64>,
    /// Division, district or thana code, by the grouped level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Applications.
    pub n: i64,
    /// Of them, those holding a pass (approved, or revoked/cancelled after approval).
    pub with_pass: i64,
}

/// Which decisions' latencies to count: decided in `[from_hour, to_hour)`, from `area`
/// (a division or district code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyQuery {
    pub from_hour: Option<i64>,
    pub to_hour: Option<i64>,
    pub area: Option<String>,
}

/// Decisions per latency bucket (index into [`LATENCY_BOUNDS_MS`], last = slower).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    pub counts: Vec<i64>,
}

impl LatencyHistogram {
    pub fn from_rows(rows: &[(i16, i64)]) -> LatencyHistogram {
        let mut counts = vec![0; LATENCY_BUCKETS];
        for (b, n) in rows {
            if let Some(c) = counts.get_mut(usize::try_from(*b).unwrap_or(LATENCY_BUCKETS - 1)) {
                *c += n;
            }
        }
        LatencyHistogram { counts }
    }

    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// The bound of the bucket holding quantile `q` (0..1), in ms; `None` when empty or in
    /// the open last bucket.
    pub fn quantile_bound_ms(&self, q: f64) -> Option<i64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as i64;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                return LATENCY_BOUNDS_MS.get(i).copied();
            }
        }
        None
    }
}

/// What a rebuild found and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildReport {
    pub applications: i64,
    pub count_rows: i64,
    pub latency_rows: i64,
    /// Scans in the scan log, and the scan counter rows written for them.
    pub scans: i64,
    pub scan_rows: i64,
}

/// One synthetic application for `mpass demo`, stored as is through the bulk path.
#[derive(Debug, Clone)]
pub struct BulkApplication {
    pub app: Application,
    pub phone: crate::phone::Phone,
    /// When its (first) decision was recorded, if decided.
    pub decided_at: Option<OffsetDateTime>,
    /// The review district, for applications in review or waiting for information.
    pub review_district: Option<String>,
    /// The signed pass of an approved application (its id is `app.pass_id`).
    pub pass: Option<crate::ports::PassRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_their_bounds_and_the_sql() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(50), 0);
        assert_eq!(latency_bucket(51), 1);
        assert_eq!(latency_bucket(1_000), 4);
        assert_eq!(latency_bucket(i64::MAX), LATENCY_BOUNDS_MS.len() as i16);
        let sql = latency_bucket_sql("x");
        assert!(sql.starts_with("CASE WHEN x <= 50 THEN 0 WHEN x <= 100 THEN 1"));
        assert!(sql.ends_with("ELSE 14 END"));
    }

    #[test]
    fn a_transition_moves_one_count_in_a_fixed_order() {
        let a = Standing::new(Status::Submitted, false);
        let b = Standing::new(Status::Approved, true);
        assert_eq!(deltas(Some(a), Some(b)), vec![(b, 1), (a, -1)]);
        assert_eq!(deltas(Some(b), Some(a)), vec![(b, -1), (a, 1)]);
        assert!(deltas(Some(a), Some(a)).is_empty());
        assert_eq!(deltas(None, Some(a)), vec![(a, 1)]);
    }

    #[test]
    fn quantiles_come_from_bucket_bounds() {
        let h = LatencyHistogram::from_rows(&[(0, 90), (4, 9), (14, 1)]);
        assert_eq!(h.total(), 100);
        assert_eq!(h.quantile_bound_ms(0.5), Some(50));
        assert_eq!(h.quantile_bound_ms(0.99), Some(1_000));
        assert_eq!(h.quantile_bound_ms(1.0), None);
        assert_eq!(latency_bucket_label(4), "≤ 1 s");
        assert_eq!(latency_bucket_label(14), "> 1 d");
    }
}
