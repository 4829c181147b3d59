//! Stories: the citizen's language for messages, and listing and replaying dead jobs.

use std::sync::Arc;

use mpass_domain::audit::{Actor, action};
use mpass_domain::ids::{JobId, UserId};
use mpass_domain::language::Language;
use mpass_domain::ports::*;

use super::fixtures::*;

pub(crate) async fn user_language_default_and_choice(store: Arc<dyn Store>) {
    let a = user(&store, 1).await;
    let b = user(&store, 2).await;
    assert_eq!(store.user_language(a.id).await.unwrap(), None, "no choice yet");
    store.set_user_language(a.id, Language::En).await.unwrap();
    assert_eq!(store.user_language(a.id).await.unwrap(), Some(Language::En));
    assert_eq!(store.user_language(b.id).await.unwrap(), None, "only that user");
    store.set_user_language(a.id, Language::Bn).await.unwrap();
    assert_eq!(
        store.user_language(a.id).await.unwrap(),
        Some(Language::Bn),
        "changed again"
    );
    // An unknown user has no language, and setting one creates nobody.
    let ghost = UserId::new();
    store.set_user_language(ghost, Language::En).await.unwrap();
    assert_eq!(store.user_language(ghost).await.unwrap(), None);
    assert!(store.user(ghost).await.unwrap().is_none());
    // The user record itself is unchanged by the choice.
    assert_eq!(store.user(a.id).await.unwrap().unwrap(), a);
}

/// Parks `n` SMS jobs (one per phone) as dead at `failed_at + i` seconds; their ids, oldest first.
async fn park_sms(store: &Arc<dyn Store>, first_phone: u32, n: u32, failed_at: i64) -> Vec<JobId> {
    for i in 0..n {
        let p = phone(first_phone + i);
        let body = format!("message {i}");
        store
            .otp_issue(&p, "h", NewJob::sms(&p, &body), None, t(0))
            .await
            .unwrap()
            .unwrap();
    }
    let leased = store.jobs_lease(100, t(1), 60).await.unwrap();
    assert_eq!(leased.len() as u32, n);
    let mut ids = Vec::new();
    for (i, j) in leased.iter().enumerate() {
        store
            .job_dead(j.id, &format!("provider said no ({i})"), t(failed_at + i as i64))
            .await
            .unwrap();
        ids.push(j.id);
    }
    ids
}

pub(crate) async fn dead_jobs_list_and_replay_once(store: Arc<dyn Store>) {
    assert!(store.dead_jobs(None, 10).await.unwrap().is_empty());
    let ids = park_sms(&store, 10, 3, 100).await;
    // A dead decide job too, so the kind filter has something to leave out.
    let u = user(&store, 1).await;
    let app = submit(&store, u.id, t(2), t(3600)).await;
    let decide = store.jobs_lease(10, t(3), 60).await.unwrap();
    assert_eq!(decide.len(), 1);
    store.job_dead(decide[0].id, "policy exploded", t(200)).await.unwrap();
    assert_eq!(store.jobs_depth().await.unwrap(), (0, 4));

    let all = store.dead_jobs(None, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].id, decide[0].id, "most recently failed first");
    assert_eq!(all[0].kind, JOB_DECIDE);
    assert_eq!(all[0].payload, app.id.to_string());
    assert_eq!(all[0].last_error, "policy exploded");
    assert_eq!((all[0].attempts, all[0].failed_at), (1, t(200)));
    let sms = store.dead_jobs(Some(JOB_SEND_SMS), 10).await.unwrap();
    assert_eq!(
        sms.iter().map(|d| d.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    assert!(
        sms.iter()
            .all(|d| d.kind == JOB_SEND_SMS && d.last_error.starts_with("provider said no"))
    );
    assert_eq!(store.dead_jobs(Some(JOB_SEND_SMS), 2).await.unwrap().len(), 2, "limit");
    assert!(store.dead_jobs(Some("no_such_kind"), 10).await.unwrap().is_empty());

    let audit_before = store.audit_list(0, 1000).await.unwrap().len();
    let target = sms.last().unwrap().clone();
    let new_id = store
        .dead_job_replay(target.id, Actor::cli(), t(300))
        .await
        .unwrap()
        .expect("replayed");
    assert_ne!(
        new_id, target.id,
        "a new job id, so a broker's duplicate window cannot drop it"
    );
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 3));
    assert!(
        store
            .dead_jobs(None, 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != target.id)
    );
    // Replaying it again finds nothing: one replay, one new job.
    assert_eq!(
        store.dead_job_replay(target.id, Actor::cli(), t(301)).await.unwrap(),
        None
    );
    assert_eq!(
        store.dead_job_replay(JobId::new(), Actor::cli(), t(301)).await.unwrap(),
        None
    );
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 3));

    // The new job is due now, with fresh attempts and the same work.
    assert!(
        store.jobs_lease(10, t(299), 60).await.unwrap().is_empty(),
        "not due before the replay"
    );
    let again = store.jobs_lease(10, t(300), 60).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, new_id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(
        (again[0].kind.as_str(), again[0].payload.as_str()),
        (JOB_SEND_SMS, target.payload.as_str())
    );

    let entries = store.audit_list(0, 1000).await.unwrap();
    assert_eq!(entries.len(), audit_before + 1, "one entry per replay, none for a miss");
    let e = entries.last().unwrap();
    assert_eq!(e.action, action::DLQ_REPLAYED);
    assert_eq!(e.actor, "cli");
    assert_eq!(e.subject, format!("job:{}", target.id));
    assert_eq!(e.data["kind"], JOB_SEND_SMS);
    assert_eq!(e.data["replayed_as"], new_id.to_string());
    assert_eq!(e.at, t(300));
    mpass_domain::audit::verify_chain(&entries).expect("the chain stays intact");
}

pub(crate) async fn concurrent_replays_of_one_dead_job_make_one_job(store: Arc<dyn Store>) {
    let ids = park_sms(&store, 30, 1, 100).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let id = ids[0];
            tokio::spawn(async move { store.dead_job_replay(id, Actor::cli(), t(200 + i)).await.unwrap() })
        })
        .collect();
    let mut replayed = 0;
    for task in tasks {
        if task.await.unwrap().is_some() {
            replayed += 1;
        }
    }
    assert_eq!(replayed, 1, "exactly one replay wins");
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 0));
}
