//! Applications on SQLite: submission, the citizen's list, cancelling and decisions; passes and
//! revocations in `passes`, the reviewers' queue in `review`.

use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEvent, action};
use mpass_domain::ids::{ApplicationId, PassId, UserId};
use mpass_domain::ports::{ApplicantFacts, DecisionRecord, MAX_COUNTED_PER_DAY, NewApplication, NewJob, SubmitOutcome};
use rusqlite::{Connection, OptionalExtension, Row, params};

use mpass_domain::stats::{AppKey, Standing};

use super::{audit, from_ms, jobs, json_col, ms, stats, to_json};

mod passes;
mod review;
pub(super) use passes::{
    PassColumn, insert_pass, pass, pass_and_status, pass_by_short_code, revocations_since, revoke,
};
pub(super) use review::{review_claim, review_decide, review_issue_pass, review_queue};

pub(super) const APP_COLUMNS: &str = "id, user_id, status, details, decision, pass_id, submitted_at, updated_at";

pub(super) fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnName(format!("corrupt {what}"))
}

pub(super) fn app_from_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    let id: String = r.get(0)?;
    let user: String = r.get(1)?;
    let status: String = r.get(2)?;
    let details: String = r.get(3)?;
    let decision: Option<String> = r.get(4)?;
    let pass: Option<String> = r.get(5)?;
    Ok(Application {
        id: ApplicationId::parse(&id).ok_or_else(|| bad("application id"))?,
        user_id: UserId::parse(&user).ok_or_else(|| bad("user id"))?,
        status: parse_status(&status)?,
        details: json_col(&details)?,
        decision: decision.as_deref().map(json_col).transpose()?,
        pass_id: pass
            .as_deref()
            .map(|p| PassId::parse(p).ok_or_else(|| bad("pass id")))
            .transpose()?,
        submitted_at: from_ms(r.get(6)?),
        updated_at: from_ms(r.get(7)?),
    })
}

pub(super) fn get(c: &Connection, id: ApplicationId) -> rusqlite::Result<Option<Application>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM applications WHERE id = ?1");
    c.prepare_cached(&sql)?
        .query_row([id.to_string()], app_from_row)
        .optional()
}

pub(super) fn submit(c: &Connection, app: &NewApplication) -> rusqlite::Result<SubmitOutcome> {
    let user = app.user_id.to_string();
    if let Some((key, body_hash)) = &app.idempotency {
        let seen: Option<(String, String)> = c
            .prepare_cached("SELECT body_hash, application_id FROM idempotency_keys WHERE user_id = ?1 AND key = ?2")?
            .query_row(params![user, key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((hash, first)) = seen {
            if &hash != body_hash {
                return Ok(SubmitOutcome::KeyReused);
            }
            let id = ApplicationId::parse(&first).ok_or_else(|| bad("idempotent application id"))?;
            return get(c, id)?
                .map(SubmitOutcome::Replayed)
                .ok_or(rusqlite::Error::QueryReturnedNoRows);
        }
    }
    // The one writer makes this exact: no other submission runs between the count and the
    // insert.
    if let Some(newest_counted) = newest_counted(c, app)? {
        return Ok(app.too_many(newest_counted));
    }
    if let Some((key, body_hash)) = &app.idempotency {
        c.prepare_cached("INSERT INTO idempotency_keys (user_id, key, body_hash, application_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![user, key, body_hash, app.id.to_string(), ms(app.submitted_at)],
        )?;
    }
    let now = ms(app.submitted_at);
    c.prepare_cached(
        "INSERT INTO applications (id, user_id, status, details, start_at, end_at, submitted_at, updated_at, vehicle_reg)
         VALUES (?1, ?2, 'submitted', ?3, ?4, ?5, ?6, ?6, ?7)",
    )?
    .execute(params![
        app.id.to_string(),
        user,
        to_json(&app.details),
        ms(app.details.start),
        ms(app.details.end()),
        now,
        app.details.vehicle.as_ref().map(|v| v.registration_key()),
    ])?;
    jobs::insert(c, &NewJob::decide(app.id), now)?;
    let created = app.submitted();
    stats::shift(
        c,
        &AppKey::of(&created),
        None,
        Some(Standing::new(Status::Submitted, false)),
    )?;
    Ok(SubmitOutcome::Created(created))
}

/// The `max_per_hour`-th newest of the citizen's applications in the hour up to this
/// submission, if there are that many: one step down `applications_user` per application
/// counted.
fn newest_counted(c: &Connection, app: &NewApplication) -> rusqlite::Result<Option<ApplicationId>> {
    let id: Option<String> = c
        .prepare_cached(
            "SELECT id FROM applications WHERE user_id = ?1 AND id >= ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3",
        )?
        .query_row(
            params![
                app.user_id.to_string(),
                app.window_start().to_string(),
                app.max_per_hour.saturating_sub(1)
            ],
            |r| r.get(0),
        )
        .optional()?;
    id.map(|id| ApplicationId::parse(&id).ok_or_else(|| bad("application id")))
        .transpose()
}

pub(super) fn list(
    c: &Connection,
    user: UserId,
    before: Option<ApplicationId>,
    limit: u32,
) -> rusqlite::Result<Vec<Application>> {
    // Ids are UUIDv7: their text order is their time order.
    let before = before.map_or_else(|| "~".to_string(), |b| b.to_string());
    let sql = format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT CAST(?3 AS INTEGER)"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![user.to_string(), before, limit], app_from_row)?;
    rows.collect()
}

pub(super) fn cancel(
    c: &Connection,
    id: ApplicationId,
    user: UserId,
    now: i64,
) -> rusqlite::Result<Option<(Application, bool)>> {
    let Some(app) = get(c, id)? else { return Ok(None) };
    if app.user_id != user {
        return Ok(None);
    }
    let cancellable = app.status.cancellable();
    if cancellable {
        c.prepare_cached("UPDATE applications SET status = 'cancelled', updated_at = ?2 WHERE id = ?1")?
            .execute(params![id.to_string(), now])?;
        let has_pass = app.pass_id.is_some();
        stats::shift(
            c,
            &AppKey::of(&app),
            Some(Standing::new(app.status, has_pass)),
            Some(Standing::new(Status::Cancelled, has_pass)),
        )?;
        if let Some(pass) = app.pass_id {
            // Officers offline learn of the cancellation through the revocation list.
            c.prepare_cached("INSERT INTO revocations (pass_id, reason, revoked_at) VALUES (?1, 'cancelled', ?2)")?
                .execute(params![pass.to_string(), now])?;
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
        )?;
    }
    Ok(get(c, id)?.map(|app| (app, cancellable)))
}

pub(super) fn facts(
    c: &Connection,
    app: &Application,
    window_start: i64,
    document: Option<(String, String)>,
) -> rusqlite::Result<ApplicantFacts> {
    let user = app.user_id.to_string();
    let id = app.id.to_string();
    let overlapping_approved: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM applications WHERE user_id = ?1 AND status = 'approved' AND id <> ?2
             AND start_at < ?3 AND end_at > ?4)",
        )?
        .query_row(params![user, id, ms(app.details.end()), ms(app.details.start)], |r| {
            r.get(0)
        })?;
    let passes_in_window: u32 = c.prepare_cached("SELECT count(*) FROM applications WHERE user_id = ?1 AND status = 'approved' AND id <> ?2 AND start_at >= ?3")?.query_row(params![user, id, window_start],
        |r| r.get(0),
    )?;
    let document_on_other_phone = match document {
        Some((kind, number)) => c
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM profiles WHERE id_type = ?1 AND id_number = ?2 AND user_id <> ?3)",
            )?
            .query_row(params![kind, number, user], |r| r.get(0))?,
        None => false,
    };
    // Earlier applications of the same user sent within the day: ids are made at submission
    // and time-ordered, so this reads that day's entries of the (user_id, id) index alone,
    // however many applications the user sent before.
    let day_ago = ApplicationId::first_at(app.submitted_at - time::Duration::DAY).to_string();
    let applications_last_day: u32 = c
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM applications WHERE user_id = ?1 AND id < ?2 AND id >= ?3 LIMIT CAST(?4 AS INTEGER))",
        )?
        .query_row(params![user, id, day_ago, MAX_COUNTED_PER_DAY], |r| r.get(0))?;
    let vehicle_overlapping_approved = match &app.details.vehicle {
        Some(v) => c
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM applications WHERE vehicle_reg = ?1 AND status = 'approved'
                 AND vehicle_reg IS NOT NULL AND user_id <> ?2 AND start_at < ?3 AND end_at > ?4)",
            )?
            .query_row(
                params![v.registration_key(), user, ms(app.details.end()), ms(app.details.start)],
                |r| r.get(0),
            )?,
        None => false,
    };
    Ok(ApplicantFacts {
        overlapping_approved,
        passes_in_window,
        document_on_other_phone,
        vehicle_overlapping_approved,
        applications_last_day,
    })
}

pub(super) fn record_decision(c: &Connection, d: &DecisionRecord) -> rusqlite::Result<bool> {
    let now = ms(d.decided_at);
    let changed = c.prepare_cached("UPDATE applications SET status = ?2, decision = ?3, pass_id = ?4, updated_at = ?5, decided_at = ?5 WHERE id = ?1 AND status = 'submitted'")?.execute(params![d.application_id.to_string(), d.status.as_str(), to_json(&d.decision), d.pass.as_ref().map(|p| p.id.to_string()), now],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    let (key, submitted_ms) = stats::key_of(c, d.application_id)?;
    stats::shift(
        c,
        &key,
        Some(Standing::new(Status::Submitted, false)),
        Some(Standing::new(d.status, d.pass.is_some())),
    )?;
    stats::decided(c, &key, submitted_ms, now)?;
    if d.status == Status::InReview {
        let district = get(c, d.application_id)?.as_ref().and_then(crate::review_district);
        c.prepare_cached("UPDATE applications SET review_district = ?2 WHERE id = ?1")?
            .execute(params![d.application_id.to_string(), district])?;
    }
    if let Some(p) = &d.pass {
        insert_pass(c, p)?;
    }
    for job in &d.jobs {
        jobs::insert(c, job, now)?;
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
    )?;
    Ok(true)
}

/// A stored status, or a corrupt-column error.
pub(super) fn parse_status(s: &str) -> rusqlite::Result<Status> {
    Status::parse(s).ok_or_else(|| bad("status"))
}

pub(super) fn status_counts(c: &Connection) -> rusqlite::Result<Vec<(Status, u64)>> {
    let mut st = c.prepare_cached(&crate::stats_sql::status_totals(crate::stats_sql::Dialect::Sqlite))?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (s, n) = row?;
        if let Some(s) = Status::parse(&s) {
            out.push((s, n));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use mpass_domain::application::Status;
    use mpass_domain::ids::{ApplicationId, PassId, UserId};
    use mpass_domain::ports::PassRecord;
    use rusqlite::{Connection, params};
    use time::OffsetDateTime;

    use super::{PassColumn, insert_pass, pass_and_status};

    /// A pass stored with its application's status is read from `passes` alone; one from
    /// before schema version 13 (status NULL) is read with its application's status.
    #[test]
    fn a_check_reads_the_status_now_from_either() {
        let c = Connection::open_in_memory().unwrap();
        crate::sqlite::schema::migrate(&c).unwrap();
        let app = |status: &str| {
            let id = ApplicationId::new();
            c.execute(
                "INSERT INTO applications (id, user_id, status, details, start_at, end_at, submitted_at, updated_at)
                 VALUES (?1, 'u', ?2, '{}', 0, 0, 0, 0)",
                params![id.to_string(), status],
            )
            .unwrap();
            id
        };
        let record = |application_id: ApplicationId| {
            let id = PassId::new();
            PassRecord {
                id,
                application_id,
                user_id: UserId::new(),
                qr_text: format!("MP1:{}", id.0.simple()),
                short_code: id.0.simple().to_string()[24..].to_uppercase(),
                kid: "kid-1".into(),
                valid_from: OffsetDateTime::UNIX_EPOCH,
                valid_until: OffsetDateTime::UNIX_EPOCH,
                issued_at: OffsetDateTime::UNIX_EPOCH,
            }
        };
        let read = |p: &PassRecord| {
            let (found, status) = pass_and_status(&c, PassColumn::Id, &p.id.to_string()).unwrap();
            let (by_code, same) = pass_and_status(&c, PassColumn::ShortCode, &p.short_code).unwrap();
            assert_eq!((found.as_ref(), status), (by_code.as_ref(), same));
            (found.map(|f| f.id), status)
        };

        let a = app("approved");
        let stored = record(a);
        insert_pass(&c, &stored).unwrap();
        assert_eq!(read(&stored), (Some(stored.id), Some(Status::Approved)));
        c.execute(
            "UPDATE applications SET status = 'revoked' WHERE id = ?1",
            [a.to_string()],
        )
        .unwrap();
        assert_eq!(read(&stored), (Some(stored.id), Some(Status::Revoked)));

        // Stored before version 13: no status of its own.
        let b = app("approved");
        let old = record(b);
        insert_pass(&c, &old).unwrap();
        c.execute("UPDATE passes SET status = NULL WHERE id = ?1", [old.id.to_string()])
            .unwrap();
        assert_eq!(read(&old), (Some(old.id), Some(Status::Approved)));
        c.execute(
            "UPDATE applications SET status = 'cancelled' WHERE id = ?1",
            [b.to_string()],
        )
        .unwrap();
        assert_eq!(read(&old), (Some(old.id), Some(Status::Cancelled)));

        assert_eq!(read(&record(a)), (None, None));
    }
}
