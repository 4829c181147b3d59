//! Notifications on PostgreSQL: the user's language for messages and the dead-letter tools.

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::{JobId, UserId};
use mpass_domain::language::Language;
use mpass_domain::ports::DeadJob;
use uuid::Uuid;

use super::{PgError, audit, big, exec, from_ms, query, query_opt};

pub(super) async fn user_language(c: &impl GenericClient, user: UserId) -> Result<Option<Language>, PgError> {
    let row = query_opt(c, "SELECT language FROM users WHERE id = $1", &[&user.0]).await?;
    let code: Option<String> = match row {
        Some(r) => r.try_get(0)?,
        None => None,
    };
    Ok(code.as_deref().and_then(Language::parse))
}

pub(super) async fn set_user_language(c: &impl GenericClient, user: UserId, language: Language) -> Result<(), PgError> {
    exec(
        c,
        "UPDATE users SET language = $2 WHERE id = $1",
        &[&user.0, &language.code()],
    )
    .await?;
    Ok(())
}

fn dead_from_row(r: &tokio_postgres::Row) -> Result<DeadJob, PgError> {
    let (id, kind, payload, attempts, last_error, failed_at): (Uuid, String, String, i32, String, i64) = (
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
    );
    Ok(DeadJob {
        id: JobId(id),
        kind,
        payload,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_error,
        failed_at: from_ms(failed_at),
    })
}

pub(super) async fn dead_jobs(c: &impl GenericClient, kind: Option<&str>, limit: u32) -> Result<Vec<DeadJob>, PgError> {
    let rows = query(
        c,
        "SELECT id, kind, payload, attempts, last_error, failed_at FROM dead_jobs
         WHERE $1::text IS NULL OR kind = $1 ORDER BY failed_at DESC, id DESC LIMIT $2",
        &[&kind, &big(limit)],
    )
    .await?;
    rows.iter().map(dead_from_row).collect()
}

/// Deletes the dead row (locking it, so two replays of one job make one new job), inserts
/// a fresh job and appends the audit entry, in the caller's transaction.
pub(super) async fn dead_job_replay(
    c: &impl GenericClient,
    id: JobId,
    actor: Actor,
    now: i64,
) -> Result<Option<JobId>, PgError> {
    let row = query_opt(
        c,
        "DELETE FROM dead_jobs WHERE id = $1 RETURNING id, kind, payload, attempts, last_error, failed_at",
        &[&id.0],
    )
    .await?;
    let Some(dead) = row.as_ref().map(dead_from_row).transpose()? else {
        return Ok(None);
    };
    let new_id = JobId::new();
    exec(
        c,
        "INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $4)",
        &[&new_id.0, &dead.kind, &dead.payload, &now],
    )
    .await?;
    audit::append(c, AuditEvent::dlq_replayed(from_ms(now), actor, id, new_id, &dead.kind)).await?;
    Ok(Some(new_id))
}
