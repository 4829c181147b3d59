//! Notifications on SQLite: the user's language for messages and the dead-letter tools.

use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::{JobId, UserId};
use mpass_domain::language::Language;
use mpass_domain::ports::DeadJob;
use rusqlite::{Connection, OptionalExtension, params};

use super::{audit, from_ms};

pub(super) fn user_language(c: &Connection, user: UserId) -> rusqlite::Result<Option<Language>> {
    let code: Option<Option<String>> = c
        .prepare_cached("SELECT language FROM users WHERE id = ?1")?
        .query_row([user.to_string()], |r| r.get(0))
        .optional()?;
    Ok(code.flatten().as_deref().and_then(Language::parse))
}

pub(super) fn set_user_language(c: &Connection, user: UserId, language: Language) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE users SET language = ?2 WHERE id = ?1")?
        .execute(params![user.to_string(), language.code()])?;
    Ok(())
}

fn dead_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadJob> {
    let id: String = r.get(0)?;
    Ok(DeadJob {
        id: JobId::parse(&id).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, "bad job id".into())
        })?,
        kind: r.get(1)?,
        payload: r.get(2)?,
        attempts: r.get(3)?,
        last_error: r.get(4)?,
        failed_at: from_ms(r.get(5)?),
    })
}

pub(super) fn dead_jobs(c: &Connection, kind: Option<&str>, limit: u32) -> rusqlite::Result<Vec<DeadJob>> {
    let mut st = c.prepare_cached(
        "SELECT id, kind, payload, attempts, last_error, failed_at FROM dead_jobs
         WHERE ?1 IS NULL OR kind = ?1 ORDER BY failed_at DESC, id DESC LIMIT CAST(?2 AS INTEGER)",
    )?;
    let rows = st.query_map(params![kind, limit], dead_from_row)?;
    rows.collect()
}

/// Deletes the dead row, inserts a fresh job and appends the audit entry, in the caller's
/// transaction (the writer's savepoint).
pub(super) fn dead_job_replay(c: &Connection, id: JobId, actor: Actor, now: i64) -> rusqlite::Result<Option<JobId>> {
    let dead = c
        .prepare_cached("SELECT id, kind, payload, attempts, last_error, failed_at FROM dead_jobs WHERE id = ?1")?
        .query_row([id.to_string()], dead_from_row)
        .optional()?;
    let Some(dead) = dead else { return Ok(None) };
    let new_id = JobId::new();
    c.prepare_cached("INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)")?
        .execute(params![new_id.to_string(), dead.kind, dead.payload, now])?;
    c.prepare_cached("DELETE FROM dead_jobs WHERE id = ?1")?
        .execute([id.to_string()])?;
    audit::append(c, AuditEvent::dlq_replayed(from_ms(now), actor, id, new_id, &dead.kind))?;
    Ok(Some(new_id))
}
