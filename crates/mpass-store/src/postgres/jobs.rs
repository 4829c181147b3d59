//! The job table on PostgreSQL: leased with `FOR UPDATE SKIP LOCKED`, so any number of
//! workers (or outbox relays) lease disjoint jobs without waiting on each other.

use deadpool_postgres::GenericClient;
use mpass_domain::ids::JobId;
use mpass_domain::ports::{JOB_PRIORITY_KIND, Job, NewJob};
use uuid::Uuid;

use super::{PgError, big, count, exec, query, query_one};

pub(super) async fn insert(c: &impl GenericClient, job: &NewJob, now: i64) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $4)",
        &[&JobId::new().0, &job.kind, &job.payload, &now],
    )
    .await?;
    Ok(())
}

/// Leases up to `max` due jobs. A job is free (`locked_until = 0`) or leased until then;
/// jobs whose lease has run out are handed back first (one statement, through the index of
/// leased jobs, usually finding none), then free due jobs are leased in one statement
/// through the free jobs' indexes, never walking past the jobs in flight. Rows another
/// transaction is leasing are skipped, and a row leased and committed meanwhile fails the
/// re-checked `locked_until = 0`, so no job is handed to two callers within its lease.
pub(super) async fn lease(c: &impl GenericClient, max: u32, now: i64, lease_ms: i64) -> Result<Vec<Job>, PgError> {
    exec(
        c,
        "UPDATE jobs SET locked_until = 0 WHERE locked_until > 0 AND locked_until <= $1",
        &[&now],
    )
    .await?;
    let rows = query(
        c,
        // Login codes first (a person is waiting for them), then every kind oldest first.
        "WITH first AS MATERIALIZED (
             SELECT id FROM jobs WHERE kind = $4 AND locked_until = 0 AND run_at <= $1
             ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED),
         rest AS MATERIALIZED (
             SELECT id FROM jobs WHERE locked_until = 0 AND run_at <= $1
               AND id NOT IN (SELECT id FROM first)
             ORDER BY run_at LIMIT $3 - (SELECT count(*) FROM first) FOR UPDATE SKIP LOCKED),
         due AS (SELECT id FROM first UNION ALL SELECT id FROM rest)
         UPDATE jobs SET locked_until = $2, attempts = jobs.attempts + 1
         FROM due WHERE jobs.id = due.id
         RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempts, jobs.run_at",
        &[&now, &(now + lease_ms), &big(max), &JOB_PRIORITY_KIND],
    )
    .await?;
    let mut leased = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, kind, payload, attempts, run_at): (Uuid, String, String, i32, i64) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        leased.push((
            run_at,
            Job {
                id: JobId(id),
                kind,
                payload,
                attempts: u32::try_from(attempts).unwrap_or(0),
            },
        ));
    }
    // RETURNING has no order; hand them out as the SQLite store does: login codes first,
    // then oldest first.
    leased.sort_by_key(|(run_at, j)| (j.kind != JOB_PRIORITY_KIND, *run_at, j.id));
    Ok(leased.into_iter().map(|(_, j)| j).collect())
}

pub(super) async fn done(c: &impl GenericClient, id: JobId) -> Result<(), PgError> {
    exec(c, "DELETE FROM jobs WHERE id = $1", &[&id.0]).await?;
    Ok(())
}

pub(super) async fn retry(c: &impl GenericClient, id: JobId, run_at: i64, error: &str) -> Result<(), PgError> {
    exec(
        c,
        "UPDATE jobs SET run_at = $2, locked_until = 0, last_error = $3 WHERE id = $1",
        &[&id.0, &run_at, &error],
    )
    .await?;
    Ok(())
}

/// Moves the job to `dead_jobs` in one statement (atomic without an explicit transaction).
pub(super) async fn dead(c: &impl GenericClient, id: JobId, error: &str, now: i64) -> Result<(), PgError> {
    exec(
        c,
        "WITH gone AS (DELETE FROM jobs WHERE id = $1 RETURNING id, kind, payload, attempts)
         INSERT INTO dead_jobs (id, kind, payload, attempts, last_error, failed_at)
         SELECT id, kind, payload, attempts, $2, $3 FROM gone
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, payload = excluded.payload,
             attempts = excluded.attempts, last_error = excluded.last_error, failed_at = excluded.failed_at",
        &[&id.0, &error, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn depth(c: &impl GenericClient) -> Result<(u64, u64), PgError> {
    let r = query_one(
        c,
        "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM dead_jobs)",
        &[],
    )
    .await?;
    Ok((count(r.try_get(0)?), count(r.try_get(1)?)))
}
