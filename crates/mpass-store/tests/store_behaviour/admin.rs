//! Stories: the admin pages' grants list, revoking a role, the audited application search.

use std::sync::Arc;

use mpass_domain::audit::{Actor, ChainVerifier};
use mpass_domain::ids::ApplicationId;
use mpass_domain::ports::*;
use mpass_domain::profile::IdType;

use super::fixtures::*;

pub(crate) async fn role_grants_list_and_revoke_audited(store: Arc<dyn Store>) {
    let a = user(&store, 1).await;
    let b = user(&store, 2).await;
    let _plain = user(&store, 3).await;
    let admin = Actor::user(b.id);
    let grant = |role, d: &[&str]| RoleGrant {
        role,
        districts: d.iter().map(|s| s.to_string()).collect(),
    };
    store
        .grant_role(a.id, grant(Role::Reviewer, &["3026"]), Actor::cli(), t(1))
        .await
        .unwrap();
    store
        .grant_role(b.id, grant(Role::Admin, &[]), Actor::cli(), t(2))
        .await
        .unwrap();
    store
        .grant_role(a.id, grant(Role::Analyst, &[]), admin.clone(), t(3))
        .await
        .unwrap();

    let list = store.role_grants_list().await.unwrap();
    let seen: Vec<(String, &str, Vec<String>)> = list
        .iter()
        .map(|g| {
            (
                g.phone.as_str().to_string(),
                g.grant.role.as_str(),
                g.grant.districts.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (phone(2).as_str().to_string(), "admin", vec![]),
            (phone(1).as_str().to_string(), "analyst", vec![]),
            (phone(1).as_str().to_string(), "reviewer", vec!["3026".to_string()]),
        ],
        "every grant with its phone, by role; users without grants absent"
    );
    assert_eq!(list[2].user, a.id);
    assert_eq!(list[2].granted_at, t(1));

    let before = store.audit_list(0, 100).await.unwrap().len();
    assert!(
        store
            .revoke_role(a.id, Role::Reviewer, admin.clone(), t(4))
            .await
            .unwrap()
    );
    // Revoking what is not held changes nothing and audits nothing.
    assert!(
        !store
            .revoke_role(a.id, Role::Reviewer, admin.clone(), t(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_role(a.id, Role::Police, admin.clone(), t(5))
            .await
            .unwrap()
    );
    let u = store.user(a.id).await.unwrap().unwrap();
    assert_eq!(u.grants, vec![grant(Role::Analyst, &[])]);
    let log = store.audit_list(0, 100).await.unwrap();
    assert_eq!(log.len(), before + 1);
    let last = log.last().unwrap();
    assert_eq!(last.action, "role.revoked");
    assert_eq!(last.actor, b.id.to_string());
    assert_eq!(last.subject, format!("user:{}", a.id));
    assert_eq!(last.data, serde_json::json!({"role": "reviewer"}));
    assert_eq!(store.role_grants_list().await.unwrap().len(), 2);
    let mut v = ChainVerifier::new();
    for e in &log {
        v.push(e).unwrap();
    }
}

pub(crate) async fn admin_search_finds_and_audits_every_search(store: Arc<dyn Store>) {
    let admin = user(&store, 9).await;
    let actor = Actor::user(admin.id);
    // Two applicants; the second holds a passport with the same number as nobody else.
    let a = user(&store, 1).await;
    let b = user(&store, 2).await;
    store
        .put_profile(a.id, &profile("A", "1234567890"), t(0))
        .await
        .unwrap();
    let mut pb = profile("B", "AB1234567");
    pb.id_type = IdType::PP;
    store.put_profile(b.id, &pb, t(0)).await.unwrap();
    let a1 = submit(&store, a.id, t(10), t(3600)).await;
    let a2 = submit(&store, a.id, t(20), t(7200)).await;
    let b1 = submit(&store, b.id, t(30), t(3600)).await;

    let ids = |hits: &[SearchHit]| hits.iter().map(|h| h.application.id).collect::<Vec<_>>();
    let by_phone = store
        .admin_search(&AdminSearch::Phone(phone(1)), actor.clone(), t(40), 50)
        .await
        .unwrap();
    assert_eq!(ids(&by_phone), vec![a2.id, a1.id], "newest first");
    assert!(by_phone.iter().all(|h| h.phone == phone(1)));
    assert_eq!(by_phone[0].application, a2);

    let by_doc = store
        .admin_search(&AdminSearch::Document("AB1234567".into()), actor.clone(), t(41), 50)
        .await
        .unwrap();
    assert_eq!(
        ids(&by_doc),
        vec![b1.id],
        "a passport number is found without naming the type"
    );
    assert_eq!(by_doc[0].phone, phone(2));
    let by_nid = store
        .admin_search(&AdminSearch::Document("1234567890".into()), actor.clone(), t(42), 1)
        .await
        .unwrap();
    assert_eq!(ids(&by_nid), vec![a2.id], "limit respected");

    let by_id = store
        .admin_search(&AdminSearch::Id(b1.id), actor.clone(), t(43), 50)
        .await
        .unwrap();
    assert_eq!(ids(&by_id), vec![b1.id]);
    let unknown = ApplicationId::new();
    let none = store
        .admin_search(&AdminSearch::Id(unknown), actor.clone(), t(44), 50)
        .await
        .unwrap();
    assert!(none.is_empty());
    let nobody = store
        .admin_search(&AdminSearch::Phone(phone(5)), actor.clone(), t(45), 50)
        .await
        .unwrap();
    assert!(nobody.is_empty());

    // Every search, found or not, is one audit entry with the admin, the field and the value.
    let log: Vec<_> = store
        .audit_list(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "admin.search")
        .collect();
    let got: Vec<(String, serde_json::Value)> = log.iter().map(|e| (e.actor.clone(), e.data.clone())).collect();
    let want = |field: &str, value: String, hits: usize| {
        (
            admin.id.to_string(),
            serde_json::json!({"field": field, "value": value, "hits": hits}),
        )
    };
    assert_eq!(
        got,
        vec![
            want("phone", phone(1).as_str().to_string(), 2),
            want("document", "AB1234567".into(), 1),
            want("document", "1234567890".into(), 1),
            want("id", b1.id.to_string(), 1),
            want("id", unknown.to_string(), 0),
            want("phone", phone(5).as_str().to_string(), 0),
        ]
    );
    assert_eq!(log[0].at, t(40));
}
