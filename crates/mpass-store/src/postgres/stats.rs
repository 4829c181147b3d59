//! Statistics counters on PostgreSQL: changed inside the transaction of every status
//! change, read from the rollups, rebuilt from the source tables.
//!
//! A status change does not update the counter rows themselves: concurrent changes under
//! one key (the same hour, thana, reason and status, as every submission from a launch
//! day's busiest thana is) would queue on those rows' locks until each committed; on one
//! machine 411 of 540 samples of the busy backends were waiting on them (twenty-seventh
//! round, docs/BENCHMARKS-HISTORY.md). It appends its changes to the `_pending` tables
//! (migration 13), one statement for the thana and district rows, which takes no lock
//! another writer waits for; [`fold`], which every node runs a few times a second, moves
//! them into the counters in one statement per table. Reads sum both
//! (`stats_sql::Dialect::counters`), so an answer never depends on whether a fold ran.
//! The scan counters are moved by each batch of the scan log (`verification.rs`,
//! `scan_log`), once per batch and key.

use deadpool_postgres::GenericClient;
use mpass_domain::application::Status;
use mpass_domain::ids::ApplicationId;
use mpass_domain::stats::scans::{ScanCountRow, ScanDim, ScanQuery, parse_result};
use mpass_domain::stats::{
    AppKey, BulkApplication, CountQuery, CountRow, Dim, LatencyHistogram, LatencyQuery, RebuildReport, Standing,
    deltas, hour_of_ms, latency_bucket,
};
use tokio_postgres::types::ToSql;

use super::{PgError, exec, ms, query, query_one, to_json};
use crate::stats_sql::{self, Arg, Built, Dialect, Source};

/// The key and submission time (unix ms) of a stored application, read by id.
pub(super) async fn key_of(c: &impl GenericClient, id: ApplicationId) -> Result<(AppKey, i64), PgError> {
    let r = query_one(
        c,
        "SELECT submitted_at, details->'from'->>'area', details->>'reason' FROM applications WHERE id = $1",
        &[&id.0],
    )
    .await?;
    let submitted: i64 = r.try_get(0)?;
    Ok((
        AppKey {
            hour: hour_of_ms(submitted),
            thana: r.try_get(1)?,
            reason: r.try_get(2)?,
        },
        submitted,
    ))
}

/// Moves an application's count from `from` to `to` in both counter tables: appended to
/// their `_pending` tables in one statement, for [`fold`] to move into the counters.
pub(super) async fn shift(
    c: &impl GenericClient,
    key: &AppKey,
    from: Option<Standing>,
    to: Option<Standing>,
) -> Result<(), PgError> {
    let d = deltas(from, to);
    if d.is_empty() {
        return Ok(());
    }
    let statuses: Vec<&'static str> = d.iter().map(|(s, _)| s.status.as_str()).collect();
    let has: Vec<i16> = d.iter().map(|(s, _)| i16::from(s.has_pass)).collect();
    let ns: Vec<i64> = d.iter().map(|(_, n)| *n).collect();
    exec(
        c,
        "WITH thana AS (
             INSERT INTO stats_thana_pending (hour, area, reason, status, has_pass, n)
             SELECT $1, $2, $4, status, has_pass, n FROM unnest($5::text[], $6::int2[], $7::int8[]) AS u(status, has_pass, n))
         INSERT INTO stats_district_pending (hour, area, reason, status, has_pass, n)
         SELECT $1, $3, $4, status, has_pass, n FROM unnest($5::text[], $6::int2[], $7::int8[]) AS u(status, has_pass, n)",
        &[&key.hour, &key.thana, &key.district(), &key.reason, &statuses, &has, &ns],
    )
    .await?;
    Ok(())
}

/// Counts a first decision in the latency histogram (its `_pending` table, as [`shift`]).
pub(super) async fn decided(
    c: &impl GenericClient,
    key: &AppKey,
    submitted_ms: i64,
    decided_ms: i64,
) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO stats_latency_pending (hour, area, bucket, n) VALUES ($1, $2, $3, 1)",
        &[
            &hour_of_ms(decided_ms),
            &key.district(),
            &latency_bucket(decided_ms - submitted_ms),
        ],
    )
    .await?;
    Ok(())
}

/// Moves the pending counter changes into the counters, one statement per table (the
/// changes it deletes are the ones it adds, in one snapshot; a change committed meanwhile
/// waits for the next fold), each counter row once, in key order. Several nodes may fold
/// at once: a row another fold deleted first is skipped. Returns the changes moved.
pub(super) async fn fold(c: &impl GenericClient) -> Result<u64, PgError> {
    let mut moved = 0;
    for (table, key) in [
        ("stats_thana", "hour, area, reason, status, has_pass"),
        ("stats_district", "hour, area, reason, status, has_pass"),
        ("stats_latency", "hour, area, bucket"),
    ] {
        let sql = format!(
            "WITH moved AS (DELETE FROM {table}_pending RETURNING {key}, n),
                  folded AS (
                      INSERT INTO {table}_hourly ({key}, n)
                      SELECT {key}, sum(n) FROM moved GROUP BY {key} ORDER BY {key}
                      ON CONFLICT ({key}, shard) DO UPDATE SET n = {table}_hourly.n + excluded.n)
             SELECT count(*) FROM moved"
        );
        moved += query_one(c, &sql, &[]).await?.try_get::<_, i64>(0)?;
    }
    Ok(u64::try_from(moved).unwrap_or(0))
}

fn params(args: &[Arg]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    args.iter()
        .map(|a| -> Box<dyn ToSql + Sync + Send> {
            match a {
                Arg::Int(i) => Box::new(*i),
                Arg::Text(t) => Box::new(t.clone()),
                Arg::Float(f) => Box::new(*f),
            }
        })
        .collect()
}

async fn run_sql(c: &impl GenericClient, sql: &str, args: &[Arg]) -> Result<Vec<tokio_postgres::Row>, PgError> {
    let boxed = params(args);
    let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    query(c, sql, &refs).await
}

pub(super) async fn scan_counts(
    c: &impl GenericClient,
    q: &ScanQuery,
    source: Source,
) -> Result<Vec<ScanCountRow>, PgError> {
    let b = stats_sql::scans::scan_counts(Dialect::Postgres, q, source);
    let rows = run_sql(c, &b.sql, &b.args).await?;
    rows.iter()
        .map(|r| {
            let mut row = ScanCountRow::default();
            for (i, dim) in b.dims.iter().enumerate() {
                match dim {
                    ScanDim::Hour => row.hour = Some(r.try_get(i)?),
                    ScanDim::District => row.district = Some(r.try_get(i)?),
                    ScanDim::Checkpoint => row.checkpoint = Some(r.try_get(i)?),
                    ScanDim::Result => {
                        let s: String = r.try_get(i)?;
                        row.result =
                            Some(parse_result(&s).ok_or_else(|| PgError::Corrupt(format!("scan result {s}")))?);
                    }
                }
            }
            row.n = r.try_get(b.dims.len())?;
            Ok(row)
        })
        .collect()
}

async fn run(c: &impl GenericClient, b: &Built) -> Result<Vec<tokio_postgres::Row>, PgError> {
    run_sql(c, &b.sql, &b.args).await
}

pub(super) async fn counts(c: &impl GenericClient, q: &CountQuery, source: Source) -> Result<Vec<CountRow>, PgError> {
    let b = stats_sql::counts(Dialect::Postgres, q, source);
    let rows = run(c, &b).await?;
    rows.iter()
        .map(|r| {
            let mut row = CountRow::default();
            for (i, dim) in b.dims.iter().enumerate() {
                match dim {
                    Dim::Hour => row.hour = Some(r.try_get(i)?),
                    Dim::Division | Dim::District | Dim::Thana => row.area = Some(r.try_get(i)?),
                    Dim::Reason => row.reason = Some(r.try_get(i)?),
                    Dim::Status => {
                        let s: String = r.try_get(i)?;
                        row.status = Some(Status::parse(&s).ok_or_else(|| PgError::Corrupt(format!("status {s}")))?);
                    }
                }
            }
            row.n = r.try_get(b.dims.len())?;
            row.with_pass = r.try_get(b.dims.len() + 1)?;
            Ok(row)
        })
        .collect()
}

pub(super) async fn latency(
    c: &impl GenericClient,
    q: &LatencyQuery,
    source: Source,
) -> Result<LatencyHistogram, PgError> {
    let b = stats_sql::latency(Dialect::Postgres, q, source);
    let rows = run(c, &b).await?;
    let rows: Vec<(i16, i64)> = rows
        .iter()
        .map(|r| Ok((r.try_get::<_, i64>(0)? as i16, r.try_get::<_, i64>(1)?)))
        .collect::<Result<_, PgError>>()?;
    Ok(LatencyHistogram::from_rows(&rows))
}

/// Recomputes every counter in the caller's transaction. The exclusive table locks wait
/// for transitions that have already counted and make later ones wait until the commit;
/// a transition that changed its row but has not counted yet is invisible to the rebuild
/// (not committed) and counts after it: either way it is counted exactly once.
pub(super) async fn rebuild(c: &impl GenericClient) -> Result<RebuildReport, PgError> {
    c.batch_execute(
        "LOCK TABLE stats_thana_pending, stats_district_pending, stats_latency_pending,
             stats_thana_hourly, stats_district_hourly, stats_latency_hourly, stats_scans_hourly IN EXCLUSIVE MODE",
    )
    .await?;
    for sql in stats_sql::rebuild(Dialect::Postgres)
        .into_iter()
        .chain(stats_sql::scans::rebuild(Dialect::Postgres))
    {
        c.batch_execute(&sql).await?;
    }
    let one = |sql: &'static str| async move {
        query_one(c, sql, &[])
            .await?
            .try_get::<_, i64>(0)
            .map_err(PgError::from)
    };
    Ok(RebuildReport {
        applications: one("SELECT count(*) FROM applications").await?,
        count_rows: one("SELECT count(*) FROM stats_thana_hourly").await?,
        latency_rows: one("SELECT count(*) FROM stats_latency_hourly").await?,
        scans: one("SELECT count(*) FROM scans").await?,
        scan_rows: one("SELECT count(*) FROM stats_scans_hourly").await?,
    })
}

/// Stores synthetic applications and their users as they are (counters left to a rebuild):
/// one statement per table for the whole batch (`unnest` of column arrays), not a round
/// trip per row.
pub(super) async fn bulk_insert(c: &impl GenericClient, batch: &[BulkApplication]) -> Result<(), PgError> {
    let apps = || batch.iter().map(|b| &b.app);
    let user_ids: Vec<_> = apps().map(|a| a.user_id.0).collect();
    let phones: Vec<&str> = batch.iter().map(|b| b.phone.as_str()).collect();
    let submitted: Vec<i64> = apps().map(|a| ms(a.submitted_at)).collect();
    exec(
        c,
        "INSERT INTO users (id, phone, created_at) SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[])
         ON CONFLICT DO NOTHING",
        &[&user_ids, &phones, &submitted],
    )
    .await?;
    let ids: Vec<_> = apps().map(|a| a.id.0).collect();
    let statuses: Vec<&str> = apps().map(|a| a.status.as_str()).collect();
    let details: Vec<String> = apps().map(|a| to_json(&a.details)).collect();
    let starts: Vec<i64> = apps().map(|a| ms(a.details.start)).collect();
    let ends: Vec<i64> = apps().map(|a| ms(a.details.end())).collect();
    let decisions: Vec<Option<String>> = apps().map(|a| a.decision.as_ref().map(to_json)).collect();
    let pass_ids: Vec<_> = apps().map(|a| a.pass_id.map(|p| p.0)).collect();
    let updated: Vec<i64> = apps().map(|a| ms(a.updated_at)).collect();
    let vehicles: Vec<Option<String>> = apps()
        .map(|a| a.details.vehicle.as_ref().map(|v| v.registration_key()))
        .collect();
    let review: Vec<Option<&str>> = batch.iter().map(|b| b.review_district.as_deref()).collect();
    let decided: Vec<Option<i64>> = batch.iter().map(|b| b.decided_at.map(ms)).collect();
    exec(
        c,
        "INSERT INTO applications (id, user_id, status, details, start_at, end_at, decision, pass_id, submitted_at,
             updated_at, vehicle_reg, review_district, decided_at)
         SELECT id, user_id, status, details::jsonb, start_at, end_at, decision::jsonb, pass_id, submitted_at,
             updated_at, vehicle_reg, review_district, decided_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[], $8::uuid[],
             $9::int8[], $10::int8[], $11::text[], $12::text[], $13::int8[])
             AS u(id, user_id, status, details, start_at, end_at, decision, pass_id, submitted_at, updated_at,
                  vehicle_reg, review_district, decided_at)",
        &[
            &ids, &user_ids, &statuses, &details, &starts, &ends, &decisions, &pass_ids, &submitted, &updated,
            &vehicles, &review, &decided,
        ],
    )
    .await?;
    let passes: Vec<_> = batch.iter().filter_map(|b| b.pass.as_ref()).collect();
    super::applications::bulk_insert_passes(c, &passes).await
}
