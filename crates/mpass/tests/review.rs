//! The review queue (SPEC §6, §14): an application the policy sends to review reaches the
//! reviewers of its district and nobody else; one reviewer claims it, a second cannot; the
//! holder approves and a worker signs the pass, which verifies green.

mod common;

use common::police::reviewer;
use common::*;
use mpass_client::{Client, RawResponse};
use mpass_domain::pass::{TrustList, VerdictColour, VerifyOptions, verify_pass};
use reqwest::Method;

async fn call(who: &Client, method: Method, path: &str, body: Option<&str>) -> RawResponse {
    let (ct, bytes) = match body {
        Some(b) => (Some("application/json"), b.as_bytes().to_vec()),
        None => (None, Vec::new()),
    };
    who.raw(method, path, ct, bytes).await.expect("raw request")
}

async fn queue(who: &Client) -> RawResponse {
    call(who, Method::GET, "/api/v1/review/queue", None).await
}

async fn claim(who: &Client, id: &str) -> RawResponse {
    call(who, Method::POST, &format!("/api/v1/review/{id}/claim"), None).await
}

async fn decide(who: &Client, id: &str, body: &str) -> RawResponse {
    call(who, Method::POST, &format!("/api/v1/review/{id}/decision"), Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_of_the_district_claims_and_approves_and_the_worker_issues_the_pass() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(60)).await;
    let mut body = default_application();
    body.reason = "other".into();
    body.reason_note = Some("Visiting my grandmother".into());
    let submitted = citizen.submit(&body, None).await.expect("202");
    let app = citizen
        .wait_decided(&submitted.id, DECIDE_TIMEOUT)
        .await
        .expect("decided");
    assert_eq!(app.status, "in_review", "{app:?}");

    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("THANA_A has a district")
        .code
        .clone();
    let other_district = mpass_domain::geo::areas()
        .districts()
        .find(|d| d.code != district)
        .expect("another district")
        .code
        .clone();
    let r1 = reviewer(&srv, 61, &district).await;
    let r2 = reviewer(&srv, 62, &district).await;
    let elsewhere = reviewer(&srv, 63, &other_district).await;

    // The district's reviewers see it, with the rule hits that sent it there.
    let res = queue(&r1).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let items = res.json().expect("json")["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], submitted.id.as_str());
    assert_eq!(items[0]["district"], district.as_str());
    let reasons = items[0]["decision"]["reasons"].as_array().expect("reasons");
    assert!(!reasons.is_empty(), "{items:?}");
    assert!(reasons.iter().all(|r| r["outcome"] == "review"), "{reasons:?}");

    // Another district's reviewer sees nothing and gets 404; a citizen gets 403.
    let res = queue(&elsewhere).await;
    assert_eq!(res.status, 200);
    assert!(res.json().expect("json")["items"].as_array().expect("items").is_empty());
    assert_problem(&claim(&elsewhere, &submitted.id).await, 404, "not_found");
    let approve = r#"{"outcome": "approve", "reason_code": "verified_by_phone", "note": null}"#;
    assert_problem(&decide(&elsewhere, &submitted.id, approve).await, 404, "not_found");
    assert_problem(&queue(&citizen).await, 403, "forbidden");
    assert_problem(&claim(&citizen, &submitted.id).await, 403, "forbidden");
    assert_problem(&decide(&citizen, &submitted.id, approve).await, 403, "forbidden");
    assert_problem(&queue(&srv.client).await, 401, "unauthorized");
    assert_problem(
        &claim(&r1, "01890000-0000-7000-8000-000000000000").await,
        404,
        "not_found",
    );

    // Deciding before claiming is refused; r1 claims, r2 cannot.
    assert_problem(&decide(&r1, &submitted.id, approve).await, 409, "not_lease_holder");
    let res = claim(&r1, &submitted.id).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let claimed = res.json().expect("json");
    assert!(
        claimed["lease_until"].as_str().is_some_and(|s| !s.is_empty()),
        "{claimed}"
    );
    assert_problem(&claim(&r2, &submitted.id).await, 409, "claimed_by_other");
    assert_problem(&decide(&r2, &submitted.id, approve).await, 409, "not_lease_holder");

    // Bad decisions are refused field by field.
    let bad = decide(&r1, &submitted.id, r#"{"outcome": "maybe", "reason_code": "x"}"#).await;
    assert_problem(&bad, 422, "validation_failed");
    let bad = decide(&r1, &submitted.id, r#"{"outcome": "reject", "reason_code": "Not OK!"}"#).await;
    assert_problem(&bad, 422, "validation_failed");
    let bad = decide(
        &r1,
        &submitted.id,
        r#"{"outcome": "reject", "reason_code": "x", "extra": 1}"#,
    )
    .await;
    assert_problem(&bad, 400, "invalid_json");
    // `null` is absent, as for every optional field: an approval without a reason code.
    let bad = decide(&r1, &submitted.id, r#"{"outcome": "approve", "reason_code": null}"#).await;
    assert_problem(&bad, 422, "validation_failed");
    let errors = bad.json().expect("json")["errors"].to_string();
    assert!(errors.contains("reason_code"), "{errors}");

    // The holder approves; the worker signs the pass; the citizen's application is approved.
    let res = decide(&r1, &submitted.id, approve).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json().expect("json")["pass_pending"], true);
    let approved = eventually("the reviewed pass", DECIDE_TIMEOUT, || async {
        let app = citizen.application(&submitted.id).await.ok()?;
        (app.status == "approved").then_some(app)
    })
    .await;
    let pass_id = approved.pass_id.clone().expect("a pass");
    let pass = citizen.pass(&pass_id).await.expect("pass");
    let trust = TrustList::from_jwks_json(&srv.client.trust_list().await.expect("trust list").to_string())
        .expect("a valid trust list");
    let during = tomorrow_at(10, 30).unix_timestamp();
    let opts = VerifyOptions {
        revocation_list_age_secs: Some(0),
        ..VerifyOptions::default()
    };
    let v = verify_pass(&pass.qr_text, &trust, &|_| false, during, &opts);
    assert_eq!(v.result, VerdictColour::Green, "{v:?}");

    // Decided: out of the queue, no longer claimable.
    let items = queue(&r2).await.json().expect("json")["items"]
        .as_array()
        .expect("items")
        .clone();
    assert!(items.is_empty(), "{items:?}");
    assert_problem(&claim(&r2, &submitted.id).await, 404, "not_found");

    // Audited with the reviewer as actor.
    let r1_id = r1.me().await.expect("me").id;
    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    let log = store.audit_list(0, 1000).await.expect("audit");
    let reviewed: Vec<_> = log.iter().filter(|e| e.action == "application.reviewed").collect();
    assert_eq!(reviewed.len(), 1, "{log:?}");
    assert_eq!(reviewed[0].actor, r1_id);
    let verdict = mpass::audit::verify(store.as_ref()).await.expect("read the chain");
    assert!(verdict.is_ok(), "{verdict:?}");
    drop(store);
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_rejects_with_a_reason_and_the_citizen_sees_it() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(70)).await;
    let mut body = default_application();
    body.reason = "other".into();
    body.reason_note = Some("Visiting a friend".into());
    let submitted = citizen.submit(&body, None).await.expect("202");
    let app = citizen
        .wait_decided(&submitted.id, DECIDE_TIMEOUT)
        .await
        .expect("decided");
    assert_eq!(app.status, "in_review", "{app:?}");
    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("district")
        .code
        .clone();
    let r = reviewer(&srv, 71, &district).await;
    assert_eq!(claim(&r, &submitted.id).await.status, 200);
    let res = decide(
        &r,
        &submitted.id,
        r#"{"outcome": "reject", "reason_code": "not_essential", "note": "Not an essential trip."}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json().expect("json")["status"], "rejected");
    let app = citizen.application(&submitted.id).await.expect("application");
    assert_eq!(app.status, "rejected");
    assert_eq!(app.pass_id, None);
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_asks_for_information_and_the_answer_returns_it_to_the_queue() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(80)).await;
    let (stranger, _) = srv.citizen(&phone(81)).await;
    let mut body = default_application();
    body.reason = "other".into();
    body.reason_note = Some("Collecting documents".into());
    let submitted = citizen.submit(&body, None).await.expect("202");
    let app = citizen
        .wait_decided(&submitted.id, DECIDE_TIMEOUT)
        .await
        .expect("decided");
    assert_eq!(app.status, "in_review", "{app:?}");
    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("district")
        .code
        .clone();
    let r = reviewer(&srv, 82, &district).await;
    let id = submitted.id.as_str();
    let messages = format!("/api/v1/applications/{id}/messages");
    let reference = mpass_domain::notify::app_ref(mpass_domain::ids::ApplicationId::parse(id).expect("an id"));
    let ask = r#"{"outcome": "request_info", "note": "Which office are you collecting documents from?"}"#;

    // Asking needs the lease and a question.
    assert_problem(&decide(&r, id, ask).await, 409, "not_lease_holder");
    assert_eq!(claim(&r, id).await.status, 200);
    let empty = decide(&r, id, r#"{"outcome": "request_info", "note": "  "}"#).await;
    assert_problem(&empty, 422, "validation_failed");
    let res = decide(&r, id, ask).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json().expect("json")["status"], "info_requested");

    // Out of the queue; the citizen is told by SMS and reads the question.
    let items = queue(&r).await.json().expect("json")["items"]
        .as_array()
        .expect("items")
        .clone();
    assert!(items.is_empty(), "{items:?}");
    let sms = eventually("the information-request SMS", DECIDE_TIMEOUT, || async {
        let outbox = srv.client.dev_outbox().await.ok()?;
        outbox
            .messages
            .into_iter()
            .find(|m| m.to.ends_with(&phone(80)[1..]) && m.body.contains("Which office are you collecting"))
    })
    .await;
    assert!(
        sms.body.contains(&reference),
        "the application's reference: {}",
        sms.body
    );
    let thread = call(&citizen, Method::GET, &messages, None).await;
    assert_eq!(thread.status, 200, "{}", String::from_utf8_lossy(&thread.body));
    let thread = thread.json().expect("json");
    assert_eq!(thread["awaiting_answer"], true);
    assert_eq!(thread["items"][0]["author"], "reviewer");
    assert_eq!(
        thread["items"][0]["body"],
        "Which office are you collecting documents from?"
    );

    // Nobody else reads or answers it.
    assert_problem(&call(&stranger, Method::GET, &messages, None).await, 404, "not_found");
    let answer = r#"{"body": "The land office in Savar, ref 17."}"#;
    assert_problem(
        &call(&stranger, Method::POST, &messages, Some(answer)).await,
        404,
        "not_found",
    );
    assert_problem(
        &call(&srv.client, Method::GET, &messages, None).await,
        401,
        "unauthorized",
    );
    let bad = call(&citizen, Method::POST, &messages, Some(r#"{"body": ""}"#)).await;
    assert_problem(&bad, 422, "validation_failed");
    let bad = call(&citizen, Method::POST, &messages, Some(r#"{"body": "x", "to": "y"}"#)).await;
    assert_problem(&bad, 400, "invalid_json");

    // The answer puts it back in the queue, where the reviewer reads the thread.
    let res = call(&citizen, Method::POST, &messages, Some(answer)).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json().expect("json")["status"], "in_review");
    assert_problem(
        &call(&citizen, Method::POST, &messages, Some(answer)).await,
        409,
        "no_information_requested",
    );
    let items = queue(&r).await.json().expect("json")["items"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(items.len(), 1, "{items:?}");
    let thread = call(&r, Method::GET, &messages, None).await.json().expect("json");
    assert_eq!(thread["awaiting_answer"], false);
    let authors: Vec<&str> = thread["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["author"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(authors, ["reviewer", "applicant"]);

    // The reviewer claims it again and approves; the pass follows.
    assert_eq!(claim(&r, id).await.status, 200);
    let approve = r#"{"outcome": "approve", "reason_code": "information_provided", "note": "Office confirmed."}"#;
    assert_eq!(decide(&r, id, approve).await.status, 200);
    eventually("the pass", DECIDE_TIMEOUT, || async {
        let app = citizen.application(id).await.ok()?;
        app.pass_id
    })
    .await;
    srv.finish().await;
}
