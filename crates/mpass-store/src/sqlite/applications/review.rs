//! The review queue (SPEC §6): the queue of a reviewer's districts, claims with a lease, a
//! reviewer's decision and the pass it issues.

use mpass_domain::policy::Outcome;
use mpass_domain::ports::{ClaimOutcome, DecideOutcome, ReviewDecision, ReviewedPass};

use super::*;

/// In review, with an approval pending or not.
fn in_review(c: &Connection, id: ApplicationId) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM applications WHERE id = ?1 AND status = 'in_review')")?
        .query_row([id.to_string()], |r| r.get(0))
}

pub(in crate::sqlite) fn review_queue(
    c: &Connection,
    districts: &[String],
    limit: u32,
) -> rusqlite::Result<Vec<Application>> {
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; districts.len()].join(", ");
    let sql = format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE status = 'in_review' AND review_outcome IS NULL
         AND review_district IN ({marks}) ORDER BY submitted_at, id LIMIT {limit}"
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(districts), app_from_row)?;
    rows.collect()
}

pub(in crate::sqlite) fn review_claim(
    c: &Connection,
    id: ApplicationId,
    reviewer: UserId,
    now: i64,
    lease_until: i64,
) -> rusqlite::Result<ClaimOutcome> {
    let changed = c
        .prepare_cached(
            "UPDATE applications SET review_claimed_by = ?2, review_lease_until = ?4
         WHERE id = ?1 AND status = 'in_review' AND review_outcome IS NULL
           AND (review_claimed_by IS NULL OR review_lease_until IS NULL OR review_lease_until <= ?3
                OR review_claimed_by = ?2)",
        )?
        .execute(params![id.to_string(), reviewer.to_string(), now, lease_until])?;
    if changed == 0 {
        return Ok(if in_review(c, id)? {
            ClaimOutcome::Taken
        } else {
            ClaimOutcome::NotFound
        });
    }
    audit::append(
        c,
        AuditEvent::review_claimed(from_ms(now), reviewer, id, from_ms(lease_until)),
    )?;
    let app = get(c, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(ClaimOutcome::Claimed(app))
}

pub(in crate::sqlite) fn review_decide(c: &Connection, d: &ReviewDecision) -> rusqlite::Result<DecideOutcome> {
    let now = ms(d.decided_at);
    let id = d.application_id;
    let Some(app) = get(c, id)?.filter(|a| a.status == Status::InReview) else {
        return Ok(DecideOutcome::NotFound);
    };
    let version = app.decision.as_ref().map_or("reviewer", |x| x.policy_version.as_str());
    let decision = d.decision(version);
    let pending = d.outcome == Outcome::Approve && d.pass.is_none();
    let (status, outcome) = match d.outcome {
        Outcome::Approve if pending => (Status::InReview, Some("approve")),
        Outcome::Approve => (Status::Approved, None),
        Outcome::Reject => (Status::Rejected, None),
        Outcome::Review => return Err(bad("review outcome")),
    };
    let changed = c
        .prepare_cached(
            "UPDATE applications SET status = ?3, decision = ?4, pass_id = ?5, review_outcome = ?6, updated_at = ?7
         WHERE id = ?1 AND status = 'in_review' AND review_outcome IS NULL
           AND review_claimed_by = ?2 AND review_lease_until > ?7",
        )?
        .execute(params![
            id.to_string(),
            d.reviewer.to_string(),
            status.as_str(),
            to_json(&decision),
            d.pass.as_ref().map(|p| p.id.to_string()),
            outcome,
            now
        ])?;
    if changed == 0 {
        return Ok(DecideOutcome::NotHolder);
    }
    stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(status, d.pass.is_some())),
    )?;
    if let Some(p) = &d.pass {
        insert_pass(c, p)?;
    }
    for job in &d.jobs {
        jobs::insert(c, job, now)?;
    }
    audit::append(
        c,
        AuditEvent::reviewed(
            d.decided_at,
            d.reviewer,
            id,
            &decision,
            d.pass.as_ref().map(|p| p.id.to_string()),
            pending,
        ),
    )?;
    let app = get(c, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(DecideOutcome::Decided(app))
}

pub(in crate::sqlite) fn review_issue_pass(c: &Connection, p: &ReviewedPass) -> rusqlite::Result<bool> {
    let now = ms(p.issued_at);
    let id = p.pass.application_id;
    let changed = c
        .prepare_cached(
            "UPDATE applications SET status = 'approved', pass_id = ?2, review_outcome = NULL, updated_at = ?3
         WHERE id = ?1 AND status = 'in_review' AND review_outcome = 'approve'",
        )?
        .execute(params![id.to_string(), p.pass.id.to_string(), now])?;
    if changed == 0 {
        return Ok(false);
    }
    stats::shift(
        c,
        &stats::key_of(c, id)?.0,
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(Status::Approved, true)),
    )?;
    insert_pass(c, &p.pass)?;
    for job in &p.jobs {
        jobs::insert(c, job, now)?;
    }
    let decision = get(c, id)?
        .and_then(|a| a.decision)
        .ok_or_else(|| bad("reviewed decision"))?;
    audit::append(
        c,
        AuditEvent::decided(
            p.issued_at,
            Actor::system(),
            id,
            "approved",
            &decision,
            Some(p.pass.id.to_string()),
        ),
    )?;
    Ok(true)
}
