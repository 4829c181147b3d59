//! `decide_application`: runs the policy on a submitted application and, on approval,
//! signs its pass. Idempotent: the store records a decision only while the application
//! is still `submitted`, so a second delivery finds it decided and does nothing.

use mpass_domain::application::{Application, Status, Trip};
use mpass_domain::ids::{ApplicationId, PassId};
use mpass_domain::language::Language;
use mpass_domain::notify;
use mpass_domain::pass::{PassClaims, abbreviate_holder_name, short_code, sign_pass};
use mpass_domain::policy::{Decision, Outcome};
use mpass_domain::ports::{DecisionRecord, PassRecord, StoredProfile};
use time::OffsetDateTime;

use super::{JobError, sms};
use crate::WorkerContext;

pub use mpass_domain::ports::JOB_DECIDE as KIND;

pub async fn run(ctx: &WorkerContext, payload: &str) -> Result<(), JobError> {
    let id =
        ApplicationId::parse(payload).ok_or_else(|| JobError::Permanent(format!("bad application id {payload:?}")))?;
    let policy = ctx.policy();
    let inputs = ctx.store.decision_inputs(id, policy.weekly_window()).await?;
    let Some(app) = inputs.application else {
        return Err(JobError::Permanent(format!("application {id} not found")));
    };
    if app.status != Status::Submitted {
        return Ok(());
    }
    let profile = inputs
        .profile
        .ok_or_else(|| JobError::Permanent("applicant has no profile".into()))?;
    let user = inputs
        .user
        .ok_or_else(|| JobError::Permanent("applicant not found".into()))?;
    let facts = inputs
        .facts
        .ok_or_else(|| JobError::Transient("policy facts were not read".into()))?;
    let now = OffsetDateTime::now_utc();
    let input = app.details.policy_input();
    let decision = policy.evaluate(&input, &facts.at(now));
    let status = match decision.outcome {
        Outcome::Approve => Status::Approved,
        Outcome::Reject => Status::Rejected,
        Outcome::Review => Status::InReview,
    };
    let pass = if status == Status::Approved {
        Some(issue_pass(ctx, &app, &profile, now)?)
    } else {
        None
    };
    let lang = inputs.language.unwrap_or(Language::NOTIFICATION_DEFAULT);
    let message = notification(lang, &app, &decision, pass.as_ref());
    let record = DecisionRecord {
        application_id: app.id,
        decision,
        status,
        pass,
        decided_at: now,
        jobs: vec![sms::job(&user.phone, &message)],
    };
    let recorded = ctx.store.record_decision(record).await?;
    tracing::info!(application.id = %app.id, outcome = status.as_str(), recorded, "application.decided");
    Ok(())
}

/// Signs the pass of an application (also used for passes a reviewer approved).
pub(crate) fn issue_pass(
    ctx: &WorkerContext,
    app: &Application,
    profile: &StoredProfile,
    now: OffsetDateTime,
) -> Result<PassRecord, JobError> {
    let p = &profile.profile;
    let id = PassId::new();
    let geocode = |code: &str| {
        code.parse::<u64>()
            .map_err(|_| JobError::Permanent(format!("area {code} is not a geocode")))
    };
    let valid_from = app.details.start;
    let valid_until = app.details.end();
    let claims = PassClaims {
        issuer: ctx.issuer.clone(),
        pass_id: *id.as_bytes(),
        issued_at: now.unix_timestamp(),
        not_before: valid_from.unix_timestamp(),
        expires: valid_until.unix_timestamp(),
        holder_name: abbreviate_holder_name(&p.name),
        document_last4: p.document_last4(),
        birth_year: p.date_of_birth.year() as u16,
        reason: app.details.reason.clone(),
        from_area: geocode(&app.details.from.area)?,
        to_area: geocode(&app.details.to.area)?,
        round_trip: app.details.trip == Trip::RoundTrip,
        vehicle_registration: app.details.vehicle.as_ref().map(|v| v.registration.clone()),
        companions: app.details.companions.len() as u8,
    };
    let key = ctx.pass_key.signing_key();
    let qr_text = sign_pass(&claims, &key).map_err(|e| JobError::Permanent(format!("cannot sign pass: {e}")))?;
    Ok(PassRecord {
        id,
        application_id: app.id,
        user_id: app.user_id,
        qr_text,
        short_code: short_code(id.as_bytes()),
        kid: mpass_domain::otp::hex(&key.kid()),
        valid_from,
        valid_until,
        issued_at: now,
    })
}

/// The SMS that tells the citizen the outcome, in their language.
fn notification(lang: Language, app: &Application, decision: &Decision, pass: Option<&PassRecord>) -> String {
    let app_ref = notify::app_ref(app.id);
    match (decision.outcome, pass) {
        (Outcome::Approve, Some(p)) => notify::approved(lang, &p.short_code, p.valid_from, p.valid_until),
        (Outcome::Reject, _) => {
            // The first rule that rejected: the reason the citizen most needs.
            let first = decision
                .reasons
                .iter()
                .find(|h| h.outcome == Outcome::Reject)
                .or(decision.reasons.first());
            let reason = first.map_or("", |h| lang.pick(&h.message_en, &h.message_bn));
            notify::rejected(lang, &app_ref, reason)
        }
        _ => notify::in_review(lang, &app_ref),
    }
}
