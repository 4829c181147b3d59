//! Police verification on SQLite: checkpoints and the scan log (each scan counted in
//! `stats_scans_hourly` in the transaction that logs it).

use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::scan::{Scan, ScanRecorded, ScanSource};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::{audit, counters, from_ms, json_col, ms, to_json, travel};
use crate::stats_sql::scans as scan_stats;

const CHECKPOINT_COLUMNS: &str = "id, name, lat, lon, area, created_at";
const SCAN_COLUMNS: &str = "id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons, \
                            device_result, scanned_at, received_at, source, flagged, area";

pub(super) fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnName(format!("corrupt {what}"))
}

fn colour(s: &str) -> rusqlite::Result<VerdictColour> {
    json_col(&format!("\"{s}\""))
}

fn colour_text(c: VerdictColour) -> &'static str {
    match c {
        VerdictColour::Green => "green",
        VerdictColour::Amber => "amber",
        VerdictColour::Red => "red",
    }
}

fn checkpoint_from_row(r: &Row<'_>) -> rusqlite::Result<Checkpoint> {
    let id: String = r.get(0)?;
    Ok(Checkpoint {
        id: CheckpointId::parse(&id).ok_or_else(|| bad("checkpoint id"))?,
        name: r.get(1)?,
        lat: r.get(2)?,
        lon: r.get(3)?,
        area: r.get(4)?,
        created_at: from_ms(r.get(5)?),
    })
}

fn scan_from_row(r: &Row<'_>) -> rusqlite::Result<Scan> {
    let id: String = r.get(0)?;
    let client: Option<String> = r.get(1)?;
    let officer: String = r.get(2)?;
    let pass: Option<String> = r.get(3)?;
    let checkpoint: Option<String> = r.get(4)?;
    let result: String = r.get(7)?;
    let reasons: String = r.get(8)?;
    let device: Option<String> = r.get(9)?;
    let source: String = r.get(12)?;
    Ok(Scan {
        id: ScanId::parse(&id).ok_or_else(|| bad("scan id"))?,
        client_id: client
            .map(|c| uuid::Uuid::try_parse(&c).map_err(|_| bad("client id")))
            .transpose()?,
        officer: UserId::parse(&officer).ok_or_else(|| bad("officer"))?,
        pass_id: pass
            .map(|p| PassId::parse(&p).ok_or_else(|| bad("pass id")))
            .transpose()?,
        checkpoint_id: checkpoint
            .map(|c| CheckpointId::parse(&c).ok_or_else(|| bad("checkpoint id")))
            .transpose()?,
        area: r.get(14)?,
        lat: r.get(5)?,
        lon: r.get(6)?,
        result: colour(&result)?,
        reasons: json_col::<Vec<ReasonCode>>(&reasons)?,
        device_result: device.as_deref().map(colour).transpose()?,
        scanned_at: from_ms(r.get(10)?),
        received_at: from_ms(r.get(11)?),
        source: ScanSource::parse(&source).ok_or_else(|| bad("scan source"))?,
        flagged: r.get(13)?,
    })
}

pub(super) fn checkpoint_create(c: &Connection, cp: &Checkpoint, actor: Actor) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO checkpoints (id, name, lat, lon, area, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![
            cp.id.to_string(),
            cp.name,
            cp.lat,
            cp.lon,
            cp.area,
            ms(cp.created_at)
        ])?;
    audit::append(c, AuditEvent::checkpoint_created(actor, cp))?;
    Ok(())
}

pub(super) fn checkpoints(c: &Connection) -> rusqlite::Result<Vec<Checkpoint>> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE deleted_at IS NULL ORDER BY name, id");
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map([], checkpoint_from_row)?;
    rows.collect()
}

pub(super) fn checkpoint(c: &Connection, id: CheckpointId) -> rusqlite::Result<Option<Checkpoint>> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = ?1 AND deleted_at IS NULL");
    c.prepare_cached(&sql)?
        .query_row([id.to_string()], checkpoint_from_row)
        .optional()
}

pub(super) fn checkpoint_delete(c: &Connection, id: CheckpointId, actor: Actor, now: i64) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached("UPDATE checkpoints SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL")?
        .execute(params![id.to_string(), now])?;
    if n == 0 {
        return Ok(false);
    }
    audit::append(c, AuditEvent::checkpoint_deleted(from_ms(now), actor, id))?;
    Ok(true)
}

fn insert_scan(c: &Connection, s: &Scan, or_ignore: bool) -> rusqlite::Result<usize> {
    // The statement's text is a constant: `prepare_cached` finds it without a `format!` per
    // scan, and the ids are written into buffers on the stack, not into new strings.
    macro_rules! insert {
        ($verb:literal) => {
            concat!(
                $verb,
                " INTO scans (id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons,
                     device_result, scanned_at, received_at, source, flagged, area)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            )
        };
    }
    const OR_IGNORE: &str = insert!("INSERT OR IGNORE");
    const PLAIN: &str = insert!("INSERT");
    let mut buffers = [Uuid::encode_buffer(); 5];
    let [id, client, officer, pass, checkpoint] = &mut buffers;
    c.prepare_cached(if or_ignore { OR_IGNORE } else { PLAIN })?
        .execute(params![
            s.id.0.hyphenated().encode_lower(id) as &str,
            s.client_id.map(|u| &*u.hyphenated().encode_lower(client)),
            s.officer.0.hyphenated().encode_lower(officer) as &str,
            s.pass_id.map(|p| &*p.0.hyphenated().encode_lower(pass)),
            s.checkpoint_id.map(|p| &*p.0.hyphenated().encode_lower(checkpoint)),
            s.lat,
            s.lon,
            colour_text(s.result),
            to_json(&s.reasons),
            s.device_result.map(colour_text),
            ms(s.scanned_at),
            ms(s.received_at),
            s.source.as_str(),
            s.flagged,
            s.area,
        ])
}

/// Logs a scan and counts it, or finds the upload logged before (counted then).
pub(super) fn scan_record(c: &Connection, s: &Scan) -> rusqlite::Result<ScanRecorded> {
    if insert_scan(c, s, true)? == 1 {
        travel::logged(c, s, c.last_insert_rowid())?;
        count_scan(c, s)?;
        return Ok(ScanRecorded::Inserted);
    }
    let Some(client) = s.client_id else {
        return Err(bad("scan id collision"));
    };
    let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE officer = ?1 AND client_id = ?2");
    let first = c.prepare_cached(&sql)?.query_row(
        params![s.officer.to_string(), client.hyphenated().to_string()],
        scan_from_row,
    )?;
    Ok(ScanRecorded::Duplicate(Box::new(first)))
}

pub(super) fn scans_list(
    c: &Connection,
    flagged_only: bool,
    before: Option<ScanId>,
    limit: u32,
) -> rusqlite::Result<Vec<Scan>> {
    // UUIDv7 text sorts in time order; "~" sorts after every id.
    let before = before.map_or_else(|| "~".to_string(), |b| b.to_string());
    let sql = if flagged_only {
        format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE flagged = 1 AND id < ?1 ORDER BY id DESC LIMIT CAST(?2 AS INTEGER)"
        )
    } else {
        format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id < ?1 ORDER BY id DESC LIMIT CAST(?2 AS INTEGER)")
    };
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![before, limit], scan_from_row)?;
    rows.collect()
}

fn count_scan(c: &Connection, s: &Scan) -> rusqlite::Result<()> {
    let (hour, district, checkpoint) = scan_stats::key_of(s);
    let row = counters::Row {
        table: counters::Table::Scans,
        key: vec![
            hour.into(),
            district.into(),
            checkpoint.into(),
            colour_text(s.result).into(),
        ],
    };
    counters::add(c, row, 1)
}

/// Stores synthetic scans as they are (`mpass demo`; the counters are left to a rebuild).
pub(super) fn bulk_insert_scans(c: &Connection, batch: &[Scan]) -> rusqlite::Result<()> {
    for s in batch {
        insert_scan(c, s, false)?;
        travel::logged_now(c, s, c.last_insert_rowid())?;
    }
    travel::bulk_done(c)?;
    Ok(())
}

/// Every checkpoint ever created, with when it was deleted.
pub(super) fn checkpoints_with_deleted(c: &Connection) -> rusqlite::Result<Vec<(Checkpoint, Option<i64>)>> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS}, deleted_at FROM checkpoints ORDER BY name, id");
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map([], |r| Ok((checkpoint_from_row(r)?, r.get(6)?)))?;
    rows.collect()
}
