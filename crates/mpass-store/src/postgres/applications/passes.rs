//! Passes on PostgreSQL: storing and finding them, revoking them and the revocation list.

use deadpool_postgres::GenericClient;
use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::PassId;
use mpass_domain::ports::{NewJob, PassRecord, Revocation, RevokeOutcome};
use tokio_postgres::Row;

use mpass_domain::stats::{AppKey, Standing};

use super::{SELECT_APP, app_from_row};
use crate::postgres::{
    PgError, audit, big, exec, from_json, from_ms, jobs, query, query_one, query_opt, stats, to_json,
};

/// Appends to the revocation list. The table lock (taken last, held to commit, blocking
/// other revokers but no reader) makes `seq` order equal commit order, so a client that
/// synced up to `seq` N can never later find a revocation numbered below N appear.
pub(in crate::postgres) async fn revoke(
    c: &impl GenericClient,
    pass: PassId,
    reason: &str,
    now: i64,
) -> Result<(), PgError> {
    c.batch_execute("LOCK TABLE revocations IN EXCLUSIVE MODE").await?;
    exec(
        c,
        "INSERT INTO revocations (pass_id, reason, revoked_at) VALUES ($1, $2, $3)",
        &[&pass.0, &reason, &now],
    )
    .await?;
    Ok(())
}

/// Revokes a pass in a transaction, with the locks taken in the order `cancel` takes them:
/// the application's row (so a concurrent cancel or revoke waits, then sees the status
/// changed), the revocation list's table lock, and the audit lock last.
pub(in crate::postgres) async fn revoke_pass(
    c: &impl GenericClient,
    pass: PassId,
    reason: &str,
    actor: Actor,
    jobs: &[NewJob],
    now: i64,
) -> Result<RevokeOutcome, PgError> {
    let sql = format!("{SELECT_APP} WHERE id = (SELECT application_id FROM passes WHERE id = $1) FOR UPDATE");
    let Some(app) = query_opt(c, &sql, &[&pass.0])
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()?
    else {
        return Ok(RevokeOutcome::NotFound);
    };
    if matches!(app.status, Status::Cancelled | Status::Revoked) {
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    exec(
        c,
        "UPDATE applications SET status = 'revoked', updated_at = $2 WHERE id = $1",
        &[&app.id.0, &now],
    )
    .await?;
    let has_pass = app.pass_id.is_some();
    stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(app.status, has_pass)),
        Some(Standing::new(Status::Revoked, has_pass)),
    )
    .await?;
    for job in jobs {
        jobs::insert(c, job, now).await?;
    }
    revoke(c, pass, reason, now).await?;
    audit::append(c, AuditEvent::pass_revoked(from_ms(now), actor, pass, app.id, reason)).await?;
    Ok(RevokeOutcome::Revoked(Application {
        status: Status::Revoked,
        updated_at: from_ms(now),
        ..app
    }))
}

pub(in crate::postgres) async fn insert_pass(c: &impl GenericClient, p: &PassRecord) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO passes (id, application_id, user_id, short_code, data) VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[&p.id.0, &p.application_id.0, &p.user_id.0, &p.short_code, &to_json(p)],
    )
    .await?;
    Ok(())
}

/// Many passes in one statement (`mpass demo`).
pub(in crate::postgres) async fn bulk_insert_passes(
    c: &impl GenericClient,
    passes: &[&PassRecord],
) -> Result<(), PgError> {
    let ids: Vec<_> = passes.iter().map(|p| p.id.0).collect();
    let apps: Vec<_> = passes.iter().map(|p| p.application_id.0).collect();
    let users: Vec<_> = passes.iter().map(|p| p.user_id.0).collect();
    let codes: Vec<&str> = passes.iter().map(|p| p.short_code.as_str()).collect();
    let data: Vec<String> = passes.iter().map(to_json).collect();
    exec(
        c,
        "INSERT INTO passes (id, application_id, user_id, short_code, data)
         SELECT id, application_id, user_id, short_code, data::jsonb
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])
             AS u(id, application_id, user_id, short_code, data)",
        &[&ids, &apps, &users, &codes, &data],
    )
    .await?;
    Ok(())
}

fn pass_from(row: Option<Row>) -> Result<Option<PassRecord>, PgError> {
    row.map(|r| from_json(&r.try_get::<_, String>(0)?, "pass")).transpose()
}

pub(in crate::postgres) async fn pass(c: &impl GenericClient, id: PassId) -> Result<Option<PassRecord>, PgError> {
    pass_from(query_opt(c, "SELECT data::text FROM passes WHERE id = $1", &[&id.0]).await?)
}

pub(in crate::postgres) async fn pass_by_short_code(
    c: &impl GenericClient,
    code: &str,
) -> Result<Option<PassRecord>, PgError> {
    pass_from(query_opt(c, "SELECT data::text FROM passes WHERE short_code = $1", &[&code]).await?)
}

pub(in crate::postgres) async fn revocations_since(
    c: &impl GenericClient,
    seq: i64,
    limit: u32,
) -> Result<(i64, Vec<Revocation>), PgError> {
    // The latest seq is read first: anything committed after it is picked up next sync.
    let latest: i64 = query_one(c, "SELECT coalesce(max(seq), 0)::bigint FROM revocations", &[])
        .await?
        .try_get(0)?;
    let rows = query(
        c,
        "SELECT seq, pass_id, revoked_at FROM revocations WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
        &[&seq, &latest, &big(limit)],
    )
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(Revocation {
                seq: r.try_get(0)?,
                pass_id: PassId(r.try_get(1)?),
                revoked_at: from_ms(r.try_get(2)?),
            })
        })
        .collect::<Result<Vec<_>, PgError>>()?;
    // When the page is cut short, the client continues from the last seq it got.
    let next = if list.len() as u64 == u64::from(limit) {
        list.last().map_or(latest, |r| r.seq)
    } else {
        latest
    };
    Ok((next, list))
}
