//! The review queue on PostgreSQL (SPEC §6): the queue of a reviewer's districts, claims
//! with a lease, a reviewer's decision and the pass it issues.

use mpass_domain::policy::Outcome;
use mpass_domain::ports::{ClaimOutcome, DecideOutcome, ReviewDecision, ReviewedPass};

use super::*;

async fn in_review(c: &impl GenericClient, id: ApplicationId) -> Result<bool, PgError> {
    Ok(query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM applications WHERE id = $1 AND status = 'in_review')",
        &[&id.0],
    )
    .await?
    .try_get(0)?)
}

pub(in crate::postgres) async fn review_queue(
    c: &impl GenericClient,
    districts: &[String],
    limit: u32,
) -> Result<Vec<Application>, PgError> {
    let sql = format!(
        "{SELECT_APP} WHERE status = 'in_review' AND review_outcome IS NULL AND review_district = ANY($1)
         ORDER BY submitted_at, id LIMIT $2"
    );
    let rows = query(c, &sql, &[&districts, &big(limit)]).await?;
    rows.iter().map(app_from_row).collect()
}

/// One conditional UPDATE: of concurrent claims, the first takes the row lock; the others
/// wait for it, re-check the condition against the claimed row and change nothing.
pub(in crate::postgres) async fn review_claim(
    c: &impl GenericClient,
    id: ApplicationId,
    reviewer: UserId,
    now: i64,
    lease_until: i64,
) -> Result<ClaimOutcome, PgError> {
    let changed = exec(
        c,
        "UPDATE applications SET review_claimed_by = $2, review_lease_until = $4
         WHERE id = $1 AND status = 'in_review' AND review_outcome IS NULL
           AND (review_claimed_by IS NULL OR review_lease_until IS NULL OR review_lease_until <= $3
                OR review_claimed_by = $2)",
        &[&id.0, &reviewer.0, &now, &lease_until],
    )
    .await?;
    if changed == 0 {
        return Ok(if in_review(c, id).await? {
            ClaimOutcome::Taken
        } else {
            ClaimOutcome::NotFound
        });
    }
    audit::append(
        c,
        AuditEvent::review_claimed(from_ms(now), reviewer, id, from_ms(lease_until)),
    )
    .await?;
    let app = get(c, id)
        .await?
        .ok_or_else(|| PgError::Corrupt("claimed application vanished".into()))?;
    Ok(ClaimOutcome::Claimed(app))
}

pub(in crate::postgres) async fn review_decide(
    c: &impl GenericClient,
    d: &ReviewDecision,
) -> Result<DecideOutcome, PgError> {
    let now = ms(d.decided_at);
    let id = d.application_id;
    let Some(app) = get(c, id).await?.filter(|a| a.status == Status::InReview) else {
        return Ok(DecideOutcome::NotFound);
    };
    let version = app.decision.as_ref().map_or("reviewer", |x| x.policy_version.as_str());
    let decision = d.decision(version);
    let pending = d.outcome == Outcome::Approve && d.pass.is_none();
    let (status, outcome) = match d.outcome {
        Outcome::Approve if pending => (Status::InReview, Some("approve")),
        Outcome::Approve => (Status::Approved, None),
        Outcome::Reject => (Status::Rejected, None),
        Outcome::Review => return Err(PgError::Corrupt("a review is not a reviewer's decision".into())),
    };
    let changed = exec(
        c,
        "UPDATE applications SET status = $3, decision = $4::text::jsonb, pass_id = $5, review_outcome = $6,
             updated_at = $7
         WHERE id = $1 AND status = 'in_review' AND review_outcome IS NULL
           AND review_claimed_by = $2 AND review_lease_until > $7",
        &[
            &id.0,
            &d.reviewer.0,
            &status.as_str(),
            &to_json(&decision),
            &d.pass.as_ref().map(|p| p.id.0),
            &outcome,
            &now,
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(DecideOutcome::NotHolder);
    }
    stats::shift(
        c,
        &AppKey::of(&app),
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(status, d.pass.is_some())),
    )
    .await?;
    if let Some(p) = &d.pass {
        insert_pass(c, p).await?;
    }
    for job in &d.jobs {
        jobs::insert(c, job, now).await?;
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
    )
    .await?;
    let app = get(c, id)
        .await?
        .ok_or_else(|| PgError::Corrupt("decided application vanished".into()))?;
    Ok(DecideOutcome::Decided(app))
}

pub(in crate::postgres) async fn review_issue_pass(c: &impl GenericClient, p: &ReviewedPass) -> Result<bool, PgError> {
    let now = ms(p.issued_at);
    let id = p.pass.application_id;
    let changed = exec(
        c,
        "UPDATE applications SET status = 'approved', pass_id = $2, review_outcome = NULL, updated_at = $3
         WHERE id = $1 AND status = 'in_review' AND review_outcome = 'approve'",
        &[&id.0, &p.pass.id.0, &now],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    stats::shift(
        c,
        &stats::key_of(c, id).await?.0,
        Some(Standing::new(Status::InReview, false)),
        Some(Standing::new(Status::Approved, true)),
    )
    .await?;
    insert_pass(c, &p.pass).await?;
    for job in &p.jobs {
        jobs::insert(c, job, now).await?;
    }
    let decision = get(c, id)
        .await?
        .and_then(|a| a.decision)
        .ok_or_else(|| PgError::Corrupt("reviewed application without its decision".into()))?;
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
    )
    .await?;
    Ok(true)
}
