//! Stories: decisions and the passes they issue, revocation deltas and the SMS outbox.

use std::sync::Arc;

use mpass_domain::application::Status;
use mpass_domain::ids::ApplicationId;
use mpass_domain::language::Language;
use mpass_domain::policy::Outcome;
use mpass_domain::ports::*;

use super::fixtures::*;

/// `decision_inputs`: the application and, while it is `submitted`, what its decision
/// needs (the applicant's profile, user, language and the policy's facts), the same as
/// the single reads give; once decided, the application alone; nothing for an unknown id.
pub(crate) async fn decision_inputs_read_together(store: Arc<dyn Store>) {
    let (u, other) = (user(&store, 1).await, user(&store, 2).await);
    let hour = 3600;
    store
        .put_profile(u.id, &profile("Rahima Khatun", "1234567890"), t(1))
        .await
        .unwrap();
    store
        .put_profile(other.id, &profile("Other", "1234567890"), t(2))
        .await
        .unwrap();
    store.set_user_language(u.id, Language::Bn).await.unwrap();
    let earlier = submit(&store, u.id, t(10), t(10 * hour)).await;
    approve(&store, &earlier).await;
    let app = submit(&store, u.id, t(11), t(14 * hour)).await;
    let week = time::Duration::days(7);

    let inputs = store.decision_inputs(app.id, week).await.unwrap();
    assert_eq!(inputs.application.as_ref(), Some(&app));
    assert_eq!(inputs.profile, store.profile(u.id).await.unwrap());
    assert!(inputs.profile.is_some());
    assert_eq!(inputs.user, Some(u.clone()));
    assert_eq!(inputs.language, Some(Language::Bn));
    let facts = inputs.facts.expect("facts while submitted");
    assert_eq!(
        facts,
        store.applicant_facts(&app, app.details.start - week).await.unwrap()
    );
    assert_eq!(
        facts,
        ApplicantFacts {
            overlapping_approved: true,
            passes_in_window: 1,
            document_on_other_phone: true,
            vehicle_overlapping_approved: false,
            applications_last_day: 1,
        }
    );

    approve(&store, &app).await;
    let inputs = store.decision_inputs(app.id, week).await.unwrap();
    assert_eq!(inputs.application.map(|a| a.status), Some(Status::Approved));
    assert!(inputs.profile.is_none() && inputs.user.is_none() && inputs.language.is_none() && inputs.facts.is_none());

    let unknown = store.decision_inputs(ApplicationId::new(), week).await.unwrap();
    assert!(unknown.application.is_none() && unknown.profile.is_none() && unknown.facts.is_none());
}

pub(crate) async fn record_decision_only_once(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let a = submit(&store, u.id, t(10), t(3600)).await;
    drain_jobs(&store, t(11)).await;
    let first = pass_for(&a);
    let notify = vec![NewJob::sms(&u.phone, "approved")];
    assert!(
        store
            .record_decision(approval(&a, &first, notify.clone()))
            .await
            .unwrap()
    );
    let second = pass_for(&a);
    assert!(
        !store.record_decision(approval(&a, &second, notify)).await.unwrap(),
        "a duplicate delivery records nothing"
    );

    let stored = store.application(a.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Approved);
    assert_eq!(stored.pass_id, Some(first.id));
    assert_eq!(stored.decision, Some(decision(Outcome::Approve)));
    assert_eq!(stored.updated_at, t(5));
    assert_eq!(store.pass(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.pass_by_short_code(&first.short_code).await.unwrap(), Some(first));
    assert_eq!(store.pass(second.id).await.unwrap(), None);
    assert_eq!(store.pass_by_short_code(&second.short_code).await.unwrap(), None);
    assert_eq!(store.pass_by_short_code("ZZZZZZZZ").await.unwrap(), None);
    // Only the first decision's follow-up job was enqueued.
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 0));

    let b = submit(&store, u.id, t(12), t(3600)).await;
    let counts = store.status_counts().await.unwrap();
    assert!(counts.contains(&(Status::Approved, 1)));
    assert!(counts.contains(&(Status::Submitted, 1)));
    assert_eq!(b.status, Status::Submitted);
}

pub(crate) async fn concurrent_decisions_record_one(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let a = submit(&store, u.id, t(10), t(3600)).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let pass = pass_for(&a);
            let record = approval(&a, &pass, vec![NewJob::sms(&u.phone, "approved")]);
            tokio::spawn(async move { (pass, store.record_decision(record).await.unwrap()) })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (pass, true) => winners.push(pass),
            (pass, false) => losers.push(pass),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one delivery decides");
    assert_eq!(
        store.application(a.id).await.unwrap().unwrap().pass_id,
        Some(winners[0].id)
    );
    for pass in losers {
        assert_eq!(store.pass(pass.id).await.unwrap(), None);
    }
    // The decide job from submission plus one notification.
    assert_eq!(store.jobs_depth().await.unwrap(), (2, 0));
}

pub(crate) async fn revocations_since_deltas(store: Arc<dyn Store>) {
    assert_eq!(store.revocations_since(0, 10).await.unwrap(), (0, vec![]));
    let u = user(&store, 1).await;
    let mut passes = Vec::new();
    for i in 0..3 {
        let a = submit(&store, u.id, t(10 + i), t(3600)).await;
        passes.push(approve(&store, &a).await.id);
        store.cancel_application(a.id, u.id, t(20 + i)).await.unwrap();
    }
    let (latest, all) = store.revocations_since(0, 100).await.unwrap();
    assert_eq!(all.iter().map(|r| r.pass_id).collect::<Vec<_>>(), passes);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "seq increases");
    assert_eq!(latest, all[2].seq);

    let (s1, page1) = store.revocations_since(0, 2).await.unwrap();
    assert_eq!(page1, all[..2]);
    assert_eq!(s1, all[1].seq, "a full page continues from its last seq");
    let (s2, page2) = store.revocations_since(s1, 2).await.unwrap();
    assert_eq!(page2, all[2..]);
    assert_eq!(s2, latest);
    assert_eq!(store.revocations_since(latest, 10).await.unwrap(), (latest, vec![]));
}

pub(crate) async fn outbox_newest_first(store: Arc<dyn Store>) {
    assert!(store.outbox_list(None, 10).await.unwrap().is_empty());
    for i in 0..3 {
        store
            .outbox_push(phone(1).as_str(), &format!("message {i}"), t(i))
            .await
            .unwrap();
    }
    let two = store.outbox_list(None, 2).await.unwrap();
    assert_eq!(
        two,
        vec![
            OutboxMessage {
                to: phone(1).as_str().into(),
                body: "message 2".into(),
                created_at: t(2)
            },
            OutboxMessage {
                to: phone(1).as_str().into(),
                body: "message 1".into(),
                created_at: t(1)
            },
        ]
    );
    assert_eq!(store.outbox_list(None, 10).await.unwrap().len(), 3);

    // One recipient's messages, newest first, however many went to others since.
    for i in 3..6 {
        store
            .outbox_push(phone(2).as_str(), &format!("message {i}"), t(i))
            .await
            .unwrap();
    }
    let bodies = |list: Vec<OutboxMessage>| list.into_iter().map(|m| (m.to, m.body)).collect::<Vec<_>>();
    assert_eq!(
        bodies(store.outbox_list(Some(phone(1).as_str()), 2).await.unwrap()),
        vec![
            (phone(1).as_str().to_string(), "message 2".to_string()),
            (phone(1).as_str().to_string(), "message 1".to_string()),
        ]
    );
    assert_eq!(store.outbox_list(Some(phone(2).as_str()), 10).await.unwrap().len(), 3);
    assert!(store.outbox_list(Some(phone(3).as_str()), 10).await.unwrap().is_empty());
    assert_eq!(store.outbox_list(None, 10).await.unwrap().len(), 6);
}
