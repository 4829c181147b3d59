//! Stories: revocation of a pass by an admin or police supervisor (SPEC §5, §8, §10).

use std::sync::Arc;

use mpass_domain::application::Status;
use mpass_domain::audit::{Actor, action, verify_chain};
use mpass_domain::ids::PassId;
use mpass_domain::ports::*;

use super::fixtures::*;

/// A revocation changes the status, joins the revocation list, enqueues the holder's SMS
/// and is audited, all at once; a second one, or one of a cancelled pass, changes nothing.
pub(crate) async fn revoke_pass_once_with_audit_and_sms(store: Arc<dyn Store>) {
    let (holder, admin) = (user(&store, 1).await, user(&store, 2).await);
    let a = submit(&store, holder.id, t(10), t(3600)).await;
    let pass = approve(&store, &a).await;
    drain_jobs(&store, t(100)).await;
    let audit_before = store.audit_list(0, 100).await.unwrap().len();

    let sms = NewJob::sms(&holder.phone, "Your pass has been revoked.");
    let revoked = match store
        .revoke_pass(
            pass.id,
            "forged documents",
            Actor::user(admin.id),
            vec![sms.clone()],
            t(30),
        )
        .await
        .unwrap()
    {
        RevokeOutcome::Revoked(app) => app,
        other => panic!("expected Revoked, got {other:?}"),
    };
    assert_eq!(revoked.id, a.id);
    assert_eq!(revoked.status, Status::Revoked);
    assert_eq!(revoked.updated_at, t(30));
    assert_eq!(revoked.pass_id, Some(pass.id));
    assert_eq!(store.application(a.id).await.unwrap(), Some(revoked.clone()));

    let (seq, list) = store.revocations_since(0, 100).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].pass_id, pass.id);
    assert_eq!(list[0].revoked_at, t(30));
    assert_eq!(seq, list[0].seq);

    let jobs = drain_jobs(&store, t(100)).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        (jobs[0].kind.as_str(), jobs[0].payload.as_str()),
        (sms.kind.as_str(), sms.payload.as_str())
    );

    let entries = store.audit_list(0, 100).await.unwrap();
    assert_eq!(entries.len(), audit_before + 1);
    let e = entries.last().unwrap();
    assert_eq!(e.action, action::PASS_REVOKED);
    assert_eq!(e.actor, admin.id.to_string());
    assert_eq!(e.subject, format!("pass:{}", pass.id));
    assert_eq!(e.data["reason"], "forged documents");
    assert_eq!(e.data["application_id"], a.id.to_string());
    assert_eq!(e.at, t(30));
    verify_chain(&entries).expect("the chain stays intact");

    // Again: nothing changes, nothing is enqueued, nothing is audited.
    let again = store
        .revoke_pass(
            pass.id,
            "again",
            Actor::user(admin.id),
            vec![NewJob::sms(&holder.phone, "x")],
            t(40),
        )
        .await
        .unwrap();
    assert!(matches!(again, RevokeOutcome::AlreadyRevoked), "{again:?}");
    assert_eq!(store.application(a.id).await.unwrap(), Some(revoked));
    assert_eq!(store.revocations_since(0, 100).await.unwrap().1.len(), 1);
    assert!(drain_jobs(&store, t(100)).await.is_empty());
    assert_eq!(store.audit_list(0, 100).await.unwrap().len(), entries.len());

    // A pass its holder cancelled is already on the list.
    let b = submit(&store, holder.id, t(11), t(3600)).await;
    let pass_b = approve(&store, &b).await;
    store.cancel_application(b.id, holder.id, t(50)).await.unwrap();
    let cancelled = store
        .revoke_pass(pass_b.id, "late", Actor::user(admin.id), vec![], t(51))
        .await
        .unwrap();
    assert!(matches!(cancelled, RevokeOutcome::AlreadyRevoked), "{cancelled:?}");
    assert_eq!(
        store.application(b.id).await.unwrap().unwrap().status,
        Status::Cancelled
    );
    assert_eq!(store.revocations_since(0, 100).await.unwrap().1.len(), 2);

    // An unknown pass.
    let unknown = store
        .revoke_pass(PassId::new(), "none", Actor::user(admin.id), vec![], t(60))
        .await
        .unwrap();
    assert!(matches!(unknown, RevokeOutcome::NotFound), "{unknown:?}");
    assert_eq!(store.revocations_since(0, 100).await.unwrap().1.len(), 2);
    verify_chain(&store.audit_list(0, 100).await.unwrap()).expect("the chain stays intact");
}

/// Revocations racing each other (and the holder's cancellation) change the pass once.
pub(crate) async fn concurrent_revokes_revoke_once(store: Arc<dyn Store>) {
    let holder = user(&store, 1).await;
    let a = submit(&store, holder.id, t(10), t(3600)).await;
    let pass = approve(&store, &a).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let actor = user(&store, 100 + i).await;
        tasks.push(tokio::spawn(async move {
            store
                .revoke_pass(pass.id, "race", Actor::user(actor.id), vec![], t(30 + i64::from(i)))
                .await
                .unwrap()
        }));
    }
    let cancel = {
        let store = store.clone();
        tokio::spawn(async move { store.cancel_application(a.id, holder.id, t(29)).await.unwrap() })
    };
    let mut revoked = 0;
    for task in tasks {
        match task.await.unwrap() {
            RevokeOutcome::Revoked(_) => revoked += 1,
            RevokeOutcome::AlreadyRevoked => {}
            RevokeOutcome::NotFound => panic!("the pass exists"),
        }
    }
    let (_, cancelled) = cancel.await.unwrap().unwrap();
    assert_eq!(revoked + u32::from(cancelled), 1, "exactly one change wins");
    assert_eq!(store.revocations_since(0, 100).await.unwrap().1.len(), 1);
    let entries = store.audit_list(0, 100).await.unwrap();
    verify_chain(&entries).expect("the chain stays intact");
    let changes = entries
        .iter()
        .filter(|e| e.action == action::PASS_REVOKED || e.action == action::APPLICATION_CANCELLED)
        .count();
    assert_eq!(changes, 1);
}
