//! The audit log: appended inside the writer's transaction, so the chain is linear.

use mpass_domain::audit::{AuditEntry, AuditEvent, GENESIS_HASH};
use rusqlite::{Connection, OptionalExtension, params};

use super::{from_ms, json_col, ms};

/// Appends `event` after the last entry. Must run in a write transaction: the single
/// writer (and `BEGIN IMMEDIATE` against other processes) makes read-last-then-insert safe.
pub(super) fn append(c: &Connection, event: AuditEvent) -> rusqlite::Result<AuditEntry> {
    let last: Option<(i64, String)> = c
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = last.map_or((1, GENESIS_HASH.to_string()), |(s, h)| (s + 1, h));
    let e = event.seal(seq, &prev);
    c.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.seq,
        ms(e.at),
        e.actor,
        e.action,
        e.subject,
        mpass_domain::audit::canonical_json(&e.data),
        e.prev_hash,
        e.hash
    ])?;
    Ok(e)
}

pub(super) fn list(c: &Connection, after: i64, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut st = c.prepare_cached(
        "SELECT seq, at, actor, action, subject, data, prev_hash, hash FROM audit_log
         WHERE seq > ?1 ORDER BY seq LIMIT CAST(?2 AS INTEGER)",
    )?;
    let rows = st.query_map(params![after, limit], |r| {
        let data: String = r.get(5)?;
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: from_ms(r.get(1)?),
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            data: json_col(&data)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })?;
    rows.collect()
}
