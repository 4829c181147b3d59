//! The admin search API (issue 7): admins only, exactly one field, and every search in the
//! audit log with the admin, the field and the value.

mod common;

use common::police::grant;
use common::*;
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_search_is_for_admins_and_every_search_is_audited() {
    let srv = TestServer::start().await;
    let (a, _) = srv.citizen(&phone(40)).await;
    let submitted = a.submit(&default_application(), None).await.expect("202");
    let app = a.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    let (_, admin_tokens) = srv.citizen(&phone(41)).await;
    let (_, analyst_tokens) = srv.citizen(&phone(42)).await;
    for (n, role) in [(41, "admin"), (42, "analyst")] {
        grant(&srv, &phone(n), role, &[]).await;
    }
    let admin = srv.as_user(
        &srv.client
            .refresh(&admin_tokens.refresh_token)
            .await
            .unwrap()
            .access_token,
    );
    let analyst = srv.as_user(
        &srv.client
            .refresh(&analyst_tokens.refresh_token)
            .await
            .unwrap()
            .access_token,
    );
    let get = |c: &mpass_client::Client, q: String| {
        let c = c.clone();
        async move {
            c.raw(Method::GET, &format!("/api/v1/admin/search?{q}"), None, vec![])
                .await
                .unwrap()
        }
    };

    // Roles: no token 401, a citizen or an analyst 403.
    assert_problem(
        &get(&srv.client, format!("phone={}", phone(40))).await,
        401,
        "unauthorized",
    );
    assert_problem(&get(&a, format!("phone={}", phone(40))).await, 403, "forbidden");
    assert_problem(&get(&analyst, format!("phone={}", phone(40))).await, 403, "forbidden");

    // Strict query: exactly one known field, well-formed.
    assert_problem(&get(&admin, String::new()).await, 400, "invalid_query");
    assert_problem(
        &get(&admin, format!("phone={}&id={}", phone(40), app.id)).await,
        400,
        "invalid_query",
    );
    assert_problem(&get(&admin, "name=x".into()).await, 400, "invalid_query");
    assert_problem(&get(&admin, "phone=123".into()).await, 400, "invalid_phone");
    assert_problem(&get(&admin, "id=nope".into()).await, 400, "invalid_id");

    // By phone, document and id.
    let doc = profile_for(&phone(40)).id_number;
    for q in [
        format!("phone={}", phone(40)),
        format!("document={doc}"),
        format!("id={}", app.id),
    ] {
        let res = get(&admin, q.clone()).await;
        assert_eq!(res.status, 200, "{q}");
        let body = res.json().unwrap();
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{q}: {body}");
        assert_eq!(items[0]["id"], app.id.as_str(), "{q}");
        assert_eq!(items[0]["status"], app.status.as_str());
    }
    let none = get(&admin, format!("phone={}", phone(49))).await.json().unwrap();
    assert_eq!(none["items"], serde_json::json!([]));

    // The audit log: one entry per answered search (refused ones ran no search), with the
    // admin as actor and the value searched.
    let log = admin
        .raw(Method::GET, "/api/v1/audit?limit=500", None, vec![])
        .await
        .unwrap()
        .json()
        .unwrap();
    let admin_id = admin.me().await.expect("me").id;
    let searches: Vec<(String, String, String, u64)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "admin.search")
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["data"]["field"].as_str().unwrap().to_string(),
                e["data"]["value"].as_str().unwrap().to_string(),
                e["data"]["hits"].as_u64().unwrap(),
            )
        })
        .collect();
    let e164 = |n| {
        mpass_domain::phone::Phone::parse(&phone(n))
            .unwrap()
            .as_str()
            .to_string()
    };
    assert_eq!(
        searches,
        vec![
            (admin_id.clone(), "phone".into(), e164(40), 1),
            (admin_id.clone(), "document".into(), doc.to_ascii_uppercase(), 1),
            (admin_id.clone(), "id".into(), app.id.clone(), 1),
            (admin_id, "phone".into(), e164(49), 0),
        ]
    );
    srv.finish().await;
}
