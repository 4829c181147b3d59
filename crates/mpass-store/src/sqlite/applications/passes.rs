//! Passes on SQLite: storing and finding them, revoking them and the revocation list.

use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::{ApplicationId, PassId};
use mpass_domain::ports::{NewJob, PassRecord, Revocation, RevokeOutcome};
use rusqlite::{Connection, OptionalExtension, params};

use mpass_domain::stats::{AppKey, Standing};

use super::{bad, get, parse_status};
use crate::sqlite::{audit, from_ms, jobs, json_col, stats, to_json};

/// Revokes a pass (inside the writer's transaction): the application becomes `revoked`,
/// the pass joins the revocation list, the jobs are enqueued and the revocation audited.
pub(in crate::sqlite) fn revoke(
    c: &Connection,
    pass: PassId,
    reason: &str,
    actor: Actor,
    jobs: &[NewJob],
    now: i64,
) -> rusqlite::Result<RevokeOutcome> {
    let app_id: Option<String> = c
        .prepare_cached("SELECT application_id FROM passes WHERE id = ?1")?
        .query_row([pass.to_string()], |r| r.get(0))
        .optional()?;
    let Some(app_id) = app_id else {
        return Ok(RevokeOutcome::NotFound);
    };
    let id = ApplicationId::parse(&app_id).ok_or_else(|| bad("pass application id"))?;
    let Some(app) = get(c, id)? else {
        return Ok(RevokeOutcome::NotFound);
    };
    if matches!(app.status, Status::Cancelled | Status::Revoked) {
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    c.prepare_cached("UPDATE applications SET status = 'revoked', updated_at = ?2 WHERE id = ?1")?
        .execute(params![id.to_string(), now])?;
    let has_pass = app.pass_id.is_some();
    stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(app.status, has_pass)),
        Some(Standing::new(Status::Revoked, has_pass)),
    )?;
    c.prepare_cached("INSERT INTO revocations (pass_id, reason, revoked_at) VALUES (?1, ?2, ?3)")?
        .execute(params![pass.to_string(), reason, now])?;
    for job in jobs {
        jobs::insert(c, job, now)?;
    }
    audit::append(c, AuditEvent::pass_revoked(from_ms(now), actor, pass, id, reason))?;
    Ok(RevokeOutcome::Revoked(Application {
        status: Status::Revoked,
        updated_at: from_ms(now),
        ..app
    }))
}

pub(in crate::sqlite) fn insert_pass(c: &Connection, p: &PassRecord) -> rusqlite::Result<()> {
    // With its application's status as it stands in this transaction (schema version 13).
    c.prepare_cached(
        "INSERT INTO passes (id, application_id, user_id, short_code, data, status)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT status FROM applications WHERE id = ?2))",
    )?
    .execute(params![
        p.id.to_string(),
        p.application_id.to_string(),
        p.user_id.to_string(),
        p.short_code,
        to_json(p)
    ])?;
    Ok(())
}

fn pass_where(c: &Connection, column: &str, value: &str) -> rusqlite::Result<Option<PassRecord>> {
    let sql = format!("SELECT data FROM passes WHERE {column} = ?1");
    let data: Option<String> = c.prepare_cached(&sql)?.query_row([value], |r| r.get(0)).optional()?;
    data.as_deref().map(json_col).transpose()
}

/// A pass found by `column` and the current status of its application: `passes.status`,
/// which the pass is stored with and a trigger keeps equal to the application's (schema
/// version 13); for a pass stored before that version (status NULL), the application's.
pub(in crate::sqlite) fn pass_and_status(
    c: &Connection,
    column: PassColumn,
    value: &str,
) -> rusqlite::Result<(Option<PassRecord>, Option<Status>)> {
    macro_rules! by {
        ($column:literal) => {
            concat!("SELECT data, status FROM passes WHERE ", $column, " = ?1")
        };
    }
    let sql = match column {
        PassColumn::Id => by!("id"),
        PassColumn::ShortCode => by!("short_code"),
    };
    // Both columns are read as borrowed text: the record is decoded from SQLite's own
    // buffer, not from a copy of it (every online check reads one).
    let found = c
        .prepare_cached(sql)?
        .query_row([value], |r| {
            let pass: PassRecord = json_col(r.get_ref(0)?.as_str()?)?;
            let status = r.get_ref(1)?.as_str_or_null()?.map(parse_status).transpose()?;
            Ok((pass, status))
        })
        .optional()?;
    match found {
        None => Ok((None, None)),
        Some((pass, Some(status))) => Ok((Some(pass), Some(status))),
        Some((pass, None)) => {
            let status = c
                .prepare_cached("SELECT status FROM applications WHERE id = ?1")?
                .query_row([pass.application_id.to_string()], |r| {
                    parse_status(r.get_ref(0)?.as_str()?)
                })
                .optional()?;
            Ok((Some(pass), status))
        }
    }
}

/// The unique columns a pass is found by.
#[derive(Debug, Clone, Copy)]
pub(in crate::sqlite) enum PassColumn {
    Id,
    ShortCode,
}

pub(in crate::sqlite) fn pass(c: &Connection, id: PassId) -> rusqlite::Result<Option<PassRecord>> {
    pass_where(c, "id", &id.to_string())
}

pub(in crate::sqlite) fn pass_by_short_code(c: &Connection, code: &str) -> rusqlite::Result<Option<PassRecord>> {
    pass_where(c, "short_code", code)
}

pub(in crate::sqlite) fn revocations_since(
    c: &Connection,
    seq: i64,
    limit: u32,
) -> rusqlite::Result<(i64, Vec<Revocation>)> {
    let latest: i64 = c
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM revocations")?
        .query_row([], |r| r.get(0))?;
    let mut st = c.prepare_cached(
        "SELECT seq, pass_id, revoked_at FROM revocations WHERE seq > ?1 ORDER BY seq LIMIT CAST(?2 AS INTEGER)",
    )?;
    let rows = st.query_map(params![seq, limit], |r| {
        let id: String = r.get(1)?;
        Ok(Revocation {
            seq: r.get(0)?,
            pass_id: PassId::parse(&id).ok_or_else(|| bad("pass id"))?,
            revoked_at: from_ms(r.get(2)?),
        })
    })?;
    let list: Vec<Revocation> = rows.collect::<rusqlite::Result<_>>()?;
    // When the page is cut short, the client continues from the last seq it got.
    let seq = if list.len() as u32 == limit {
        list.last().map_or(latest, |r| r.seq)
    } else {
        latest
    };
    Ok((seq, list))
}
