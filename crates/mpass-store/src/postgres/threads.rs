//! Information requests (SPEC §6) and the policy history, on PostgreSQL.

use deadpool_postgres::GenericClient;
use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::{ApplicationId, MessageId, UserId};
use mpass_domain::ports::{DecideOutcome, InfoRequest, ReplyOutcome, StoredPolicy, ThreadAuthor, ThreadMessage};
use mpass_domain::stats::{AppKey, Standing};
use time::OffsetDateTime;

use super::applications::{SELECT_APP, app_from_row, get};
use super::{PgError, audit, big, exec, from_ms, jobs, ms, query, query_one, query_opt};

async fn add_message(
    c: &impl GenericClient,
    id: MessageId,
    app: ApplicationId,
    author_id: UserId,
    author: ThreadAuthor,
    body: &str,
    now: i64,
) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO application_messages (id, application_id, author_id, author_role, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id.0, &app.0, &author_id.0, &author.as_str(), &body, &now],
    )
    .await?;
    Ok(())
}

fn vanished() -> PgError {
    PgError::Corrupt("application vanished inside its transaction".into())
}

pub(super) async fn request_info(c: &impl GenericClient, r: &InfoRequest) -> Result<DecideOutcome, PgError> {
    let now = ms(r.at);
    let id = r.application_id;
    let Some(before) = get(c, id).await?.filter(|a| a.status == Status::InReview) else {
        return Ok(DecideOutcome::NotFound);
    };
    let changed = exec(
        c,
        "UPDATE applications SET status = 'info_requested', review_claimed_by = NULL, review_lease_until = NULL,
             updated_at = $3
         WHERE id = $1 AND status = 'in_review' AND review_outcome IS NULL
           AND review_claimed_by = $2 AND review_lease_until > $3",
        &[&id.0, &r.reviewer.0, &now],
    )
    .await?;
    if changed == 0 {
        return Ok(DecideOutcome::NotHolder);
    }
    super::stats::shift(
        c,
        &AppKey::of(&before),
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(Status::InfoRequested, false)),
    )
    .await?;
    add_message(c, r.message, id, r.reviewer, ThreadAuthor::Reviewer, &r.question, now).await?;
    for job in &r.jobs {
        jobs::insert(c, job, now).await?;
    }
    audit::append(c, AuditEvent::info_requested(r.at, r.reviewer, id, r.message)).await?;
    Ok(DecideOutcome::Decided(get(c, id).await?.ok_or_else(vanished)?))
}

pub(super) async fn reply(
    c: &impl GenericClient,
    id: ApplicationId,
    user: UserId,
    message: MessageId,
    body: &str,
    at: OffsetDateTime,
) -> Result<ReplyOutcome, PgError> {
    let now = ms(at);
    let Some(app) = get(c, id).await?.filter(|a| a.user_id == user) else {
        return Ok(ReplyOutcome::NotFound);
    };
    let changed = exec(
        c,
        "UPDATE applications SET status = 'in_review', updated_at = $3
         WHERE id = $1 AND user_id = $2 AND status = 'info_requested'",
        &[&id.0, &user.0, &now],
    )
    .await?;
    if changed == 0 {
        return Ok(ReplyOutcome::NotWaiting(app));
    }
    super::stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(Status::InfoRequested, false)),
        Some(Standing::new(Status::InReview, false)),
    )
    .await?;
    add_message(c, message, id, user, ThreadAuthor::Applicant, body, now).await?;
    audit::append(c, AuditEvent::info_provided(at, user, id, message)).await?;
    Ok(ReplyOutcome::Replied(get(c, id).await?.ok_or_else(vanished)?))
}

pub(super) async fn thread(c: &impl GenericClient, id: ApplicationId) -> Result<Vec<ThreadMessage>, PgError> {
    let rows = query(
        c,
        "SELECT id, author_id, author_role, body, created_at FROM application_messages
         WHERE application_id = $1 ORDER BY created_at, id",
        &[&id.0],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get(2)?;
            Ok(ThreadMessage {
                id: MessageId(r.try_get(0)?),
                application_id: id,
                author_id: UserId(r.try_get(1)?),
                author: ThreadAuthor::parse(&role).ok_or_else(|| PgError::Corrupt(format!("author role {role}")))?,
                body: r.try_get(3)?,
                created_at: from_ms(r.try_get(4)?),
            })
        })
        .collect()
}

pub(super) async fn policy_put(
    c: &impl GenericClient,
    version: &str,
    source: &str,
    actor: Actor,
    at: OffsetDateTime,
) -> Result<Option<i64>, PgError> {
    // One writer at a time, so two nodes adopting the same file record it once.
    exec(c, "LOCK TABLE policies IN EXCLUSIVE MODE", &[]).await?;
    let newest = query_opt(c, "SELECT version FROM policies ORDER BY seq DESC LIMIT 1", &[]).await?;
    if let Some(row) = newest
        && row.try_get::<_, String>(0)? == version
    {
        return Ok(None);
    }
    let seq: i64 = query_one(
        c,
        "INSERT INTO policies (version, source, created_at) VALUES ($1, $2, $3) RETURNING seq",
        &[&version, &source, &ms(at)],
    )
    .await?
    .try_get(0)?;
    audit::append(c, AuditEvent::policy_changed(at, actor, seq, version, source)).await?;
    Ok(Some(seq))
}

pub(super) async fn policy_latest(c: &impl GenericClient, after: i64) -> Result<Option<StoredPolicy>, PgError> {
    query_opt(
        c,
        "SELECT seq, version, source, created_at FROM policies WHERE seq > $1 ORDER BY seq DESC LIMIT 1",
        &[&after],
    )
    .await?
    .map(|r| {
        Ok(StoredPolicy {
            seq: r.try_get(0)?,
            version: r.try_get(1)?,
            source: r.try_get(2)?,
            created_at: from_ms(r.try_get(3)?),
        })
    })
    .transpose()
}

pub(super) async fn submitted_between(
    c: &impl GenericClient,
    from: i64,
    to: i64,
    after: Option<ApplicationId>,
    limit: u32,
) -> Result<Vec<Application>, PgError> {
    let sql = format!(
        "{SELECT_APP} WHERE submitted_at >= $1 AND submitted_at < $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    );
    let after = after.map(|a| a.0);
    query(c, &sql, &[&from, &to, &after, &big(limit)])
        .await?
        .iter()
        .map(app_from_row)
        .collect()
}
