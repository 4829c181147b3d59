//! Police verification on PostgreSQL: checkpoints and the scan log (each scan counted in
//! `stats_scans_hourly` by the same statement that logs it).

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::scan::{Scan, ScanPoint, ScanRecorded, ScanSource, TRAVEL_HISTORY, TRAVEL_HORIZON, TravelPoint};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{PgError, audit, big, exec, from_json, from_ms, ms, query, query_one, query_opt, to_json};
use crate::stats_sql::Dialect;
use crate::stats_sql::scans as scan_stats;

const CHECKPOINT_COLUMNS: &str = "id, name, lat, lon, area, created_at";
const SCAN_COLUMNS: &str = "id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons::text, \
                            device_result, scanned_at, received_at, source, flagged, area";

fn colour(s: &str) -> Result<VerdictColour, PgError> {
    from_json(&format!("\"{s}\""), "scan result")
}

fn colour_text(c: VerdictColour) -> &'static str {
    match c {
        VerdictColour::Green => "green",
        VerdictColour::Amber => "amber",
        VerdictColour::Red => "red",
    }
}

fn checkpoint_from_row(r: &Row) -> Result<Checkpoint, PgError> {
    Ok(Checkpoint {
        id: CheckpointId(r.try_get(0)?),
        name: r.try_get(1)?,
        lat: r.try_get(2)?,
        lon: r.try_get(3)?,
        area: r.try_get(4)?,
        created_at: from_ms(r.try_get(5)?),
    })
}

fn scan_from_row(r: &Row) -> Result<Scan, PgError> {
    let source: String = r.try_get(12)?;
    Ok(Scan {
        id: ScanId(r.try_get(0)?),
        client_id: r.try_get(1)?,
        officer: UserId(r.try_get(2)?),
        pass_id: r.try_get::<_, Option<Uuid>>(3)?.map(PassId),
        checkpoint_id: r.try_get::<_, Option<Uuid>>(4)?.map(CheckpointId),
        area: r.try_get(14)?,
        lat: r.try_get(5)?,
        lon: r.try_get(6)?,
        result: colour(&r.try_get::<_, String>(7)?)?,
        reasons: from_json::<Vec<ReasonCode>>(&r.try_get::<_, String>(8)?, "scan reasons")?,
        device_result: r.try_get::<_, Option<String>>(9)?.as_deref().map(colour).transpose()?,
        scanned_at: from_ms(r.try_get(10)?),
        received_at: from_ms(r.try_get(11)?),
        source: ScanSource::parse(&source).ok_or_else(|| PgError::Corrupt(format!("scan source {source}")))?,
        flagged: r.try_get(13)?,
    })
}

pub(super) async fn checkpoint_create(c: &impl GenericClient, cp: &Checkpoint, actor: Actor) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO checkpoints (id, name, lat, lon, area, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&cp.id.0, &cp.name, &cp.lat, &cp.lon, &cp.area, &ms(cp.created_at)],
    )
    .await?;
    audit::append(c, AuditEvent::checkpoint_created(actor, cp)).await?;
    Ok(())
}

pub(super) async fn checkpoints(c: &impl GenericClient) -> Result<Vec<Checkpoint>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE deleted_at IS NULL ORDER BY name, id");
    query(c, &sql, &[]).await?.iter().map(checkpoint_from_row).collect()
}

pub(super) async fn checkpoint(c: &impl GenericClient, id: CheckpointId) -> Result<Option<Checkpoint>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = $1 AND deleted_at IS NULL");
    query_opt(c, &sql, &[&id.0])
        .await?
        .as_ref()
        .map(checkpoint_from_row)
        .transpose()
}

pub(super) async fn checkpoint_delete(
    c: &impl GenericClient,
    id: CheckpointId,
    actor: Actor,
    now: i64,
) -> Result<bool, PgError> {
    let n = exec(
        c,
        "UPDATE checkpoints SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[&id.0, &now],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    audit::append(c, AuditEvent::checkpoint_deleted(from_ms(now), actor, id)).await?;
    Ok(true)
}

/// Rows per scan counter key (busy checkpoints see concurrent scans).
const SHARDS: u8 = 8;

/// Logs a scan and counts it, in one statement (a data-modifying CTE is atomic): the
/// counter moves only when the scan row is inserted, so a repeated upload counts nothing.
/// A scan as the 15 parameters of `INSERT_SCAN`.
const INSERT_SCAN: &str =
    "INSERT INTO scans (id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons,
         device_result, scanned_at, received_at, source, flagged, area)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11, $12, $13, $14, $15)";

/// The values of a scan's row that are computed, kept alive for the parameter list.
struct ScanRow<'a> {
    scan: &'a Scan,
    pass_id: Option<Uuid>,
    checkpoint_id: Option<Uuid>,
    result: &'static str,
    reasons: String,
    device_result: Option<&'static str>,
    scanned_at: i64,
    received_at: i64,
    source: &'static str,
}

impl<'a> ScanRow<'a> {
    fn new(s: &'a Scan) -> ScanRow<'a> {
        ScanRow {
            scan: s,
            pass_id: s.pass_id.map(|p| p.0),
            checkpoint_id: s.checkpoint_id.map(|p| p.0),
            result: colour_text(s.result),
            reasons: to_json(&s.reasons),
            device_result: s.device_result.map(colour_text),
            scanned_at: ms(s.scanned_at),
            received_at: ms(s.received_at),
            source: s.source.as_str(),
        }
    }

    /// `$1`–`$15` of `INSERT_SCAN`.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let s = self.scan;
        vec![
            &s.id.0,
            &s.client_id,
            &s.officer.0,
            &self.pass_id,
            &self.checkpoint_id,
            &s.lat,
            &s.lon,
            &self.result,
            &self.reasons,
            &self.device_result,
            &self.scanned_at,
            &self.received_at,
            &self.source,
            &s.flagged,
            &s.area,
        ]
    }
}

pub(super) async fn scan_record(c: &impl GenericClient, s: &Scan) -> Result<ScanRecorded, PgError> {
    let (hour, district, checkpoint) = scan_stats::key_of(s);
    let shard = i16::from(s.id.0.as_bytes()[15] % SHARDS);
    let sql = format!(
        "WITH logged AS ({INSERT_SCAN}
             ON CONFLICT (officer, client_id) WHERE client_id IS NOT NULL DO NOTHING
             RETURNING 1)
         {}",
        scan_stats::upsert(
            Dialect::Postgres,
            "SELECT $16::bigint, $17::text, $18::text, $8, $19::smallint, 1 FROM logged"
        )
    );
    let row = ScanRow::new(s);
    let mut params = row.params();
    params.extend([&hour as &(dyn ToSql + Sync), &district, &checkpoint, &shard]);
    let n = exec(c, &sql, &params).await?;
    if n == 1 {
        return Ok(ScanRecorded::Inserted);
    }
    let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE officer = $1 AND client_id = $2");
    let row = query_one(c, &sql, &[&s.officer.0, &s.client_id]).await?;
    Ok(ScanRecorded::Duplicate(Box::new(scan_from_row(&row)?)))
}

/// Impossible travel's scans of a pass around `at` (`Store::travel_points`), from the
/// covering index `scans_travel` (an index-only scan once the table is vacuumed).
pub(super) async fn travel_points(
    c: &impl GenericClient,
    pass: PassId,
    at: OffsetDateTime,
) -> Result<Vec<TravelPoint>, PgError> {
    let sql = "SELECT id, lat, lon, scanned_at FROM scans
               WHERE pass_id = $1 AND lat IS NOT NULL AND lon IS NOT NULL AND scanned_at BETWEEN $2 AND $3
               ORDER BY scanned_at DESC LIMIT $4";
    let (from, to) = (ms(at - TRAVEL_HORIZON), ms(at + TRAVEL_HORIZON));
    query(c, sql, &[&pass.0, &from, &to, &big(TRAVEL_HISTORY)])
        .await?
        .iter()
        .map(|r| {
            Ok(TravelPoint {
                scan: ScanId(r.try_get(0)?),
                point: ScanPoint {
                    lat: r.try_get(1)?,
                    lon: r.try_get(2)?,
                    at: from_ms(r.try_get(3)?),
                },
            })
        })
        .collect()
}

pub(super) async fn scans_list(
    c: &impl GenericClient,
    flagged_only: bool,
    before: Option<ScanId>,
    limit: u32,
) -> Result<Vec<Scan>, PgError> {
    let before = before.map(|b| b.0);
    let sql = format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE ($1::uuid IS NULL OR id < $1) AND (NOT $2 OR flagged)
         ORDER BY id DESC LIMIT $3"
    );
    query(c, &sql, &[&before, &flagged_only, &big(limit)])
        .await?
        .iter()
        .map(scan_from_row)
        .collect()
}

/// Stores synthetic scans as they are (`mpass demo`; the counters are left to a rebuild).
/// One statement for the whole batch (`unnest` of column arrays).
pub(super) async fn bulk_insert_scans(c: &impl GenericClient, batch: &[Scan]) -> Result<(), PgError> {
    let rows: Vec<ScanRow> = batch.iter().map(ScanRow::new).collect();
    let ids: Vec<_> = batch.iter().map(|s| s.id.0).collect();
    let clients: Vec<_> = batch.iter().map(|s| s.client_id).collect();
    let officers: Vec<_> = batch.iter().map(|s| s.officer.0).collect();
    let passes: Vec<_> = rows.iter().map(|r| r.pass_id).collect();
    let checkpoints: Vec<_> = rows.iter().map(|r| r.checkpoint_id).collect();
    let lats: Vec<_> = batch.iter().map(|s| s.lat).collect();
    let lons: Vec<_> = batch.iter().map(|s| s.lon).collect();
    let results: Vec<_> = rows.iter().map(|r| r.result).collect();
    let reasons: Vec<_> = rows.iter().map(|r| r.reasons.as_str()).collect();
    let device: Vec<_> = rows.iter().map(|r| r.device_result).collect();
    let scanned: Vec<_> = rows.iter().map(|r| r.scanned_at).collect();
    let received: Vec<_> = rows.iter().map(|r| r.received_at).collect();
    let sources: Vec<_> = rows.iter().map(|r| r.source).collect();
    let flagged: Vec<_> = batch.iter().map(|s| s.flagged).collect();
    let areas: Vec<_> = batch.iter().map(|s| s.area.as_deref()).collect();
    exec(
        c,
        "INSERT INTO scans (id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons,
             device_result, scanned_at, received_at, source, flagged, area)
         SELECT id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons::jsonb,
             device_result, scanned_at, received_at, source, flagged, area
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::float8[], $7::float8[],
             $8::text[], $9::text[], $10::text[], $11::int8[], $12::int8[], $13::text[], $14::bool[], $15::text[])
             AS u(id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons, device_result,
                  scanned_at, received_at, source, flagged, area)",
        &[
            &ids,
            &clients,
            &officers,
            &passes,
            &checkpoints,
            &lats,
            &lons,
            &results,
            &reasons,
            &device,
            &scanned,
            &received,
            &sources,
            &flagged,
            &areas,
        ],
    )
    .await?;
    Ok(())
}

/// Every checkpoint ever created, with when it was deleted.
pub(super) async fn checkpoints_with_deleted(
    c: &impl GenericClient,
) -> Result<Vec<(Checkpoint, Option<i64>)>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS}, deleted_at FROM checkpoints ORDER BY name, id");
    query(c, &sql, &[])
        .await?
        .iter()
        .map(|r| Ok((checkpoint_from_row(r)?, r.try_get(6)?)))
        .collect()
}
