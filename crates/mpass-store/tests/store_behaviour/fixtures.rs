//! Test data and small helpers shared by the stories.

use std::sync::Arc;

use mpass_domain::application::{Application, ApplicationDetails, Place, Status, Trip};
use mpass_domain::ids::{ApplicationId, PassId, UserId};
use mpass_domain::phone::Phone;
use mpass_domain::policy::{Decision, Outcome};
use mpass_domain::ports::*;
use mpass_domain::profile::{Gender, IdType, Profile};
use time::OffsetDateTime;

/// A fixed instant plus `secs`, on whole seconds so stored milliseconds round-trip exactly.
pub(crate) fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000 + secs).unwrap()
}

pub(crate) fn phone(n: u32) -> Phone {
    Phone::parse(&format!("0171{n:07}")).unwrap()
}

pub(crate) fn details(start: OffsetDateTime, hours: u8) -> ApplicationDetails {
    let place = |area: &str| Place {
        area: area.into(),
        address: "House 1, Road 2".into(),
        lat: Some(23.75),
        lon: Some(90.39),
    };
    ApplicationDetails {
        reason: "medical".into(),
        reason_note: None,
        from: place("302602"),
        to: place("302606"),
        start,
        duration_hours: hours,
        trip: Trip::RoundTrip,
        vehicle: None,
        companions: vec![],
        legacy: None,
    }
}

pub(crate) fn new_app(
    user: UserId,
    at: OffsetDateTime,
    start: OffsetDateTime,
    key: Option<(&str, &str)>,
) -> NewApplication {
    NewApplication {
        // As the service makes it: at the time of submission.
        id: ApplicationId::new_at(at),
        user_id: user,
        details: details(start, 8),
        submitted_at: at,
        idempotency: key.map(|(k, h)| (k.to_string(), h.to_string())),
        max_per_hour: u32::MAX,
    }
}

pub(crate) fn profile(name: &str, id_number: &str) -> Profile {
    Profile {
        name: name.into(),
        date_of_birth: time::macros::date!(1990 - 01 - 15),
        gender: Gender::F,
        id_type: IdType::NID,
        id_number: id_number.into(),
        home_area: "302602".into(),
    }
}

pub(crate) async fn user(store: &Arc<dyn Store>, n: u32) -> User {
    store.user_by_phone_or_create(&phone(n), t(0)).await.unwrap()
}

pub(crate) async fn submit(
    store: &Arc<dyn Store>,
    user: UserId,
    at: OffsetDateTime,
    start: OffsetDateTime,
) -> Application {
    match store.submit_application(new_app(user, at, start, None)).await.unwrap() {
        SubmitOutcome::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub(crate) fn pass_for(app: &Application) -> PassRecord {
    let id = PassId::new();
    PassRecord {
        id,
        application_id: app.id,
        user_id: app.user_id,
        qr_text: format!("MP1:{}", id.0.simple()),
        // Unique per pass: the tail of a UUIDv7 is random.
        short_code: id.0.simple().to_string()[24..].to_uppercase(),
        kid: "kid-1".into(),
        valid_from: app.details.start,
        valid_until: app.details.end(),
        issued_at: t(5),
    }
}

pub(crate) fn decision(outcome: Outcome) -> Decision {
    Decision {
        outcome,
        reasons: vec![],
        policy_version: "test-1".into(),
    }
}

pub(crate) fn approval(app: &Application, pass: &PassRecord, jobs: Vec<NewJob>) -> DecisionRecord {
    DecisionRecord {
        application_id: app.id,
        decision: decision(Outcome::Approve),
        status: Status::Approved,
        pass: Some(pass.clone()),
        decided_at: t(5),
        jobs,
    }
}

pub(crate) async fn approve(store: &Arc<dyn Store>, app: &Application) -> PassRecord {
    let pass = pass_for(app);
    assert!(store.record_decision(approval(app, &pass, vec![])).await.unwrap());
    pass
}

pub(crate) async fn drain_jobs(store: &Arc<dyn Store>, now: OffsetDateTime) -> Vec<Job> {
    let jobs = store.jobs_lease(1000, now, 60).await.unwrap();
    for j in &jobs {
        store.job_done(j.id).await.unwrap();
    }
    jobs
}
