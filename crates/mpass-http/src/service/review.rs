//! A reviewer's actions (SPEC §6), shared by the JSON API and the `/review` pages: the
//! queue of the reviewer's districts, claiming an application, and deciding it.

use mpass_domain::policy::Outcome;
use mpass_domain::ports::{
    ClaimOutcome, DecideOutcome, JOB_ISSUE_REVIEWED_PASS, NewJob, REVIEW_LEASE_SECS, ReviewDecision,
};

use super::*;

/// Most characters in a reviewer's note.
const MAX_REVIEW_NOTE: usize = 2000;

/// A reviewer's decision as sent: `approve` or `reject`, a reason code and a note.
pub(crate) struct ReviewInput<'a> {
    pub outcome: &'a str,
    pub reason_code: &'a str,
    pub note: &'a str,
}

/// The application `id` if it is in review in one of the reviewer's districts; 404
/// otherwise, so other districts' work does not leak.
pub(crate) async fn in_reviewers_districts(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
) -> Result<Application, ApiError> {
    let app = state.store.application(id).await?.ok_or(ApiError::NotFound)?;
    let district = mpass_domain::geo::areas()
        .district_of(&app.details.from.area)
        .map(|d| d.code.as_str())
        .ok_or(ApiError::NotFound)?;
    if app.status != Status::InReview || !caller.reviews_district(district) {
        return Err(ApiError::NotFound);
    }
    Ok(app)
}

/// The reviewer's queue: in review, in their districts, oldest first.
pub(crate) async fn review_queue(state: &AppState, caller: &Caller, limit: u32) -> Result<Vec<Application>, ApiError> {
    if !caller.has_role("reviewer") {
        return Err(ApiError::Forbidden);
    }
    Ok(state.store.review_queue(caller.districts(), limit).await?)
}

/// Claims an application for the reviewer for [`REVIEW_LEASE_SECS`]: the application and
/// when the lease ends. 409 `claimed_by_other` while another reviewer holds it.
pub(crate) async fn review_claim(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
) -> Result<(Application, OffsetDateTime), ApiError> {
    if !caller.has_role("reviewer") {
        return Err(ApiError::Forbidden);
    }
    in_reviewers_districts(state, caller, id).await?;
    let now = now_ms();
    match state
        .store
        .review_claim(id, caller.user_id, now, REVIEW_LEASE_SECS)
        .await?
    {
        ClaimOutcome::Claimed(app) => {
            tracing::info!(application.id = %id, reviewer = %caller.user_id, "review.claimed");
            Ok((app, now + Duration::seconds(REVIEW_LEASE_SECS)))
        }
        ClaimOutcome::Taken => Err(ApiError::Conflict {
            code: "claimed_by_other",
            detail: "Another reviewer holds this application.".into(),
        }),
        ClaimOutcome::NotFound => Err(ApiError::NotFound),
    }
}

fn parse_review(input: &ReviewInput<'_>) -> Result<(Outcome, String, String), ApiError> {
    let outcome = match input.outcome {
        "approve" => Outcome::Approve,
        "reject" => Outcome::Reject,
        _ => {
            return Err(ApiError::field(
                "outcome",
                "invalid_outcome",
                "The outcome is approve, reject or request_info.",
                "সিদ্ধান্ত হবে approve, reject অথবা request_info।",
            ));
        }
    };
    let code = input.reason_code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ApiError::field(
            "reason_code",
            "invalid_reason_code",
            "Give a reason code of 1 to 64 characters: a-z, 0-9 and _.",
            "১ থেকে ৬৪ অক্ষরের কারণ কোড দিন: a-z, 0-9 এবং _।",
        ));
    }
    let note = input.note.trim();
    if note.chars().count() > MAX_REVIEW_NOTE || note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::field(
            "note",
            "invalid_note",
            "Keep the note to 2000 characters.",
            "নোট ২০০০ অক্ষরের মধ্যে রাখুন।",
        ));
    }
    Ok((outcome, code.to_string(), note.to_string()))
}

/// The lease holder decides. A rejection is recorded at once (and the citizen told); an
/// approval is recorded as intent with an `issue_reviewed_pass` job, because API nodes
/// hold no pass-signing key: a worker signs the pass and the application turns `approved`.
/// 409 `not_lease_holder` without an unexpired lease.
pub(crate) async fn review_decide(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
    input: ReviewInput<'_>,
) -> Result<Application, ApiError> {
    if !caller.has_role("reviewer") {
        return Err(ApiError::Forbidden);
    }
    let (outcome, reason_code, note) = parse_review(&input)?;
    let app = in_reviewers_districts(state, caller, id).await?;
    let jobs = match outcome {
        Outcome::Approve => vec![NewJob {
            kind: JOB_ISSUE_REVIEWED_PASS.into(),
            payload: id.to_string(),
        }],
        _ => {
            let holder = state
                .store
                .user(app.user_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("applicant of {id} not found")))?;
            let lang = language_of(state, holder.id).await?;
            let body = notify::rejected(lang, &notify::app_ref(id), &note);
            vec![NewJob::sms(&holder.phone, &body)]
        }
    };
    let decision = ReviewDecision {
        application_id: id,
        reviewer: caller.user_id,
        outcome,
        reason_code,
        note,
        pass: None,
        jobs,
        decided_at: now_ms(),
    };
    match state.store.review_decide(decision).await? {
        DecideOutcome::Decided(app) => {
            state.queue.notify();
            tracing::info!(application.id = %id, reviewer = %caller.user_id, outcome = outcome.as_str(), "application.reviewed");
            Ok(app)
        }
        DecideOutcome::NotHolder => Err(ApiError::Conflict {
            code: "not_lease_holder",
            detail: "Claim this application first: you hold no current lease on it.".into(),
        }),
        DecideOutcome::NotFound => Err(ApiError::NotFound),
    }
}
