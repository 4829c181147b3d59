//! Applications on PostgreSQL: submission, the citizen's list, cancelling and decisions;
//! passes and revocations in `passes`, the reviewers' queue in `review`.

use deadpool_postgres::GenericClient;
use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEvent, action};
use mpass_domain::ids::{ApplicationId, PassId, UserId};
use mpass_domain::ports::{ApplicantFacts, DecisionRecord, MAX_COUNTED_PER_DAY, NewApplication, NewJob, SubmitOutcome};
use tokio_postgres::Row;
use uuid::Uuid;

use mpass_domain::stats::{AppKey, Standing};

use super::{
    PgError, audit, big, count, exec, from_json, from_ms, jobs, ms, query, query_one, query_opt, stats, stmt, to_json,
};

mod passes;
mod review;
pub(super) use passes::{
    bulk_insert_passes, insert_pass, pass, pass_by_short_code, revocations_since, revoke, revoke_pass,
};
pub(super) use review::{review_claim, review_decide, review_issue_pass, review_queue};

pub(super) const SELECT_APP: &str =
    "SELECT id, user_id, status, details::text, decision::text, pass_id, submitted_at, updated_at FROM applications";

pub(super) fn app_from_row(r: &Row) -> Result<Application, PgError> {
    let status: String = r.try_get(2)?;
    let details: String = r.try_get(3)?;
    let decision: Option<String> = r.try_get(4)?;
    let pass: Option<Uuid> = r.try_get(5)?;
    Ok(Application {
        id: ApplicationId(r.try_get(0)?),
        user_id: UserId(r.try_get(1)?),
        status: Status::parse(&status).ok_or_else(|| PgError::Corrupt(format!("application status {status}")))?,
        details: from_json(&details, "application details")?,
        decision: decision.as_deref().map(|d| from_json(d, "decision")).transpose()?,
        pass_id: pass.map(PassId),
        submitted_at: from_ms(r.try_get(6)?),
        updated_at: from_ms(r.try_get(7)?),
    })
}

pub(super) async fn get(c: &impl GenericClient, id: ApplicationId) -> Result<Option<Application>, PgError> {
    let sql = format!("{SELECT_APP} WHERE id = $1");
    query_opt(c, &sql, &[&id.0])
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()
}

/// Takes a transaction-scoped advisory lock on the citizen (in memory: no row is written to
/// take it; two citizens whose ids share these 64 random bits only wait for each other).
const LOCK_CITIZEN: &str = "SELECT pg_advisory_xact_lock($1)";
/// Inserts the application unless the citizen's `$9`-th newest application since `$8`
/// exists (`$9` = `max_per_hour` − 1): the count and the insert in one statement.
const INSERT_UNDER_LIMIT: &str = "INSERT INTO applications
        (id, user_id, status, details, start_at, end_at, submitted_at, updated_at, vehicle_reg)
    SELECT $1::uuid, $2::uuid, 'submitted', $3::text::jsonb, $4::int8, $5::int8, $6::int8, $6::int8, $7::text
    WHERE NOT EXISTS (
        SELECT 1 FROM applications WHERE user_id = $2::uuid AND id >= $8::uuid
        ORDER BY id DESC LIMIT 1 OFFSET $9::int8)";

/// Stores the application and its decision job (in a transaction). The lock on the
/// citizen, held to the commit, makes the hourly count exact across API nodes and settles
/// which of several concurrent retries with one idempotency key creates the application:
/// the others wait for it and replay it.
///
/// The lock goes out pipelined with the statement after it (the idempotency key's lookup,
/// or the insert), so it costs no round trip of its own. That statement still sees
/// everything committed before the lock was granted: under READ COMMITTED each statement
/// takes its snapshot when it starts, and the server runs a connection's statements in
/// the order sent, which is the order the futures are first polled (both statements are
/// prepared before, so neither waits before sending).
pub(super) async fn submit(c: &impl GenericClient, app: &NewApplication) -> Result<SubmitOutcome, PgError> {
    let now = ms(app.submitted_at);
    let lock_key = i64::from_be_bytes(app.user_id.as_bytes()[8..].try_into().expect("8 bytes"));
    let (lock, insert) = (stmt(c, LOCK_CITIZEN).await?, stmt(c, INSERT_UNDER_LIMIT).await?);
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&lock_key];
    let locked = c.execute(&lock, &lock_params);
    let (window, offset) = (app.window_start(), i64::from(app.max_per_hour.saturating_sub(1)));
    let (details, vehicle) = (
        to_json(&app.details),
        app.details.vehicle.as_ref().map(|v| v.registration_key()),
    );
    let (start, end) = (ms(app.details.start), ms(app.details.end()));
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
        &app.id.0,
        &app.user_id.0,
        &details,
        &start,
        &end,
        &now,
        &vehicle,
        &window.0,
        &offset,
    ];
    let inserted = if let Some((key, body_hash)) = &app.idempotency {
        let lookup = stmt(
            c,
            "SELECT body_hash, application_id FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .await?;
        let lookup_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&app.user_id.0, key];
        let (_, seen) = tokio::try_join!(locked, c.query_opt(&lookup, &lookup_params))?;
        if let Some(row) = seen {
            let (hash, first): (String, Uuid) = (row.try_get(0)?, row.try_get(1)?);
            if &hash != body_hash {
                return Ok(SubmitOutcome::KeyReused);
            }
            return get(c, ApplicationId(first))
                .await?
                .map(SubmitOutcome::Replayed)
                .ok_or_else(|| PgError::Corrupt("idempotency key without its application".into()));
        }
        let inserted = c.execute(&insert, &params).await?;
        if inserted == 1 {
            exec(
                c,
                "INSERT INTO idempotency_keys (user_id, key, body_hash, application_id, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&app.user_id.0, key, body_hash, &app.id.0, &now],
            )
            .await?;
        }
        inserted
    } else {
        tokio::try_join!(locked, c.execute(&insert, &params))?.1
    };
    if inserted == 0 {
        // Over the limit (nothing written): wait for the newest application that counts.
        let newest_counted = query_one(
            c,
            "SELECT id FROM applications WHERE user_id = $1 AND id >= $2 ORDER BY id DESC LIMIT 1 OFFSET $3",
            &[&app.user_id.0, &window.0, &offset],
        )
        .await?;
        return Ok(app.too_many(ApplicationId(newest_counted.try_get(0)?)));
    }
    let created = app.submitted();
    stats::shift(
        c,
        &AppKey::of(&created),
        None,
        Some(Standing::new(Status::Submitted, false)),
    )
    .await?;
    let job = NewJob::decide(app.id);
    jobs::insert(c, &job, now).await?;
    Ok(SubmitOutcome::Created(created))
}

/// The user's applications, newest first (UUIDv7 order is time order).
pub(super) async fn list(
    c: &impl GenericClient,
    user: UserId,
    before: Option<ApplicationId>,
    limit: u32,
) -> Result<Vec<Application>, PgError> {
    // Two statements rather than `$2 IS NULL OR id < $2`, so both use the index range.
    let rows = match before {
        Some(b) => {
            let sql = format!("{SELECT_APP} WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
            query(c, &sql, &[&user.0, &b.0, &big(limit)]).await?
        }
        None => {
            let sql = format!("{SELECT_APP} WHERE user_id = $1 ORDER BY id DESC LIMIT $2");
            query(c, &sql, &[&user.0, &big(limit)]).await?
        }
    };
    rows.iter().map(app_from_row).collect()
}

/// The id of the user's newest application (UUIDv7: the latest submitted), if any.
pub(super) async fn newest_id(c: &impl GenericClient, user: UserId) -> Result<Option<ApplicationId>, PgError> {
    let row = query_opt(
        c,
        "SELECT id FROM applications WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
        &[&user.0],
    )
    .await?;
    Ok(row.map(|r| r.try_get(0).map(ApplicationId)).transpose()?)
}

/// Cancels in a transaction with the application's row locked, so a concurrent decision
/// either lands first (and its pass is revoked here) or finds the status changed.
pub(super) async fn cancel(
    c: &impl GenericClient,
    id: ApplicationId,
    user: UserId,
    now: i64,
) -> Result<Option<(Application, bool)>, PgError> {
    let sql = format!("{SELECT_APP} WHERE id = $1 FOR UPDATE");
    let Some(app) = query_opt(c, &sql, &[&id.0])
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()?
    else {
        return Ok(None);
    };
    if app.user_id != user {
        return Ok(None);
    }
    if !app.status.cancellable() {
        return Ok(Some((app, false)));
    }
    exec(
        c,
        "UPDATE applications SET status = 'cancelled', updated_at = $2 WHERE id = $1",
        &[&id.0, &now],
    )
    .await?;
    let has_pass = app.pass_id.is_some();
    stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(app.status, has_pass)),
        Some(Standing::new(Status::Cancelled, has_pass)),
    )
    .await?;
    if let Some(pass) = app.pass_id {
        // Officers offline learn of the cancellation through the revocation list.
        revoke(c, pass, "cancelled", now).await?;
    }
    audit::append(
        c,
        AuditEvent::new(
            from_ms(now),
            Actor::user(user),
            action::APPLICATION_CANCELLED,
            format!("application:{id}"),
            serde_json::json!({ "pass_id": app.pass_id.map(|p| p.to_string()) }),
        ),
    )
    .await?;
    Ok(Some((
        Application {
            status: Status::Cancelled,
            updated_at: from_ms(now),
            ..app
        },
        true,
    )))
}

/// The policy's facts in one statement. The document check joins the applicant's own
/// profile, so it needs no read of the profile before it.
pub(super) async fn facts(
    c: &impl GenericClient,
    app: &Application,
    window_start: i64,
) -> Result<ApplicantFacts, PgError> {
    let vehicle = app.details.vehicle.as_ref().map(|v| v.registration_key());
    let row = query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM applications WHERE user_id = $1 AND status = 'approved' AND id <> $2
                 AND start_at < $3 AND end_at > $4),
             (SELECT count(*) FROM applications WHERE user_id = $1 AND status = 'approved' AND id <> $2
                 AND start_at >= $5),
             (SELECT count(*) FROM (SELECT 1 FROM applications WHERE user_id = $1 AND id < $2 AND id >= $6
                 LIMIT $8) AS day),
             $7::text IS NOT NULL AND EXISTS (SELECT 1 FROM applications WHERE vehicle_reg = $7
                 AND status = 'approved' AND vehicle_reg IS NOT NULL AND user_id <> $1
                 AND start_at < $3 AND end_at > $4),
             EXISTS (SELECT 1 FROM profiles mine JOIN profiles other
                 ON other.id_type = mine.id_type AND other.id_number = mine.id_number
                 WHERE mine.user_id = $1 AND other.user_id <> $1)",
        &[
            &app.user_id.0,
            &app.id.0,
            &ms(app.details.end()),
            &ms(app.details.start),
            &window_start,
            // Ids are time-ordered: the day's applications are an id range of the index.
            &ApplicationId::first_at(app.submitted_at - time::Duration::DAY).0,
            &vehicle,
            &i64::from(MAX_COUNTED_PER_DAY),
        ],
    )
    .await?;
    let overlapping_approved: bool = row.try_get(0)?;
    let passes_in_window = u32::try_from(row.try_get::<_, i64>(1)?).unwrap_or(u32::MAX);
    let applications_last_day = u32::try_from(row.try_get::<_, i64>(2)?).unwrap_or(u32::MAX);
    let vehicle_overlapping_approved: bool = row.try_get(3)?;
    let document_on_other_phone: bool = row.try_get(4)?;
    Ok(ApplicantFacts {
        overlapping_approved,
        passes_in_window,
        document_on_other_phone,
        vehicle_overlapping_approved,
        applications_last_day,
    })
}

/// Records a decision (in a transaction) only while the application is `submitted`: the
/// guarded UPDATE takes the row lock, so of concurrent deliveries exactly one sees a row
/// count of 1; the rest, and any that come later, change nothing.
pub(super) async fn record_decision(c: &impl GenericClient, d: &DecisionRecord) -> Result<bool, PgError> {
    let now = ms(d.decided_at);
    let changed = exec(
        c,
        "UPDATE applications SET status = $2, decision = $3::text::jsonb, pass_id = $4, updated_at = $5,
             decided_at = $5
         WHERE id = $1 AND status = 'submitted'",
        &[
            &d.application_id.0,
            &d.status.as_str(),
            &to_json(&d.decision),
            &d.pass.as_ref().map(|p| p.id.0),
            &now,
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    let (key, submitted_ms) = stats::key_of(c, d.application_id).await?;
    stats::shift(
        c,
        &key,
        Some(Standing::new(Status::Submitted, false)),
        Some(Standing::new(d.status, d.pass.is_some())),
    )
    .await?;
    stats::decided(c, &key, submitted_ms, now).await?;
    if d.status == Status::InReview {
        let district = get(c, d.application_id)
            .await?
            .as_ref()
            .and_then(crate::review_district);
        exec(
            c,
            "UPDATE applications SET review_district = $2 WHERE id = $1",
            &[&d.application_id.0, &district],
        )
        .await?;
    }
    if let Some(p) = &d.pass {
        insert_pass(c, p).await?;
    }
    for job in &d.jobs {
        jobs::insert(c, job, now).await?;
    }
    audit::append(
        c,
        AuditEvent::decided(
            d.decided_at,
            Actor::system(),
            d.application_id,
            d.status.as_str(),
            &d.decision,
            d.pass.as_ref().map(|p| p.id.to_string()),
        ),
    )
    .await?;
    Ok(true)
}

pub(super) async fn status_counts(c: &impl GenericClient) -> Result<Vec<(Status, u64)>, PgError> {
    let rows = query(
        c,
        &crate::stats_sql::status_totals(crate::stats_sql::Dialect::Postgres),
        &[],
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let (s, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        if let Some(s) = Status::parse(&s) {
            out.push((s, count(n)));
        }
    }
    Ok(out)
}
