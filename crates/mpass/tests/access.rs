//! Who may see and change what: isolation between citizens (404, never 403), staff roles,
//! cancel and revocation, idempotent submission, and the own-list pagination.

mod common;

use std::collections::HashSet;

use common::*;
use mpass::admin::AdminCommand;
use mpass_client::Client;
use reqwest::Method;

/// Submits the default application as `me` and waits for its approval.
async fn approved_application(me: &Client) -> mpass_client::Application {
    let submitted = me.submit(&default_application(), None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_citizen_cannot_see_or_cancel_anothers_application() {
    let srv = TestServer::start().await;
    let (a, _) = srv.citizen(&phone(10)).await;
    let (b, _) = srv.citizen(&phone(11)).await;
    let app = approved_application(&a).await;
    let pass_id = app.pass_id.clone().expect("pass");

    assert_api_error(b.application(&app.id).await, 404, "not_found");
    assert_api_error(b.pass(&pass_id).await, 404, "not_found");
    assert_api_error(b.pass_qr(&pass_id, "svg").await, 404, "not_found");
    assert_api_error(b.pass_qr(&pass_id, "png").await, 404, "not_found");
    assert_api_error(b.cancel(&app.id).await, 404, "not_found");
    // Exactly what an id that does not exist gets, so existence does not leak.
    let unknown = "01890000-0000-7000-8000-000000000000";
    assert_api_error(b.application(unknown).await, 404, "not_found");
    assert_api_error(b.pass(unknown).await, 404, "not_found");
    assert_api_error(b.cancel(unknown).await, 404, "not_found");
    assert_api_error(b.application("not-an-id").await, 404, "not_found");
    // The typed client sends an id with a path's or a query's characters as one value: the
    // owner gets neither another route (`/messages` of an application is a GET of its own)
    // nor the application itself.
    assert_api_error(a.application(&format!("{}/messages", app.id)).await, 404, "not_found");
    assert_api_error(a.application(&format!("{}?x=1", app.id)).await, 404, "not_found");
    let res = b
        .raw(
            Method::GET,
            &format!("/api/v1/applications/{}", app.id),
            None,
            Vec::new(),
        )
        .await
        .expect("raw");
    let problem = assert_problem(&res, 404, "not_found");
    let res = b
        .raw(
            Method::GET,
            &format!("/api/v1/applications/{unknown}"),
            None,
            Vec::new(),
        )
        .await
        .expect("raw");
    assert_eq!(
        assert_problem(&res, 404, "not_found"),
        problem,
        "same answer as for a missing id"
    );

    // B's own list has nothing of A's; A's application is untouched by B's attempt.
    let (b_app, a_list) = (
        b.submit(&default_application(), None).await.expect("202"),
        a.applications(None, None).await.expect("list"),
    );
    let b_list = b.applications(None, None).await.expect("list");
    assert_eq!(
        b_list.items.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        [b_app.id.as_str()]
    );
    assert_eq!(
        a_list.items.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        [app.id.as_str()]
    );
    assert_eq!(a.application(&app.id).await.expect("own").status, "approved");
    assert_eq!(a.pass(&pass_id).await.expect("own pass").status, "not_yet_valid");

    // The same Idempotency-Key used by another citizen is theirs alone.
    let a_keyed = a.submit(&default_application(), Some("shared-key")).await.expect("202");
    let b_keyed = b.submit(&default_application(), Some("shared-key")).await.expect("202");
    assert_ne!(a_keyed.id, b_keyed.id);
    assert_api_error(b.application(&a_keyed.id).await, 404, "not_found");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn police_granted_by_admin_reads_any_application_citizens_do_not() {
    let srv = TestServer::start().await;
    let (a, _) = srv.citizen(&phone(20)).await;
    let (b, _) = srv.citizen(&phone(21)).await;
    let (p, p_tokens) = srv.citizen(&phone(22)).await;
    let app = approved_application(&a).await;
    let pass_id = app.pass_id.clone().expect("pass");
    assert_api_error(p.application(&app.id).await, 404, "not_found");

    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone(22),
            role: "police".into(),
            districts: Vec::new(),
            count: 1,
        },
    )
    .await
    .expect("grant police");
    // Bad grants are refused.
    for (role, districts) in [
        ("sheriff", vec![]),
        ("reviewer", vec![]),
        ("reviewer", vec!["99".to_string()]),
    ] {
        let res = mpass::admin::run(
            srv.settings.clone(),
            AdminCommand::Grant {
                phone: phone(22),
                role: role.into(),
                districts,
                count: 1,
            },
        )
        .await;
        assert!(res.is_err(), "grant {role} should fail");
    }

    // Roles travel in the access token: the old one still says citizen only.
    assert_api_error(p.application(&app.id).await, 404, "not_found");
    // Logging in again (a refresh issues a token with the current roles).
    let fresh = srv.client.refresh(&p_tokens.refresh_token).await.expect("refresh");
    let police = srv.as_user(&fresh.access_token);
    let who = police.me().await.expect("me");
    assert!(who.roles.iter().any(|r| r == "police"), "{:?}", who.roles);
    assert!(who.roles.iter().any(|r| r == "citizen"), "{:?}", who.roles);

    let seen = police.application(&app.id).await.expect("staff read");
    assert_eq!(seen.id, app.id);
    assert_eq!(police.pass(&pass_id).await.expect("staff pass read").id, pass_id);
    assert!(police.pass_qr(&pass_id, "svg").await.is_ok());
    // Staff may read; cancelling stays the owner's.
    assert_api_error(police.cancel(&app.id).await, 404, "not_found");
    // Staff do not see others' applications in their own list.
    assert!(police.applications(None, None).await.expect("list").items.is_empty());
    // A plain citizen still cannot.
    assert_api_error(b.application(&app.id).await, 404, "not_found");
    assert_api_error(b.pass(&pass_id).await, 404, "not_found");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_approved_application_revokes_its_pass() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(30)).await;
    let before = srv.client.revocations(0).await.expect("revocations");
    assert!(before.revoked.is_empty());

    let app = approved_application(&me).await;
    let pass_id = app.pass_id.clone().expect("pass");
    let cancelled = me.cancel(&app.id).await.expect("cancel");
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(me.application(&app.id).await.expect("read").status, "cancelled");
    assert_eq!(me.pass(&pass_id).await.expect("pass").status, "cancelled");

    let after = srv.client.revocations(0).await.expect("revocations");
    let revoked: Vec<&str> = after.revoked.iter().map(|r| r.pass_id.as_str()).collect();
    assert_eq!(revoked, [pass_id.as_str()]);
    assert!(after.seq >= after.revoked[0].seq && after.revoked[0].seq > 0);
    let later = srv.client.revocations(after.seq).await.expect("revocations since");
    assert!(later.revoked.is_empty(), "nothing after the latest seq");

    // A rejected application (start long past) cannot be cancelled either.
    let past = application(
        THANA_A,
        THANA_B,
        time::OffsetDateTime::now_utc() - time::Duration::hours(3),
    );
    let submitted = me.submit(&past, None).await.expect("202");
    let rejected = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(rejected.status, "rejected", "{rejected:?}");
    let codes: Vec<_> = rejected
        .decision
        .expect("decision")
        .reasons
        .into_iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(codes, ["start_out_of_window"]);
    assert_api_error(me.cancel(&submitted.id).await, 409, "not_cancellable");
    let res = srv
        .client
        .raw(Method::GET, "/api/v1/revocations?since=-1", None, Vec::new())
        .await
        .expect("raw");
    // The same code as any other bad query value, such as one that is not a number.
    assert_problem(&res, 400, "invalid_query");
    let res = srv
        .client
        .raw(Method::GET, "/api/v1/revocations?since=abc", None, Vec::new())
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_query");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_idempotency_key_and_body_creates_one_application() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(40)).await;
    let body = default_application();

    let first = me.submit(&body, Some("retry-me")).await.expect("202");
    let second = me.submit(&body, Some("retry-me")).await.expect("202 again");
    assert_eq!(first.id, second.id);
    let replay = me
        .raw(
            Method::POST,
            "/api/v1/applications",
            Some("application/json"),
            serde_json::to_vec(&body).expect("json"),
        )
        .await
        .expect("raw");
    // Without the key the raw request is a new application; count it below.
    assert_eq!(replay.status, 202);
    assert_eq!(me.applications(None, None).await.expect("list").items.len(), 2);

    // Ten concurrent retries with one key: one application.
    let concurrent_body = application(THANA_A, THANA_B, tomorrow_at(14, 0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (me, body) = (me.clone(), concurrent_body.clone());
        tasks.spawn(async move { me.submit(&body, Some("concurrent-key")).await });
    }
    let mut ids = HashSet::new();
    while let Some(res) = tasks.join_next().await {
        ids.insert(res.expect("task").expect("202").id);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(me.applications(None, None).await.expect("list").items.len(), 3);

    // Same key, another body: 422.
    let other = application(THANA_A, THANA_B, tomorrow_at(16, 0));
    assert_api_error(me.submit(&other, Some("retry-me")).await, 422, "idempotency_key_reused");
    // No key: every submission is new.
    let x = me.submit(&other, None).await.expect("202");
    let y = me.submit(&other, None).await.expect("202");
    assert_ne!(x.id, y.id);
    assert_eq!(me.applications(None, None).await.expect("list").items.len(), 5);

    // A replay much later still answers with the first application.
    assert_eq!(me.submit(&body, Some("retry-me")).await.expect("202").id, first.id);

    // A key that is too long or not printable is refused.
    let long = "k".repeat(65);
    assert_api_error(me.submit(&other, Some(&long)).await, 400, "invalid_idempotency_key");
    assert_eq!(me.applications(None, None).await.expect("list").items.len(), 5);
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_list_pages_newest_first_without_duplicates() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(50)).await;
    let base = tomorrow_at(8, 0);
    let mut submitted = Vec::new();
    for i in 0..25 {
        let body = application(THANA_A, THANA_B, base + time::Duration::minutes(20 * i));
        submitted.push(me.submit(&body, None).await.expect("202").id);
    }
    let newest_first: Vec<String> = submitted.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = me.applications(cursor.as_deref(), Some(10)).await.expect("page");
        sizes.push(page.items.len());
        seen.extend(page.items.into_iter().map(|a| a.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen, newest_first);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    // The default page and the largest one.
    assert_eq!(me.applications(None, None).await.expect("page").items.len(), 20);
    let all = me.applications(None, Some(100)).await.expect("page");
    assert_eq!(all.items.len(), 25);
    assert!(all.next_cursor.is_none());

    for bad in ["limit=0", "limit=101", "cursor=nonsense"] {
        let res = me
            .raw(Method::GET, &format!("/api/v1/applications?{bad}"), None, Vec::new())
            .await
            .expect("raw");
        assert_eq!(res.status, 400, "{bad}: {}", String::from_utf8_lossy(&res.body));
        assert!(res.problem().is_some(), "{bad}: problem json");
    }
    assert_api_error(me.applications(None, Some(0)).await, 400, "invalid_limit");
    assert_api_error(me.applications(None, Some(101)).await, 400, "invalid_limit");
    assert_api_error(me.applications(Some("nonsense"), None).await, 400, "invalid_cursor");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_twice_is_a_conflict() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(31)).await;
    let app = approved_application(&me).await;
    assert_eq!(me.cancel(&app.id).await.expect("cancel").status, "cancelled");
    let res = me
        .raw(
            Method::POST,
            &format!("/api/v1/applications/{}/cancel", app.id),
            None,
            Vec::new(),
        )
        .await
        .expect("raw");
    assert_problem(&res, 409, "not_cancellable");
    // Still exactly one revocation for the pass.
    assert_eq!(srv.client.revocations(0).await.expect("revocations").revoked.len(), 1);
    srv.finish().await;
}
