//! Information requests (SPEC §6) and the policy history, on SQLite.

use mpass_domain::application::Status;
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::{ApplicationId, MessageId, UserId};
use mpass_domain::ports::{DecideOutcome, InfoRequest, ReplyOutcome, StoredPolicy, ThreadAuthor, ThreadMessage};
use mpass_domain::stats::{AppKey, Standing};
use rusqlite::{Connection, OptionalExtension, params};

use super::applications::{APP_COLUMNS, app_from_row, bad, get};
use super::{audit, from_ms, jobs};

fn add_message(
    c: &Connection,
    id: MessageId,
    app: ApplicationId,
    author_id: UserId,
    author: ThreadAuthor,
    body: &str,
    now: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO application_messages (id, application_id, author_id, author_role, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id.to_string(),
        app.to_string(),
        author_id.to_string(),
        author.as_str(),
        body,
        now
    ])?;
    Ok(())
}

pub(super) fn request_info(c: &Connection, r: &InfoRequest, now: i64) -> rusqlite::Result<DecideOutcome> {
    let id = r.application_id;
    let Some(before) = get(c, id)?.filter(|a| a.status == Status::InReview) else {
        return Ok(DecideOutcome::NotFound);
    };
    let changed = c
        .prepare_cached(
            "UPDATE applications SET status = 'info_requested', review_claimed_by = NULL, review_lease_until = NULL,
             updated_at = ?3
         WHERE id = ?1 AND status = 'in_review' AND review_outcome IS NULL
           AND review_claimed_by = ?2 AND review_lease_until > ?3",
        )?
        .execute(params![id.to_string(), r.reviewer.to_string(), now])?;
    if changed == 0 {
        return Ok(DecideOutcome::NotHolder);
    }
    super::stats::shift(
        c,
        &AppKey::of(&before),
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(Status::InfoRequested, false)),
    )?;
    add_message(c, r.message, id, r.reviewer, ThreadAuthor::Reviewer, &r.question, now)?;
    for job in &r.jobs {
        jobs::insert(c, job, now)?;
    }
    audit::append(c, AuditEvent::info_requested(r.at, r.reviewer, id, r.message))?;
    let app = get(c, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(DecideOutcome::Decided(app))
}

pub(super) fn reply(
    c: &Connection,
    id: ApplicationId,
    user: UserId,
    message: MessageId,
    body: &str,
    at: time::OffsetDateTime,
) -> rusqlite::Result<ReplyOutcome> {
    let now = super::ms(at);
    let Some(app) = get(c, id)?.filter(|a| a.user_id == user) else {
        return Ok(ReplyOutcome::NotFound);
    };
    let changed = c
        .prepare_cached(
            "UPDATE applications SET status = 'in_review', updated_at = ?3
         WHERE id = ?1 AND user_id = ?2 AND status = 'info_requested'",
        )?
        .execute(params![id.to_string(), user.to_string(), now])?;
    if changed == 0 {
        return Ok(ReplyOutcome::NotWaiting(app));
    }
    super::stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(Status::InfoRequested, false)),
        Some(Standing::new(Status::InReview, false)),
    )?;
    add_message(c, message, id, user, ThreadAuthor::Applicant, body, now)?;
    audit::append(c, AuditEvent::info_provided(at, user, id, message))?;
    let app = get(c, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(ReplyOutcome::Replied(app))
}

pub(super) fn thread(c: &Connection, id: ApplicationId) -> rusqlite::Result<Vec<ThreadMessage>> {
    let mut st = c.prepare_cached(
        "SELECT id, author_id, author_role, body, created_at FROM application_messages
         WHERE application_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = st.query_map([id.to_string()], |r| {
        let (mid, author, role): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        Ok(ThreadMessage {
            id: MessageId::parse(&mid).ok_or_else(|| bad("message id"))?,
            application_id: id,
            author_id: UserId::parse(&author).ok_or_else(|| bad("author id"))?,
            author: ThreadAuthor::parse(&role).ok_or_else(|| bad("author role"))?,
            body: r.get(3)?,
            created_at: from_ms(r.get(4)?),
        })
    })?;
    rows.collect()
}

pub(super) fn policy_put(
    c: &Connection,
    version: &str,
    source: &str,
    actor: Actor,
    at: time::OffsetDateTime,
) -> rusqlite::Result<Option<i64>> {
    let newest: Option<String> = c
        .prepare_cached("SELECT version FROM policies ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    if newest.as_deref() == Some(version) {
        return Ok(None);
    }
    c.prepare_cached("INSERT INTO policies (version, source, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![version, source, super::ms(at)])?;
    let seq = c.last_insert_rowid();
    audit::append(c, AuditEvent::policy_changed(at, actor, seq, version, source))?;
    Ok(Some(seq))
}

pub(super) fn policy_latest(c: &Connection, after: i64) -> rusqlite::Result<Option<StoredPolicy>> {
    c.prepare_cached("SELECT seq, version, source, created_at FROM policies WHERE seq > ?1 ORDER BY seq DESC LIMIT 1")?
        .query_row([after], |r| {
            Ok(StoredPolicy {
                seq: r.get(0)?,
                version: r.get(1)?,
                source: r.get(2)?,
                created_at: from_ms(r.get(3)?),
            })
        })
        .optional()
}

pub(super) fn submitted_between(
    c: &Connection,
    from: i64,
    to: i64,
    after: Option<ApplicationId>,
    limit: u32,
) -> rusqlite::Result<Vec<mpass_domain::application::Application>> {
    let sql = format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE submitted_at >= ?1 AND submitted_at < ?2 AND id > ?3
         ORDER BY id LIMIT CAST(?4 AS INTEGER)"
    );
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![from, to, after, limit], app_from_row)?;
    rows.collect()
}
