//! Stories: the hash-chained audit log (SPEC §10).

use std::sync::Arc;

use mpass_domain::audit::{Actor, AuditEvent, GENESIS_HASH, action, verify_chain};
use mpass_domain::policy::Outcome;
use mpass_domain::ports::*;

use super::fixtures::*;

/// Decisions, cancellations and grants are appended in their own transaction, in order,
/// and the chain verifies; a decision that is not recorded appends nothing.
pub(crate) async fn audit_chain_of_changes(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let a = submit(&store, u.id, t(10), t(3600)).await;
    let pass = approve(&store, &a).await;
    // A duplicate delivery changes nothing, so it is not audited either.
    assert!(
        !store
            .record_decision(approval(&a, &pass_for(&a), vec![]))
            .await
            .unwrap()
    );
    store.cancel_application(a.id, u.id, t(20)).await.unwrap();
    let grant = RoleGrant {
        role: Role::Reviewer,
        districts: vec!["3026".into()],
    };
    store.grant_role(u.id, grant, Actor::cli(), t(30)).await.unwrap();
    let extra = store
        .audit_append(AuditEvent::new(
            t(40),
            Actor::user(u.id),
            "admin.search",
            "search".into(),
            serde_json::json!({"q": "01710000001", "n": 1.5}),
        ))
        .await
        .unwrap();
    assert_eq!(extra.seq, 4);

    let all = store.audit_list(0, 100).await.unwrap();
    let actions: Vec<(&str, &str)> = all.iter().map(|e| (e.action.as_str(), e.actor.as_str())).collect();
    let me = u.id.to_string();
    assert_eq!(
        actions,
        [
            (action::APPLICATION_DECIDED, "system"),
            (action::APPLICATION_CANCELLED, me.as_str()),
            (action::ROLE_GRANTED, "cli"),
            ("admin.search", me.as_str()),
        ]
    );
    assert_eq!(all[0].subject, format!("application:{}", a.id));
    assert_eq!(all[0].data["status"], "approved");
    assert_eq!(all[0].data["pass_id"], pass.id.to_string());
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    assert_eq!(all[0].at, t(5));
    assert_eq!(all[2].data["districts"][0], "3026");
    assert_eq!(all[3], extra, "what was stored is what was sealed");
    assert_eq!(verify_chain(&all), Ok(()));
    // Pages continue after a seq.
    let page = store.audit_list(2, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, 3);

    // A rejection is audited with its reasons.
    let b = submit(&store, u.id, t(50), t(7200)).await;
    assert!(
        store
            .record_decision(DecisionRecord {
                application_id: b.id,
                decision: decision(Outcome::Reject),
                status: mpass_domain::application::Status::Rejected,
                pass: None,
                decided_at: t(51),
                jobs: vec![],
            })
            .await
            .unwrap()
    );
    let last = store.audit_list(4, 10).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].data["status"], "rejected");
    assert_eq!(last[0].prev_hash, extra.hash);
}

/// Appends from many tasks at once still form one linear chain, with no gaps.
pub(crate) async fn concurrent_appends_stay_linear(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .audit_append(AuditEvent::new(
                        t(i),
                        Actor::system(),
                        "test.event",
                        format!("n:{i}"),
                        serde_json::json!({ "i": i }),
                    ))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = store.audit_list(0, 1000).await.unwrap();
    assert_eq!(all.len(), 24);
    assert_eq!(verify_chain(&all), Ok(()));
}
