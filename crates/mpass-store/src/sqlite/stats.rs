//! Statistics counters on SQLite: moved inside the writer's transaction of every status
//! change, read from the rollups, rebuilt from the source tables.

use mpass_domain::application::Application;
use mpass_domain::ids::ApplicationId;
use mpass_domain::stats::scans::{ScanCountRow, ScanDim, ScanQuery, parse_result};
use mpass_domain::stats::{
    AppKey, BulkApplication, CountQuery, CountRow, Dim, LatencyHistogram, LatencyQuery, RebuildReport, Standing,
    deltas, hour_of_ms, latency_bucket,
};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::applications::bad;
use super::counters;
use super::{ms, to_json};
use crate::stats_sql::{self, Arg, Built, Dialect, Source};

/// The key and submission time (unix ms) of a stored application, read by id (for
/// transitions that do not load it).
pub(super) fn key_of(c: &Connection, id: ApplicationId) -> rusqlite::Result<(AppKey, i64)> {
    c.prepare_cached(
        "SELECT submitted_at, json_extract(details, '$.from.area'), json_extract(details, '$.reason')
         FROM applications WHERE id = ?1",
    )?
    .query_row([id.to_string()], |r| {
        let submitted: i64 = r.get(0)?;
        let key = AppKey {
            hour: hour_of_ms(submitted),
            thana: r.get(1)?,
            reason: r.get(2)?,
        };
        Ok((key, submitted))
    })
}

/// Moves the application's count from `from` to `to` in both counter tables (summed per
/// writer batch, [`counters`]).
pub(super) fn shift(
    c: &Connection,
    key: &AppKey,
    from: Option<Standing>,
    to: Option<Standing>,
) -> rusqlite::Result<()> {
    for (s, n) in deltas(from, to) {
        for (table, area) in [
            (counters::Table::Thana, key.thana.as_str()),
            (counters::Table::District, key.district()),
        ] {
            let row = counters::Row {
                table,
                key: vec![
                    key.hour.into(),
                    area.into(),
                    key.reason.as_str().into(),
                    s.status.as_str().into(),
                    i64::from(s.has_pass).into(),
                ],
            };
            counters::add(c, row, n)?;
        }
    }
    Ok(())
}

/// Counts a first decision in the latency histogram.
pub(super) fn decided(c: &Connection, key: &AppKey, submitted_ms: i64, decided_ms: i64) -> rusqlite::Result<()> {
    let row = counters::Row {
        table: counters::Table::Latency,
        key: vec![
            hour_of_ms(decided_ms).into(),
            key.district().into(),
            i64::from(latency_bucket(decided_ms - submitted_ms)).into(),
        ],
    };
    counters::add(c, row, 1)
}

fn bind(args: &[Arg]) -> Vec<Value> {
    args.iter()
        .map(|a| match a {
            Arg::Int(i) => Value::Integer(*i),
            Arg::Text(t) => Value::Text(t.clone()),
            Arg::Float(f) => Value::Real(*f),
        })
        .collect()
}

fn run_counts(c: &Connection, b: &Built) -> rusqlite::Result<Vec<CountRow>> {
    let mut st = c.prepare_cached(&b.sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(bind(&b.args)), |r| {
        let mut row = CountRow::default();
        for (i, dim) in b.dims.iter().enumerate() {
            match dim {
                Dim::Hour => row.hour = Some(r.get(i)?),
                Dim::Division | Dim::District | Dim::Thana => row.area = Some(r.get(i)?),
                Dim::Reason => row.reason = Some(r.get(i)?),
                Dim::Status => {
                    let s: String = r.get(i)?;
                    row.status = Some(super::applications::parse_status(&s)?);
                }
            }
        }
        row.n = r.get(b.dims.len())?;
        row.with_pass = r.get(b.dims.len() + 1)?;
        Ok(row)
    })?;
    rows.collect()
}

pub(super) fn counts(c: &Connection, q: &CountQuery, source: Source) -> rusqlite::Result<Vec<CountRow>> {
    // A grouping that is not a prefix of the counters' key is summed here, not by SQL.
    if matches!(source, Source::Counters) && !stats_sql::groups_in_key_order(q) {
        let rows = run_counts(c, &stats_sql::counter_rows(Dialect::Sqlite, q))?;
        return Ok(fold_counts(&q.group, rows));
    }
    run_counts(c, &stats_sql::counts(Dialect::Sqlite, q, source))
}

/// One part of a grouping key, ordered as SQL orders the column.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Int(i64),
    Text(String),
}

/// Sums counter rows with the same dimensions, ordered by them in the query's order, as
/// `GROUP BY ... ORDER BY` would; ungrouped, one row (of zeros when nothing matched).
fn fold_counts(group: &[Dim], rows: Vec<CountRow>) -> Vec<CountRow> {
    let mut sums: std::collections::BTreeMap<Vec<Part>, CountRow> = std::collections::BTreeMap::new();
    for r in rows {
        let key: Vec<Part> = group
            .iter()
            .map(|dim| match dim {
                Dim::Hour => Part::Int(r.hour.unwrap_or_default()),
                Dim::Division | Dim::District | Dim::Thana => Part::Text(r.area.clone().unwrap_or_default()),
                Dim::Reason => Part::Text(r.reason.clone().unwrap_or_default()),
                Dim::Status => Part::Text(r.status.map(|s| s.as_str().to_string()).unwrap_or_default()),
            })
            .collect();
        let slot = sums.entry(key).or_insert_with(|| CountRow {
            n: 0,
            with_pass: 0,
            ..r.clone()
        });
        slot.n += r.n;
        slot.with_pass += r.with_pass;
    }
    if group.is_empty() && sums.is_empty() {
        return vec![CountRow::default()];
    }
    sums.into_values().collect()
}

pub(super) fn latency(c: &Connection, q: &LatencyQuery, source: Source) -> rusqlite::Result<LatencyHistogram> {
    let b = stats_sql::latency(Dialect::Sqlite, q, source);
    let mut st = c.prepare_cached(&b.sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(bind(&b.args)), |r| {
        Ok((r.get::<_, i64>(0)? as i16, r.get::<_, i64>(1)?))
    })?;
    let rows: Vec<(i16, i64)> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(LatencyHistogram::from_rows(&rows))
}

pub(super) fn scan_counts(c: &Connection, q: &ScanQuery, source: Source) -> rusqlite::Result<Vec<ScanCountRow>> {
    let b = stats_sql::scans::scan_counts(Dialect::Sqlite, q, source);
    let mut st = c.prepare_cached(&b.sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(bind(&b.args)), |r| {
        let mut row = ScanCountRow::default();
        for (i, dim) in b.dims.iter().enumerate() {
            match dim {
                ScanDim::Hour => row.hour = Some(r.get(i)?),
                ScanDim::District => row.district = Some(r.get(i)?),
                ScanDim::Checkpoint => row.checkpoint = Some(r.get(i)?),
                ScanDim::Result => {
                    let s: String = r.get(i)?;
                    row.result = Some(parse_result(&s).ok_or_else(|| bad("scan result"))?);
                }
            }
        }
        row.n = r.get(b.dims.len())?;
        Ok(row)
    })?;
    rows.collect()
}

/// Recomputes every counter (inside the writer's transaction: nothing else writes meanwhile).
pub(super) fn rebuild(c: &Connection) -> rusqlite::Result<RebuildReport> {
    // The counts of this batch's earlier operations first: the rebuild reads their rows.
    counters::flush(c)?;
    for sql in stats_sql::rebuild(Dialect::Sqlite)
        .into_iter()
        .chain(stats_sql::scans::rebuild(Dialect::Sqlite))
    {
        c.execute(&sql, [])?;
    }
    let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok(RebuildReport {
        applications: one("SELECT count(*) FROM applications")?,
        count_rows: one("SELECT count(*) FROM stats_thana_hourly")?,
        latency_rows: one("SELECT count(*) FROM stats_latency_hourly")?,
        scans: one("SELECT count(*) FROM scans")?,
        scan_rows: one("SELECT count(*) FROM stats_scans_hourly")?,
    })
}

/// Stores synthetic applications and their users as they are (the counters are left to
/// a rebuild).
pub(super) fn bulk_insert(c: &Connection, batch: &[BulkApplication]) -> rusqlite::Result<()> {
    // A preload inserts millions of rows into indexes with random keys: a 1 GiB page cache
    // keeps their upper levels and most leaves in memory (bulk loads run only in
    // `mpass demo`, never in a serving process).
    c.execute_batch("PRAGMA cache_size = -1048576")?;
    let mut user = c.prepare_cached("INSERT OR IGNORE INTO users (id, phone, created_at) VALUES (?1, ?2, ?3)")?;
    let mut app = c.prepare_cached(
        "INSERT INTO applications (id, user_id, status, details, start_at, end_at, decision, pass_id, submitted_at,
             updated_at, vehicle_reg, review_district, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for b in batch {
        let a: &Application = &b.app;
        user.execute(params![a.user_id.to_string(), b.phone.as_str(), ms(a.submitted_at)])?;
        app.execute(params![
            a.id.to_string(),
            a.user_id.to_string(),
            a.status.as_str(),
            to_json(&a.details),
            ms(a.details.start),
            ms(a.details.end()),
            a.decision.as_ref().map(to_json),
            a.pass_id.map(|p| p.to_string()),
            ms(a.submitted_at),
            ms(a.updated_at),
            a.details.vehicle.as_ref().map(|v| v.registration_key()),
            b.review_district,
            b.decided_at.map(ms),
        ])?;
        if let Some(p) = &b.pass {
            super::applications::insert_pass(c, p)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mpass_domain::application::Status;
    use mpass_domain::stats::scans::{BoundingBox, ScanDim, ScanQuery};
    use mpass_domain::stats::{CountQuery, Dim, LatencyQuery};
    use rusqlite::Connection;

    use crate::stats_sql::{self, Arg, Dialect, Source};

    /// The query plan's lines for `sql`, with every placeholder bound.
    fn plan(c: &Connection, sql: &str, args: &[Arg]) -> Vec<String> {
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = st
            .query_map(rusqlite::params_from_iter(super::bind(args)), |r| r.get::<_, String>(3))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Every question the API and the dashboard ask reads only counter tables (and the
    /// checkpoints, for "near a point"), by primary key when it has a time range; none
    /// touches `applications` or `scans`, whatever their size.
    #[test]
    fn statistics_read_only_the_counters() {
        let c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&c).unwrap();
        let range = |group: Vec<Dim>| CountQuery {
            from_hour: Some(500_000),
            to_hour: Some(500_024),
            group,
            ..CountQuery::default()
        };
        let mut asked = Vec::new();
        for q in [
            range(vec![Dim::Status]),
            CountQuery {
                area: Some("3026".into()),
                reason: Some("medical".into()),
                status: Some(Status::Approved),
                ..range(vec![Dim::Hour])
            },
            range(vec![Dim::District, Dim::Status]),
            CountQuery {
                area: Some("30".into()),
                ..range(vec![Dim::Thana, Dim::Status])
            },
        ] {
            // What `counts` runs on SQLite: summed as read, or the rows summed in Rust.
            let b = if stats_sql::groups_in_key_order(&q) {
                let b = stats_sql::counts(Dialect::Sqlite, &q, Source::Counters);
                let lines = plan(&c, &b.sql, &b.args);
                assert!(!lines.iter().any(|l| l.contains("TEMP B-TREE")), "{lines:?}");
                b
            } else {
                stats_sql::counter_rows(Dialect::Sqlite, &q)
            };
            asked.push((b.sql, b.args));
        }
        let l = stats_sql::latency(
            Dialect::Sqlite,
            &LatencyQuery {
                from_hour: Some(500_000),
                to_hour: Some(500_024),
                area: Some("3026".into()),
            },
            Source::Counters,
        );
        asked.push((l.sql, l.args));
        for q in [
            ScanQuery {
                from_hour: Some(500_000),
                to_hour: Some(500_024),
                area: Some("3026".into()),
                group: vec![ScanDim::Result],
                ..ScanQuery::default()
            },
            ScanQuery {
                from_hour: Some(500_000),
                to_hour: Some(500_024),
                within: Some(BoundingBox {
                    lat_min: 23.6,
                    lat_max: 23.8,
                    lon_min: 90.3,
                    lon_max: 90.5,
                }),
                group: vec![ScanDim::Checkpoint, ScanDim::District, ScanDim::Result],
                ..ScanQuery::default()
            },
        ] {
            let b = stats_sql::scans::scan_counts(Dialect::Sqlite, &q, Source::Counters);
            asked.push((b.sql, b.args));
        }
        // `/metrics`' totals by status read the district counters only, never `applications`.
        let totals = plan(&c, &stats_sql::status_totals(Dialect::Sqlite), &[]);
        assert!(
            totals.iter().any(|l| l.starts_with("SCAN stats_district_hourly"))
                && !totals.iter().any(|l| l.contains("applications")),
            "{totals:?}"
        );
        // The check itself sees a table scan: the direct counts do read the source tables.
        let direct = stats_sql::counts(Dialect::Sqlite, &range(vec![Dim::Status]), Source::Direct);
        assert!(
            plan(&c, &direct.sql, &direct.args)
                .iter()
                .any(|l| l.starts_with("SCAN applications"))
        );
        let direct = stats_sql::scans::scan_counts(Dialect::Sqlite, &ScanQuery::default(), Source::Direct);
        assert!(
            plan(&c, &direct.sql, &direct.args)
                .iter()
                .any(|l| l.starts_with("SCAN scans"))
        );
        for (sql, args) in asked {
            let lines = plan(&c, &sql, &args);
            let tables: Vec<&str> = lines
                .iter()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    matches!(w.next(), Some("SCAN" | "SEARCH")).then(|| w.next()).flatten()
                })
                .collect();
            assert!(!tables.is_empty(), "{sql}: {lines:?}");
            for t in &tables {
                assert!(
                    t.starts_with("stats_") || *t == "checkpoints",
                    "{sql} reads {t}: {lines:?}"
                );
            }
            let counter = lines.iter().find(|l| l.contains(" stats_")).expect("a counter table");
            assert!(
                counter.starts_with("SEARCH") && counter.contains("PRIMARY KEY (hour>? AND hour<?)"),
                "{sql}: the range is a key range: {lines:?}"
            );
        }
    }
}
