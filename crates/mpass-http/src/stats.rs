//! Statistics for analysts and admins (SPEC §9), shared by the JSON/CSV API and the
//! dashboard pages: filters parsed strictly, answers built from the store's counters only
//! (never the applications table), and no personal data anywhere: only counts by area,
//! reason, status and hour.

use mpass_domain::application::Status;
use mpass_domain::geo::areas;
use mpass_domain::ports::Store;
use mpass_domain::stats::scans::{RESULTS, ResultCounts, result_str};
use mpass_domain::stats::{
    CountRow, Dim, LATENCY_BOUNDS_MS, LatencyHistogram, LatencyQuery, hour_start, latency_bucket_label,
};
use serde_json::{Value, json};

use crate::error::ApiError;

pub mod scans;

mod filters;

pub use filters::*;

/// The headline numbers.
#[derive(Debug, Clone)]
pub struct Summary {
    pub total: i64,
    pub by_status: Vec<(Status, i64)>,
    pub passes_issued: i64,
    pub passes_active: i64,
    pub passes_revoked: i64,
    pub passes_cancelled: i64,
    pub latency: LatencyHistogram,
    /// Scans in the range and district (the reason and status filters do not apply).
    pub scans: ResultCounts,
}

impl Summary {
    pub fn status(&self, s: Status) -> i64 {
        self.by_status.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n)
    }

    pub fn backlog(&self) -> i64 {
        self.status(Status::InReview) + self.status(Status::InfoRequested)
    }
}

/// Counts by hour, district and status: one query that the dashboard folds into its
/// headline, hourly series, districts and backlog (each fold sums whatever rows it gets).
pub async fn grid(store: &dyn Store, f: &Filters) -> Result<Vec<CountRow>, ApiError> {
    Ok(store
        .stats_counts(&f.counts(vec![Dim::Hour, Dim::District, Dim::Status]))
        .await?)
}

pub async fn summary(store: &dyn Store, f: &Filters) -> Result<Summary, ApiError> {
    let rows = store.stats_counts(&f.counts(vec![Dim::Status])).await?;
    summary_of(store, f, &rows).await
}

/// The headline from count rows holding a status (any other grouping is summed over),
/// with the latency histogram and the scans read for the same filters.
pub async fn summary_of(store: &dyn Store, f: &Filters, rows: &[CountRow]) -> Result<Summary, ApiError> {
    let latency = store
        .stats_latency(&LatencyQuery {
            from_hour: Some(f.from_hour),
            to_hour: Some(f.to_hour),
            area: f.district.clone(),
        })
        .await?;
    let of = |s: Status| rows.iter().filter(move |r| r.status == Some(s));
    let with_pass = |s: Status| of(s).map(|r| r.with_pass).sum::<i64>();
    Ok(Summary {
        total: rows.iter().map(|r| r.n).sum(),
        by_status: Status::ALL.iter().map(|s| (*s, of(*s).map(|r| r.n).sum())).collect(),
        passes_issued: rows.iter().map(|r| r.with_pass).sum(),
        passes_active: with_pass(Status::Approved),
        passes_revoked: with_pass(Status::Revoked),
        passes_cancelled: with_pass(Status::Cancelled),
        latency,
        scans: scans::totals(store, f).await?,
    })
}

pub fn summary_json(f: &Filters, s: &Summary) -> Value {
    let by_status: serde_json::Map<String, Value> = s
        .by_status
        .iter()
        .map(|(st, n)| (st.as_str().to_string(), json!(n)))
        .collect();
    json!({
        "filters": f.echo(),
        "applications": { "total": s.total, "by_status": by_status },
        "passes": {
            "issued": s.passes_issued,
            "active": s.passes_active,
            "revoked": s.passes_revoked,
            "cancelled": s.passes_cancelled,
        },
        "decisions": {
            "total": s.latency.total(),
            "latency_p50_ms_at_most": s.latency.quantile_bound_ms(0.5),
            "latency_p90_ms_at_most": s.latency.quantile_bound_ms(0.9),
            "latency_p99_ms_at_most": s.latency.quantile_bound_ms(0.99),
        },
        "review_backlog": s.backlog(),
        "scans": scans::counts_json(&s.scans),
    })
}

/// The level of an area breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Division,
    District,
    Thana,
}

impl Level {
    pub fn parse(v: Option<&str>) -> Result<Level, ApiError> {
        match v {
            None | Some("district") => Ok(Level::District),
            Some("division") => Ok(Level::Division),
            Some("thana") => Ok(Level::Thana),
            Some(_) => Err(bad("invalid_query", "level must be division, district or thana.")),
        }
    }

    fn dim(self) -> Dim {
        match self {
            Level::Division => Dim::Division,
            Level::District => Dim::District,
            Level::Thana => Dim::Thana,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Division => "division",
            Level::District => "district",
            Level::Thana => "thana",
        }
    }
}

/// One area's counts.
#[derive(Debug, Clone, Default)]
pub struct AreaCounts {
    pub code: String,
    pub name_en: String,
    pub name_bn: String,
    pub total: i64,
    pub by_status: Vec<(Status, i64)>,
    pub with_pass: i64,
}

impl AreaCounts {
    pub fn status(&self, s: Status) -> i64 {
        self.by_status.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n)
    }
}

/// Counts per area of `level` (every area of that level within the filter, zeros included).
pub async fn by_area(store: &dyn Store, f: &Filters, level: Level) -> Result<Vec<AreaCounts>, ApiError> {
    let rows = store.stats_counts(&f.counts(vec![level.dim(), Dim::Status])).await?;
    Ok(by_area_of(f, level, &rows))
}

/// Counts per area of `level` from rows holding that level's area code and a status.
pub fn by_area_of(f: &Filters, level: Level, rows: &[CountRow]) -> Vec<AreaCounts> {
    let kind = match level {
        Level::Division => mpass_domain::geo::AreaKind::Division,
        Level::District => mpass_domain::geo::AreaKind::District,
        Level::Thana => mpass_domain::geo::AreaKind::Thana,
    };
    let within = |code: &str| {
        f.district
            .as_deref()
            .is_none_or(|d| code.starts_with(d) || d.starts_with(code))
    };
    let mut out: Vec<AreaCounts> = areas()
        .all()
        .iter()
        .filter(|a| a.kind == kind && within(&a.code))
        .map(|a| AreaCounts {
            code: a.code.clone(),
            name_en: a.name_en.clone(),
            name_bn: a.name_bn.clone(),
            by_status: Status::ALL.iter().map(|s| (*s, 0)).collect(),
            ..AreaCounts::default()
        })
        .collect();
    let index: std::collections::HashMap<String, usize> =
        out.iter().enumerate().map(|(i, a)| (a.code.clone(), i)).collect();
    for r in rows {
        let (Some(code), Some(status)) = (r.area.as_deref(), r.status) else {
            continue;
        };
        let Some(a) = index.get(code).map(|i| &mut out[*i]) else {
            continue;
        };
        a.total += r.n;
        a.with_pass += r.with_pass;
        if let Some(slot) = a.by_status.iter_mut().find(|(s, _)| *s == status) {
            slot.1 += r.n;
        }
    }
    out
}

pub fn by_area_json(f: &Filters, level: Level, items: &[AreaCounts]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|a| {
            let by_status: serde_json::Map<String, Value> = a
                .by_status
                .iter()
                .map(|(s, n)| (s.as_str().to_string(), json!(n)))
                .collect();
            json!({
                "code": a.code, "name_en": a.name_en, "name_bn": a.name_bn,
                "total": a.total, "by_status": by_status, "passes_issued": a.with_pass,
            })
        })
        .collect();
    json!({ "filters": f.echo(), "level": level.as_str(), "items": items })
}

pub fn by_area_csv(items: &[AreaCounts]) -> String {
    let mut out = String::from("code,name_en,total");
    for s in Status::ALL {
        out.push(',');
        out.push_str(s.as_str());
    }
    out.push_str(",passes_issued\n");
    for a in items {
        out.push_str(&format!("{},{},{}", a.code, csv_field(&a.name_en), a.total));
        for s in Status::ALL {
            out.push_str(&format!(",{}", a.status(s)));
        }
        out.push_str(&format!(",{}\n", a.with_pass));
    }
    out
}

/// Quotes a CSV field when it needs it, and defuses spreadsheet formulas.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// What an hourly series counts: applications submitted per hour, or those of them now in
/// one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Submitted,
    Now(Status),
    PassesIssued,
}

impl Measure {
    pub fn parse(v: Option<&str>) -> Result<Measure, ApiError> {
        match v {
            None | Some("submitted") => Ok(Measure::Submitted),
            Some("passes_issued") => Ok(Measure::PassesIssued),
            Some(s) => Status::parse(s).map(Measure::Now).ok_or_else(|| {
                bad(
                    "invalid_query",
                    "measure must be submitted, passes_issued or an application status.",
                )
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Submitted => "submitted",
            Measure::PassesIssued => "passes_issued",
            Measure::Now(s) => s.as_str(),
        }
    }
}

/// Per hour of submission in the range (every hour, zeros included).
pub async fn timeseries(store: &dyn Store, f: &Filters, m: Measure) -> Result<Vec<(i64, i64)>, ApiError> {
    let mut q = f.counts(vec![Dim::Hour]);
    if let Measure::Now(s) = m {
        q.status = Some(s);
    }
    let rows: Vec<CountRow> = store.stats_counts(&q).await?;
    Ok(timeseries_of(f, m, &rows))
}

/// The series from rows holding an hour (and a status, for `Measure::Now`; rows of other
/// statuses are left out, rows without one are taken as already filtered).
pub fn timeseries_of(f: &Filters, m: Measure, rows: &[CountRow]) -> Vec<(i64, i64)> {
    let mut per_hour: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for r in rows {
        let Some(h) = r.hour else { continue };
        if let Measure::Now(s) = m
            && r.status.is_some_and(|x| x != s)
        {
            continue;
        }
        *per_hour.entry(h).or_default() += if m == Measure::PassesIssued { r.with_pass } else { r.n };
    }
    (f.from_hour..f.to_hour)
        .map(|h| (h, per_hour.get(&h).copied().unwrap_or(0)))
        .collect()
}

pub fn timeseries_json(f: &Filters, m: Measure, points: &[(i64, i64)]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|(h, n)| json!({ "hour": crate::api::rfc3339(hour_start(*h)), "n": n }))
        .collect();
    json!({ "filters": f.echo(), "measure": m.as_str(), "bucket": "hour", "points": points })
}

pub fn timeseries_csv(m: Measure, points: &[(i64, i64)]) -> String {
    let mut out = format!("hour,{}\n", m.as_str());
    for (h, n) in points {
        out.push_str(&format!("{},{n}\n", crate::api::rfc3339(hour_start(*h))));
    }
    out
}

pub async fn latency(store: &dyn Store, f: &Filters) -> Result<LatencyHistogram, ApiError> {
    Ok(store
        .stats_latency(&LatencyQuery {
            from_hour: Some(f.from_hour),
            to_hour: Some(f.to_hour),
            area: f.district.clone(),
        })
        .await?)
}

pub fn latency_json(f: &Filters, h: &LatencyHistogram) -> Value {
    let buckets: Vec<Value> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "le_ms": LATENCY_BOUNDS_MS.get(i), "label": latency_bucket_label(i), "n": n }))
        .collect();
    json!({
        "filters": f.echo(),
        "total": h.total(),
        "buckets": buckets,
        "p50_ms_at_most": h.quantile_bound_ms(0.5),
        "p90_ms_at_most": h.quantile_bound_ms(0.9),
        "p99_ms_at_most": h.quantile_bound_ms(0.99),
    })
}

pub fn latency_csv(h: &LatencyHistogram) -> String {
    let mut out = String::from("le_ms,n\n");
    for (i, n) in h.counts.iter().enumerate() {
        let le = LATENCY_BOUNDS_MS.get(i).map_or("inf".to_string(), |b| b.to_string());
        out.push_str(&format!("{le},{n}\n"));
    }
    out
}

/// The review backlog (in review + waiting for information) per district, largest first,
/// of applications submitted in the range.
pub async fn backlog(store: &dyn Store, f: &Filters) -> Result<Vec<(AreaCounts, i64)>, ApiError> {
    Ok(backlog_of(by_area(store, f, Level::District).await?))
}

/// The backlog from the districts' counts.
pub fn backlog_of(districts: Vec<AreaCounts>) -> Vec<(AreaCounts, i64)> {
    let mut items: Vec<(AreaCounts, i64)> = districts
        .into_iter()
        .map(|a| {
            let n = a.status(Status::InReview) + a.status(Status::InfoRequested);
            (a, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code.cmp(&b.0.code)));
    items
}

pub fn backlog_json(f: &Filters, items: &[(AreaCounts, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(a, n)| {
            json!({
                "district": a.code, "name_en": a.name_en, "name_bn": a.name_bn,
                "in_review": a.status(Status::InReview), "info_requested": a.status(Status::InfoRequested),
                "backlog": n,
            })
        })
        .collect();
    json!({ "filters": f.echo(), "items": items })
}

pub fn backlog_csv(items: &[(AreaCounts, i64)]) -> String {
    let mut out = String::from("district,name_en,in_review,info_requested,backlog\n");
    for (a, n) in items {
        out.push_str(&format!(
            "{},{},{},{},{n}\n",
            a.code,
            csv_field(&a.name_en),
            a.status(Status::InReview),
            a.status(Status::InfoRequested)
        ));
    }
    out
}

pub fn summary_csv(s: &Summary) -> String {
    let mut out = String::from("measure,n\napplications_total,");
    out.push_str(&format!("{}\n", s.total));
    for (st, n) in &s.by_status {
        out.push_str(&format!("applications_{},{n}\n", st.as_str()));
    }
    out.push_str(&format!(
        "passes_issued,{}\npasses_active,{}\npasses_revoked,{}\npasses_cancelled,{}\ndecisions,{}\nreview_backlog,{}\n",
        s.passes_issued,
        s.passes_active,
        s.passes_revoked,
        s.passes_cancelled,
        s.latency.total(),
        s.backlog()
    ));
    out.push_str(&format!("scans_total,{}\n", s.scans.total()));
    for r in RESULTS {
        out.push_str(&format!("scans_{},{}\n", result_str(r), s.scans.get(r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("Cox's Bazar"), "Cox's Bazar");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
