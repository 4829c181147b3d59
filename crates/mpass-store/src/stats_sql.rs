//! The SQL of the statistics counters (SPEC §9), shared by both backends: the tables, the
//! queries over them, the same queries counted directly from `applications`, and the
//! rebuild. Only the placeholders and the JSON accessors differ between SQLite and PostgreSQL.
//!
//! Tables (migration 7):
//! - `stats_thana_hourly (hour, area, reason, status, has_pass, n)`: applications by
//!   submission hour and from-thana (`area`, 8 digits).
//! - `stats_district_hourly`: the same rolled up to districts (`area`, 4 digits). Its size
//!   is bounded by hours × 64 × reasons × statuses, whatever the number of applications,
//!   so most questions sum a few thousand rows per day asked.
//! - `stats_latency_hourly (hour, area, bucket, n)`: first decisions by decision hour,
//!   district and latency bucket.
//!
//! - `stats_scans_hourly (hour, district, checkpoint, result, n)`: the scan log by scan
//!   hour (migration 9; its SQL is in `stats_sql/scans.rs`).
//!
//! On PostgreSQL every table has a `shard` column too (see `postgres/stats.rs`); sums do
//! not care. There the application and latency counters also have a `_pending` table of
//! changes not yet folded into them (migration 13): every read sums both
//! ([`Dialect::counters`]).

use mpass_domain::stats::{CountQuery, Dim, LatencyQuery, latency_bucket_sql};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

pub(crate) mod scans;

/// A bound value of a built query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    Float(f64),
}

/// A query ready to run: its text, its arguments, and the dimensions of its first columns
/// (then `n` and `with_pass`).
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub sql: String,
    pub args: Vec<Arg>,
    pub dims: Vec<Dim>,
}

impl Dialect {
    pub(crate) fn placeholder(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{i}"),
            Dialect::Postgres => format!("${i}"),
        }
    }

    /// The counter table `name` (`stats_thana`, `stats_district`, `stats_latency`) as a
    /// source of `columns`: on PostgreSQL the counters and the changes waiting to be folded
    /// into them, one `UNION ALL` read in one snapshot (a fold moves rows from one to the
    /// other in one statement, so a read sees each change once).
    fn counters(self, name: &str, columns: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{name}_hourly"),
            Dialect::Postgres => {
                format!("(SELECT {columns} FROM {name}_hourly UNION ALL SELECT {columns} FROM {name}_pending) c")
            }
        }
    }

    fn thana_expr(self) -> &'static str {
        match self {
            Dialect::Sqlite => "json_extract(details, '$.from.area')",
            Dialect::Postgres => "(details->'from'->>'area')",
        }
    }

    fn reason_expr(self) -> &'static str {
        match self {
            Dialect::Sqlite => "json_extract(details, '$.reason')",
            Dialect::Postgres => "(details->>'reason')",
        }
    }

    /// Applications as rows of the thana table, counted one by one.
    pub(crate) fn direct_counts_source(self) -> String {
        format!(
            "(SELECT submitted_at / {h} AS hour, {area} AS area, {reason} AS reason, status,
                     CASE WHEN pass_id IS NULL THEN 0 ELSE 1 END AS has_pass, 1 AS n
              FROM applications) s",
            h = mpass_domain::stats::HOUR_MS,
            area = self.thana_expr(),
            reason = self.reason_expr()
        )
    }

    /// First decisions as rows of the latency table, one by one.
    pub(crate) fn direct_latency_source(self) -> String {
        format!(
            "(SELECT decided_at / {h} AS hour, substr({area}, 1, 4) AS area, {bucket} AS bucket, 1 AS n
              FROM applications WHERE decided_at IS NOT NULL) s",
            h = mpass_domain::stats::HOUR_MS,
            area = self.thana_expr(),
            bucket = latency_bucket_sql("(decided_at - submitted_at)")
        )
    }
}

/// Where a count query reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The maintained counters (the district rollup unless thana detail is needed).
    Counters,
    /// The applications table itself.
    Direct,
}

fn area_filter(area: &str, level_len: usize, p: &str) -> String {
    if area.len() == level_len {
        format!("area = {p}")
    } else {
        format!("substr(area, 1, {}) = {p}", area.len())
    }
}

/// A count query over the counters or the applications table.
pub(crate) fn counts(d: Dialect, q: &CountQuery, source: Source) -> Built {
    counts_sql(d, q, source, true)
}

/// The counter rows a count query sums, unsummed: the grouped dimensions, `n` and the
/// part of `n` with a pass, row by row. SQLite groups a few tens of thousands of rows
/// several times faster in Rust than in its temporary B-tree (`sqlite/stats.rs`).
pub(crate) fn counter_rows(d: Dialect, q: &CountQuery) -> Built {
    counts_sql(d, q, Source::Counters, false)
}

/// Whether the counters' primary key `(hour, area, reason, status, ...)` already orders the
/// query's groups (the grouped dimensions are a prefix of it), so SQLite sums them as it
/// reads, without sorting; otherwise summing the rows in Rust is faster.
pub(crate) fn groups_in_key_order(q: &CountQuery) -> bool {
    let thana = q.needs_thana();
    q.group.iter().enumerate().all(|(i, dim)| {
        let position = match dim {
            Dim::Hour => Some(0),
            Dim::District if !thana => Some(1),
            Dim::Thana => Some(1),
            Dim::Reason => Some(2),
            Dim::Status => Some(3),
            Dim::District | Dim::Division => None,
        };
        position == Some(i)
    })
}

/// The columns of the application counters that reads use.
const COUNT_COLUMNS: &str = "hour, area, reason, status, has_pass, n";

fn counts_sql(d: Dialect, q: &CountQuery, source: Source, grouped: bool) -> Built {
    let (from, level_len) = match source {
        Source::Direct => (d.direct_counts_source(), 8),
        Source::Counters if q.needs_thana() => (d.counters("stats_thana", COUNT_COLUMNS), 8),
        Source::Counters => (d.counters("stats_district", COUNT_COLUMNS), 4),
    };
    let mut args = Vec::new();
    let mut wheres = Vec::new();
    let arg = |a: Arg, args: &mut Vec<Arg>| {
        args.push(a);
        d.placeholder(args.len())
    };
    if let Some(h) = q.from_hour {
        let p = arg(Arg::Int(h), &mut args);
        wheres.push(format!("hour >= {p}"));
    }
    if let Some(h) = q.to_hour {
        let p = arg(Arg::Int(h), &mut args);
        wheres.push(format!("hour < {p}"));
    }
    if let Some(a) = &q.area {
        let p = arg(Arg::Text(a.clone()), &mut args);
        wheres.push(area_filter(a, level_len, &p));
    }
    if let Some(r) = &q.reason {
        let p = arg(Arg::Text(r.clone()), &mut args);
        wheres.push(format!("reason = {p}"));
    }
    if let Some(s) = q.status {
        let p = arg(Arg::Text(s.as_str().to_string()), &mut args);
        wheres.push(format!("status = {p}"));
    }
    let cols: Vec<&str> = q
        .group
        .iter()
        .map(|dim| match dim {
            Dim::Hour => "hour",
            Dim::Division => "substr(area, 1, 2)",
            // The rollup's area is the district already: a plain column groups faster.
            Dim::District if level_len == 4 => "area",
            Dim::District => "substr(area, 1, 4)",
            Dim::Thana => "area",
            Dim::Reason => "reason",
            Dim::Status => "status",
        })
        .collect();
    let sums = if grouped {
        "CAST(coalesce(sum(n), 0) AS BIGINT), CAST(coalesce(sum(CASE WHEN has_pass = 1 THEN n ELSE 0 END), 0) AS BIGINT)"
    } else {
        "n, CASE WHEN has_pass = 1 THEN n ELSE 0 END"
    };
    let sql = select(&cols, sums, &from, &wheres, grouped);
    Built {
        sql,
        args,
        dims: q.group.clone(),
    }
}

/// `SELECT cols..., values FROM from [WHERE w AND ...]`, grouped and ordered by the `cols`
/// when `grouped` (and there are any).
pub(crate) fn select(cols: &[&str], values: &str, from: &str, wheres: &[String], grouped: bool) -> String {
    let mut sql = String::from("SELECT ");
    for c in cols {
        sql.push_str(c);
        sql.push_str(", ");
    }
    sql.push_str(values);
    sql.push_str(" FROM ");
    sql.push_str(from);
    if !wheres.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&wheres.join(" AND "));
    }
    if grouped && !cols.is_empty() {
        let idx: Vec<String> = (1..=cols.len()).map(|i| i.to_string()).collect();
        sql.push_str(&format!(" GROUP BY {0} ORDER BY {0}", idx.join(", ")));
    }
    sql
}

/// A latency query: `(bucket, n)` rows.
pub(crate) fn latency(d: Dialect, q: &LatencyQuery, source: Source) -> Built {
    let from = match source {
        Source::Direct => d.direct_latency_source(),
        Source::Counters => d.counters("stats_latency", "hour, area, bucket, n"),
    };
    let mut args = Vec::new();
    let mut wheres = Vec::new();
    if let Some(h) = q.from_hour {
        args.push(Arg::Int(h));
        wheres.push(format!("hour >= {}", d.placeholder(args.len())));
    }
    if let Some(h) = q.to_hour {
        args.push(Arg::Int(h));
        wheres.push(format!("hour < {}", d.placeholder(args.len())));
    }
    if let Some(a) = &q.area {
        args.push(Arg::Text(a.clone()));
        wheres.push(area_filter(a, 4, &d.placeholder(args.len())));
    }
    let sql = select(
        &["CAST(bucket AS BIGINT)"],
        "CAST(coalesce(sum(n), 0) AS BIGINT)",
        &from,
        &wheres,
        true,
    );
    Built {
        sql,
        args,
        dims: Vec::new(),
    }
}

/// Applications by status, summed from the district counters (`StatsStore::status_counts`, for
/// `/metrics`). Every application is counted there once, under its status now, so this is
/// a count of `applications` by status that reads rows bounded by hours × districts rather
/// than by applications: the count itself took 0.75–2.8 s on SQLite and 3.2–3.8 s on
/// PostgreSQL at every scrape after 10 million applications (docs/BENCHMARKS-HISTORY.md,
/// twenty-fifth round).
pub(crate) fn status_totals(d: Dialect) -> String {
    format!(
        "SELECT status, CAST(sum(n) AS BIGINT) FROM {}
         GROUP BY status HAVING sum(n) > 0 ORDER BY status",
        d.counters("stats_district", "status, n")
    )
}

/// Statements that recompute every counter from the source tables (run in one
/// transaction by each backend).
pub(crate) fn rebuild(d: Dialect) -> Vec<String> {
    let pending = match d {
        Dialect::Sqlite => vec![],
        Dialect::Postgres => vec![
            "DELETE FROM stats_thana_pending".to_string(),
            "DELETE FROM stats_district_pending".into(),
            "DELETE FROM stats_latency_pending".into(),
        ],
    };
    pending
        .into_iter()
        .chain([
            "DELETE FROM stats_thana_hourly".into(),
            "DELETE FROM stats_district_hourly".into(),
            "DELETE FROM stats_latency_hourly".into(),
            format!(
                "INSERT INTO stats_thana_hourly (hour, area, reason, status, has_pass, n)
             SELECT hour, area, reason, status, has_pass, count(*) FROM {} GROUP BY 1, 2, 3, 4, 5",
                d.direct_counts_source()
            ),
            "INSERT INTO stats_district_hourly (hour, area, reason, status, has_pass, n)
         SELECT hour, substr(area, 1, 4), reason, status, has_pass, sum(n) FROM stats_thana_hourly
         GROUP BY 1, 2, 3, 4, 5"
                .into(),
            format!(
                "INSERT INTO stats_latency_hourly (hour, area, bucket, n)
             SELECT hour, area, bucket, count(*) FROM {} GROUP BY 1, 2, 3",
                d.direct_latency_source()
            ),
        ])
        .collect()
}

/// The upsert of `rows` counter deltas into `table` (`stats_thana_hourly` or
/// `stats_district_hourly`), on SQLite, whose single writer sums a batch's deltas per row
/// first (`sqlite/counters.rs`). PostgreSQL appends its deltas to the pending tables
/// instead (`postgres/stats.rs`).
pub(crate) fn upsert_counts(table: &str, rows: usize) -> String {
    let d = Dialect::Sqlite;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let ps: Vec<String> = (1..=6).map(|i| d.placeholder(r * 6 + i)).collect();
            format!("({})", ps.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} (hour, area, reason, status, has_pass, n) VALUES {}
         ON CONFLICT (hour, area, reason, status, has_pass) DO UPDATE SET n = {table}.n + excluded.n",
        values.join(", ")
    )
}

/// The upsert of decisions into the latency histogram, on SQLite: `n` is the fourth
/// parameter (the writer's batch sums, `sqlite/counters.rs`).
pub(crate) const UPSERT_LATENCY: &str =
    "INSERT INTO stats_latency_hourly (hour, area, bucket, n) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (hour, area, bucket) DO UPDATE SET n = stats_latency_hourly.n + excluded.n";

#[cfg(test)]
mod tests {
    use super::*;
    use mpass_domain::application::Status;

    #[test]
    fn district_questions_read_the_rollup_and_thana_ones_the_detail() {
        let q = CountQuery {
            from_hour: Some(10),
            to_hour: Some(20),
            area: Some("3026".into()),
            status: Some(Status::Approved),
            group: vec![Dim::Hour],
            ..CountQuery::default()
        };
        let b = counts(Dialect::Sqlite, &q, Source::Counters);
        assert!(
            b.sql
                .contains("FROM stats_district_hourly WHERE hour >= ?1 AND hour < ?2 AND area = ?3")
        );
        assert_eq!(b.args.len(), 4);
        // PostgreSQL reads the changes not yet folded too.
        let b = counts(Dialect::Postgres, &q, Source::Counters);
        assert!(b.sql.contains(
            "FROM (SELECT hour, area, reason, status, has_pass, n FROM stats_district_hourly \
             UNION ALL SELECT hour, area, reason, status, has_pass, n FROM stats_district_pending) c \
             WHERE hour >= $1 AND hour < $2 AND area = $3"
        ));
        let q = CountQuery {
            group: vec![Dim::Thana],
            area: Some("30".into()),
            ..CountQuery::default()
        };
        let b = counts(Dialect::Sqlite, &q, Source::Counters);
        assert!(b.sql.contains("FROM stats_thana_hourly WHERE substr(area, 1, 2) = ?1"));
        assert!(b.sql.ends_with("GROUP BY 1 ORDER BY 1"));
    }

    #[test]
    fn key_ordered_groups_are_prefixes_of_the_key() {
        let q = |group: Vec<Dim>, area: Option<&str>| CountQuery {
            group,
            area: area.map(str::to_string),
            ..CountQuery::default()
        };
        assert!(groups_in_key_order(&q(vec![], None)));
        assert!(groups_in_key_order(&q(vec![Dim::Hour], None)));
        assert!(groups_in_key_order(&q(
            vec![Dim::Hour, Dim::District, Dim::Reason],
            None
        )));
        assert!(groups_in_key_order(&q(vec![Dim::Hour, Dim::Thana], None)));
        assert!(!groups_in_key_order(&q(vec![Dim::Status], None)));
        assert!(!groups_in_key_order(&q(vec![Dim::District, Dim::Status], None)));
        assert!(!groups_in_key_order(&q(vec![Dim::Hour, Dim::Division], None)));
        assert!(
            !groups_in_key_order(&q(vec![Dim::Hour, Dim::District], Some("30260014"))),
            "districts of the thana table are not its key"
        );
    }

    #[test]
    fn upserts_number_their_placeholders_across_rows() {
        let s = upsert_counts("stats_thana_hourly", 2);
        assert!(s.contains("(?1, ?2, ?3, ?4, ?5, ?6), (?7, ?8, ?9, ?10, ?11, ?12)"));
    }
}
