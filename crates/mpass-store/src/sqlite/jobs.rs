//! The job table: the embedded queue's storage and the outbox that other queues relay.

use mpass_domain::ids::JobId;
use mpass_domain::ports::{JOB_PRIORITY_KIND, Job, NewJob};
use rusqlite::{Connection, ToSql, params};

pub(super) fn insert(c: &Connection, job: &NewJob, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)")?
        .execute(params![JobId::new().to_string(), job.kind, job.payload, now])?;
    Ok(())
}

/// Leases up to `max` due jobs: login codes first (`JOB_PRIORITY_KIND`, a person is
/// waiting for them), then every kind oldest first.
pub(super) fn lease(c: &Connection, max: u32, now: i64, lease_ms: i64) -> rusqlite::Result<Vec<Job>> {
    let mut jobs = lease_where(
        c,
        "SELECT id, kind, payload, attempts FROM jobs
         WHERE kind = ?3 AND run_at <= ?1 AND locked_until <= ?1 ORDER BY run_at LIMIT CAST(?2 AS INTEGER)",
        params![now, max, JOB_PRIORITY_KIND],
        now + lease_ms,
    )?;
    let rest = max.saturating_sub(jobs.len() as u32);
    if rest > 0 {
        jobs.extend(lease_where(
            c,
            "SELECT id, kind, payload, attempts FROM jobs
             WHERE run_at <= ?1 AND locked_until <= ?1 ORDER BY run_at LIMIT CAST(?2 AS INTEGER)",
            params![now, rest],
            now + lease_ms,
        )?);
    }
    Ok(jobs)
}

/// Leases the rows `sql` selects with `args` until `until`.
fn lease_where(c: &Connection, sql: &str, args: &[&dyn ToSql], until: i64) -> rusqlite::Result<Vec<Job>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (id, kind, payload, attempts) = row?;
        let Some(job_id) = JobId::parse(&id) else { continue };
        jobs.push(Job {
            id: job_id,
            kind,
            payload,
            attempts: attempts + 1,
        });
    }
    // Locked before the next statement looks, so it cannot lease these again.
    let mut up = c.prepare_cached("UPDATE jobs SET locked_until = ?2, attempts = attempts + 1 WHERE id = ?1")?;
    for j in &jobs {
        up.execute(params![j.id.to_string(), until])?;
    }
    Ok(jobs)
}

pub(super) fn done(c: &Connection, id: JobId) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM jobs WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

pub(super) fn retry(c: &Connection, id: JobId, run_at: i64, error: &str) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE jobs SET run_at = ?2, locked_until = 0, last_error = ?3 WHERE id = ?1")?
        .execute(params![id.to_string(), run_at, error])?;
    Ok(())
}

pub(super) fn dead(c: &Connection, id: JobId, error: &str, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO dead_jobs (id, kind, payload, attempts, last_error, failed_at)
         SELECT id, kind, payload, attempts, ?2, ?3 FROM jobs WHERE id = ?1",
    )?
    .execute(params![id.to_string(), error, now])?;
    done(c, id)
}

pub(super) fn depth(c: &Connection) -> rusqlite::Result<(u64, u64)> {
    c.prepare_cached("SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM dead_jobs)")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}
