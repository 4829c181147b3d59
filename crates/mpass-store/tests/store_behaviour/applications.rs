//! Stories: submission and idempotency, listing, cancelling, and the applicant's facts.

use std::sync::Arc;

use mpass_domain::application::{Application, Status, Vehicle};
use mpass_domain::ids::ApplicationId;
use mpass_domain::ids::UserId;
use mpass_domain::policy::Outcome;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use super::fixtures::*;

pub(crate) async fn submit_replay_and_key_reuse(store: Arc<dyn Store>) {
    let (u, v) = (user(&store, 1).await, user(&store, 2).await);
    let first = match store
        .submit_application(new_app(u.id, t(10), t(3600), Some(("k1", "body-a"))))
        .await
        .unwrap()
    {
        SubmitOutcome::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    };
    assert_eq!(first.status, Status::Submitted);
    assert_eq!(first.submitted_at, t(10));
    assert_eq!(store.application(first.id).await.unwrap(), Some(first.clone()));

    match store
        .submit_application(new_app(u.id, t(11), t(3600), Some(("k1", "body-a"))))
        .await
        .unwrap()
    {
        SubmitOutcome::Replayed(a) => assert_eq!(a, first),
        other => panic!("expected Replayed, got {other:?}"),
    }
    assert!(matches!(
        store
            .submit_application(new_app(u.id, t(12), t(3600), Some(("k1", "body-b"))))
            .await
            .unwrap(),
        SubmitOutcome::KeyReused
    ));
    // Keys belong to a user; no key means no de-duplication.
    assert!(matches!(
        store
            .submit_application(new_app(v.id, t(13), t(3600), Some(("k1", "body-a"))))
            .await
            .unwrap(),
        SubmitOutcome::Created(_)
    ));
    let plain = submit(&store, u.id, t(14), t(3600)).await;
    assert_ne!(plain.id, first.id);
    assert_eq!(store.applications_of(u.id, None, 10).await.unwrap().len(), 2);

    // Each created application enqueued exactly one decision job naming it.
    assert_eq!(store.jobs_depth().await.unwrap(), (3, 0));
    let jobs = drain_jobs(&store, t(20)).await;
    assert!(jobs.iter().all(|j| j.kind == JOB_DECIDE));
    assert!(jobs.iter().any(|j| j.payload == first.id.to_string()));
    assert!(jobs.iter().any(|j| j.payload == plain.id.to_string()));
    assert_eq!(store.application(ApplicationId::new()).await.unwrap(), None);
}

pub(crate) async fn concurrent_identical_retries_create_one(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let app = new_app(u.id, t(10), t(3600), Some(("retry-key", "same-body")));
            tokio::spawn(async move { store.submit_application(app).await.unwrap() })
        })
        .collect();
    let (mut created, mut replayed) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            SubmitOutcome::Created(a) => created.push(a.id),
            SubmitOutcome::Replayed(a) => replayed.push(a.id),
            other => panic!("expected Created or Replayed, got {other:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one retry creates the application");
    assert!(replayed.iter().all(|id| *id == created[0]));
    assert_eq!(store.applications_of(u.id, None, 100).await.unwrap().len(), 1);
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 0));
}

/// `max_per_hour` counts the citizen's applications in the hour up to the submission,
/// exactly, whoever asks at once; a replay is answered whatever the count, and a refused
/// submission leaves nothing behind (not even its idempotency key).
pub(crate) async fn hourly_limit_counts_the_last_hour(store: Arc<dyn Store>) {
    let (u, v, w) = (user(&store, 1).await, user(&store, 2).await, user(&store, 3).await);
    let limited = |user, at, key: Option<(&str, &str)>, max| NewApplication {
        max_per_hour: max,
        ..new_app(user, at, t(7200), key)
    };
    let outcome = |o: SubmitOutcome| match o {
        SubmitOutcome::Created(_) => "created".to_string(),
        SubmitOutcome::Replayed(_) => "replayed".to_string(),
        SubmitOutcome::KeyReused => "reused".to_string(),
        SubmitOutcome::TooMany { retry_after } => format!("wait {retry_after}"),
    };
    let mut got = Vec::new();
    for (at, key) in [
        (0, Some(("k0", "b0"))),
        (100, None),
        (200, None),
        (300, None),
        (300, Some(("k0", "b0"))),
    ] {
        got.push(outcome(
            store.submit_application(limited(u.id, t(at), key, 3)).await.unwrap(),
        ));
    }
    // The fourth waits until the first is an hour old: 3,600 − 300 s.
    assert_eq!(got, ["created", "created", "created", "wait 3300", "replayed"]);
    let refused = limited(u.id, t(300), Some(("late", "b1")), 3);
    assert_eq!(outcome(store.submit_application(refused).await.unwrap()), "wait 3300");
    assert_eq!(
        outcome(store.submit_application(limited(v.id, t(300), None, 3)).await.unwrap()),
        "created"
    );
    // An hour after the first, two remain in the window; the refused key was not kept.
    let late = limited(u.id, t(3601), Some(("late", "b1")), 3);
    assert_eq!(outcome(store.submit_application(late).await.unwrap()), "created");
    // A lower limit waits for the second newest of the three in the window (t(200)).
    assert_eq!(
        outcome(store.submit_application(limited(u.id, t(3602), None, 2)).await.unwrap()),
        "wait 198"
    );
    assert_eq!(store.applications_of(u.id, None, 100).await.unwrap().len(), 4);
    assert_eq!(store.jobs_depth().await.unwrap(), (5, 0));

    // Sixteen at once for one citizen: exactly five get in.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, app) = (store.clone(), limited(w.id, t(50), None, 5));
            tokio::spawn(async move { store.submit_application(app).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            SubmitOutcome::Created(_) => created += 1,
            SubmitOutcome::TooMany { retry_after } => assert_eq!(retry_after, 3600),
            other => panic!("expected Created or TooMany, got {other:?}"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(store.applications_of(w.id, None, 100).await.unwrap().len(), 5);
}

pub(crate) async fn list_pagination_newest_first(store: Arc<dyn Store>) {
    let (u, v) = (user(&store, 1).await, user(&store, 2).await);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(submit(&store, u.id, t(10 + i), t(3600)).await.id);
    }
    submit(&store, v.id, t(20), t(3600)).await;
    ids.sort();
    ids.reverse();

    let all: Vec<_> = store
        .applications_of(u.id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(all, ids, "newest first, only the user's own");

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store.applications_of(u.id, before, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        before = page.last().map(|a| a.id);
        pages.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(pages, ids);
    assert!(store.applications_of(u.id, Some(ids[4]), 10).await.unwrap().is_empty());
}

pub(crate) async fn cancel_owner_only_with_revocation(store: Arc<dyn Store>) {
    let (u, v) = (user(&store, 1).await, user(&store, 2).await);
    let a = submit(&store, u.id, t(10), t(3600)).await;
    assert_eq!(store.cancel_application(a.id, v.id, t(20)).await.unwrap(), None);
    assert_eq!(
        store.application(a.id).await.unwrap().unwrap().status,
        Status::Submitted
    );
    let (cancelled, changed) = store.cancel_application(a.id, u.id, t(20)).await.unwrap().unwrap();
    assert!(changed);
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(cancelled.updated_at, t(20));
    assert_eq!(store.application(a.id).await.unwrap(), Some(cancelled.clone()));
    assert_eq!(store.revocations_since(0, 100).await.unwrap(), (0, vec![]));
    // A late decision for a cancelled application changes nothing.
    assert!(
        !store
            .record_decision(approval(&a, &pass_for(&a), vec![]))
            .await
            .unwrap()
    );

    // Cancelling an approved pass puts it on the revocation list.
    let b = submit(&store, u.id, t(11), t(3600)).await;
    let pass = approve(&store, &b).await;
    let (b2, _) = store.cancel_application(b.id, u.id, t(21)).await.unwrap().unwrap();
    assert_eq!(b2.status, Status::Cancelled);
    assert_eq!(b2.pass_id, Some(pass.id));
    let (seq, revoked) = store.revocations_since(0, 100).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].pass_id, pass.id);
    assert_eq!(revoked[0].revoked_at, t(21));
    assert_eq!(seq, revoked[0].seq);

    // A rejection is final; cancelling again adds nothing.
    let c = submit(&store, u.id, t(12), t(3600)).await;
    let rejection = DecisionRecord {
        application_id: c.id,
        decision: decision(Outcome::Reject),
        status: Status::Rejected,
        pass: None,
        decided_at: t(13),
        jobs: vec![],
    };
    assert!(store.record_decision(rejection).await.unwrap());
    let (c2, changed) = store.cancel_application(c.id, u.id, t(22)).await.unwrap().unwrap();
    assert!(!changed, "a rejection cannot be cancelled");
    assert_eq!(c2.status, Status::Rejected);
    let (_, again) = store.cancel_application(b.id, u.id, t(23)).await.unwrap().unwrap();
    assert!(!again, "cancelling twice changes nothing the second time");
    assert_eq!(store.revocations_since(0, 100).await.unwrap().1.len(), 1);
    assert_eq!(
        store
            .cancel_application(ApplicationId::new(), u.id, t(24))
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn applicant_facts_overlap_and_window(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let hour = 3600;
    let a = submit(&store, u.id, t(10), t(10 * hour)).await;
    let facts = store.applicant_facts(&a, t(0)).await.unwrap();
    assert_eq!(
        facts,
        ApplicantFacts {
            overlapping_approved: false,
            passes_in_window: 0,
            document_on_other_phone: false,
            vehicle_overlapping_approved: false,
            applications_last_day: 0,
        }
    );
    approve(&store, &a).await;
    // The application itself never counts against itself.
    let facts = store.applicant_facts(&a, t(0)).await.unwrap();
    assert!(!facts.overlapping_approved);
    assert_eq!(facts.passes_in_window, 0);

    // a runs [10h, 18h): one starting at 14h overlaps; one at 18h only touches.
    let overlapping = submit(&store, u.id, t(11), t(14 * hour)).await;
    let facts = store.applicant_facts(&overlapping, t(0)).await.unwrap();
    assert!(facts.overlapping_approved);
    assert_eq!(facts.passes_in_window, 1);
    let adjacent = submit(&store, u.id, t(12), t(18 * hour)).await;
    assert!(
        !store
            .applicant_facts(&adjacent, t(0))
            .await
            .unwrap()
            .overlapping_approved
    );

    // The window counts approved passes starting at or after its start.
    assert_eq!(
        store
            .applicant_facts(&adjacent, t(10 * hour))
            .await
            .unwrap()
            .passes_in_window,
        1
    );
    assert_eq!(
        store
            .applicant_facts(&adjacent, t(10 * hour + 1))
            .await
            .unwrap()
            .passes_in_window,
        0
    );
    // Pending, rejected or other users' applications do not count.
    let other = user(&store, 2).await;
    let theirs = submit(&store, other.id, t(13), t(14 * hour)).await;
    let facts = store.applicant_facts(&theirs, t(0)).await.unwrap();
    assert!(!facts.overlapping_approved);
    assert_eq!(facts.passes_in_window, 0);
}

/// An application for a trip with this vehicle registration.
async fn submit_with_vehicle(
    store: &Arc<dyn Store>,
    user: UserId,
    at: OffsetDateTime,
    start: OffsetDateTime,
    registration: &str,
) -> Application {
    let mut new = new_app(user, at, start, None);
    new.details.vehicle = Some(Vehicle {
        kind: "car".into(),
        registration: registration.into(),
        self_driven: true,
        driver: None,
    });
    match store.submit_application(new).await.unwrap() {
        SubmitOutcome::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub(crate) async fn applicant_facts_fraud_checks(store: Arc<dyn Store>) {
    let hour = 3600;
    let (owner, other) = (user(&store, 1).await, user(&store, 2).await);

    // The vehicle of another person's approved pass, written differently, same time.
    let first = submit_with_vehicle(&store, owner.id, t(0), t(10 * hour), "DM-GA-11-1234").await;
    let same_time = submit_with_vehicle(&store, other.id, t(1), t(12 * hour), "dm ga 111234").await;
    assert!(
        !store
            .applicant_facts(&same_time, t(0))
            .await
            .unwrap()
            .vehicle_overlapping_approved
    );
    approve(&store, &first).await;
    assert!(
        store
            .applicant_facts(&same_time, t(0))
            .await
            .unwrap()
            .vehicle_overlapping_approved
    );
    // Not when the times only touch, the plate differs, or it is the owner's own vehicle.
    let later = submit_with_vehicle(&store, other.id, t(2), t(18 * hour), "DM-GA-11-1234").await;
    assert!(
        !store
            .applicant_facts(&later, t(0))
            .await
            .unwrap()
            .vehicle_overlapping_approved
    );
    let other_plate = submit_with_vehicle(&store, other.id, t(3), t(12 * hour), "DM-GA-11-1235").await;
    assert!(
        !store
            .applicant_facts(&other_plate, t(0))
            .await
            .unwrap()
            .vehicle_overlapping_approved
    );
    let own = submit_with_vehicle(&store, owner.id, t(4), t(12 * hour), "DM-GA-11-1234").await;
    assert!(
        !store
            .applicant_facts(&own, t(0))
            .await
            .unwrap()
            .vehicle_overlapping_approved
    );

    // Applications from one phone in the 24 hours before this one, not counting it or
    // anyone else's; older ones drop out.
    let third = user(&store, 3).await;
    let old = submit(&store, third.id, t(0), t(10 * hour)).await;
    let mut latest = old.clone();
    for i in 0..4 {
        latest = submit(&store, third.id, t(30 * hour + i), t(40 * hour)).await;
    }
    let facts = store.applicant_facts(&latest, t(0)).await.unwrap();
    assert_eq!(facts.applications_last_day, 3, "three earlier ones within the day");
    assert_eq!(
        store.applicant_facts(&old, t(0)).await.unwrap().applications_last_day,
        0
    );
    assert_eq!(
        store.applicant_facts(&own, t(0)).await.unwrap().applications_last_day,
        1
    );

    // The count stops at MAX_COUNTED_PER_DAY (no daily limit of a policy can be higher).
    let busy = user(&store, 4).await;
    let mut last = None;
    for i in 0..=i64::from(MAX_COUNTED_PER_DAY) {
        last = Some(submit(&store, busy.id, t(50 * hour + i), t(60 * hour)).await);
    }
    let last = last.expect("submitted");
    assert_eq!(
        store.applicant_facts(&last, t(0)).await.unwrap().applications_last_day,
        MAX_COUNTED_PER_DAY
    );
}
