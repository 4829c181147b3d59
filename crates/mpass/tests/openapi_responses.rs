//! `/api/openapi.json` against what the server really answers: real flows (citizen,
//! reviewer, police, supervisor, analyst, admin) on a real server, every 2xx answer checked
//! against the schema the document gives for that operation and status code. A body that
//! does not match fails with the operation, the JSON pointer and the value; an answer in a
//! media type the document does not list, or a JSON answer without a schema, fails too.

mod common;
mod fake_twilio;
mod schema;

use std::collections::BTreeSet;
use std::time::Duration;

use common::police::{grant, reviewer, staff};
use common::*;
use fake_twilio::{Answer, FakeTwilio, INVALID_NUMBER};
use mpass_client::Client;
use reqwest::Method;
use schema::Contract;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A position in Dhaka district, where `THANA_A` and `THANA_B` are.
const DHAKA: (f64, f64) = (23.7286, 90.4106);

/// Logs `phone` in through the OTP routes and the dev outbox, checking each answer, and
/// answers a client with the access token of a refresh (so the refresh is checked too).
async fn login(c: &Contract, srv: &TestServer, phone: &str) -> (Client, String) {
    let anon = &srv.client;
    c.call(anon, Method::POST, "/api/v1/auth/otp", Some(json!({ "phone": phone })))
        .await;
    let code = eventually("the code in the dev outbox", Duration::from_secs(10), || async {
        anon.dev_code(phone).await.expect("outbox")
    })
    .await;
    let outbox = c
        .call(
            anon,
            Method::GET,
            &format!("/api/v1/dev/outbox?phone={phone}&limit=5"),
            None,
        )
        .await;
    assert!(!outbox["messages"].as_array().expect("messages").is_empty());
    let tokens = c
        .call(
            anon,
            Method::POST,
            "/api/v1/auth/token",
            Some(json!({ "phone": phone, "code": code })),
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let fresh = c
        .call(
            anon,
            Method::POST,
            "/api/v1/auth/refresh",
            Some(json!({ "refresh_token": refresh })),
        )
        .await;
    let access = fresh["access_token"].as_str().expect("access token");
    (
        srv.as_user(access),
        fresh["refresh_token"].as_str().expect("refresh").to_string(),
    )
}

/// Polls an application until the worker has decided it (and signed the pass of an approval).
async fn settled(c: &Contract, who: &Client, id: &str) -> Value {
    let path = format!("/api/v1/applications/{id}");
    eventually("the decision", DECIDE_TIMEOUT, || async {
        let app = c.call(who, Method::GET, &path, None).await;
        let done = match app["status"].as_str() {
            Some("submitted") => false,
            Some("approved") => app.get("pass_id").is_some(),
            _ => true,
        };
        done.then_some(app)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_success_answer_of_the_flows_matches_the_openapi_document() {
    let srv = TestServer::start().await;
    let c = Contract::of(&srv.client).await;
    let anon = &srv.client;

    // Operations and reference data, before anything exists.
    c.call(anon, Method::GET, "/healthz", None).await;
    c.call(anon, Method::GET, "/readyz", None).await;
    c.call(anon, Method::GET, "/metrics", None).await;
    c.call(anon, Method::GET, "/api/docs", None).await;
    c.call(anon, Method::GET, "/.well-known/jwks.json", None).await;
    c.call(anon, Method::GET, "/api/v1/trust-list", None).await;
    c.call(anon, Method::GET, "/api/v1/revocations?since=0", None).await;
    c.call(anon, Method::GET, "/api/v1/areas", None).await;
    c.call(anon, Method::GET, "/api/v1/reasons", None).await;

    // A citizen: login, who am I without and with a profile, language, photo.
    let holder_phone = phone(300);
    let (me, refresh) = login(&c, &srv, &holder_phone).await;
    let who = c.call(&me, Method::GET, "/api/v1/me", None).await;
    assert!(who.get("profile").is_none());
    let profile = serde_json::to_value(profile_for(&holder_phone)).expect("profile JSON");
    c.call(&me, Method::PUT, "/api/v1/me/profile", Some(profile)).await;
    c.call(
        &me,
        Method::PUT,
        "/api/v1/me/language",
        Some(json!({ "language": "en" })),
    )
    .await;
    let photo = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), png_photo(96, 80))
        .await
        .expect("photo");
    c.check(&Method::PUT, "/api/v1/me/photo", &photo);
    c.call(&me, Method::GET, "/api/v1/me/photo", None).await;
    let who = c.call(&me, Method::GET, "/api/v1/me", None).await;
    assert_eq!(who["profile"]["has_photo"], true);

    // Applications: one valid now (approved, a pass), one with every optional field (sent
    // to review by its reason), one to cancel.
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let valid_now =
        serde_json::to_value(application(THANA_A, THANA_B, now - time::Duration::minutes(1))).expect("JSON");
    let first = c.call(&me, Method::POST, "/api/v1/applications", Some(valid_now)).await;
    let first = settled(&c, &me, first["id"].as_str().expect("id")).await;
    assert_eq!(first["status"], "approved", "{first}");
    let full = json!({
        "reason": "other",
        "reason_note": "Visiting my grandmother",
        "from": { "area": THANA_A, "address": "House 12, Road 4", "lat": 23.75, "lon": 90.39 },
        "to": { "area": THANA_B, "address": "Green Road" },
        "start": rfc3339(tomorrow_at(10, 0)),
        "duration_hours": 3,
        "trip": "round_trip",
        "vehicle": { "kind": "car", "registration": "DHAKA-GA-11-1234", "self_driven": false,
                     "driver": { "name": "Karim Mia", "licence": "DK0123456" } },
        "companions": [{ "name": "Ayesha Akter", "relation": "daughter", "age": 12 }],
    });
    let reviewed = c.call(&me, Method::POST, "/api/v1/applications", Some(full)).await;
    let reviewed_id = reviewed["id"].as_str().expect("id").to_string();
    let reviewed = settled(&c, &me, &reviewed_id).await;
    assert_eq!(reviewed["status"], "in_review", "{reviewed}");
    let later = serde_json::to_value(application(THANA_A, THANA_B, tomorrow_at(15, 0))).expect("JSON");
    let third = c.call(&me, Method::POST, "/api/v1/applications", Some(later)).await;
    let third_id = third["id"].as_str().expect("id").to_string();
    settled(&c, &me, &third_id).await;
    c.call(
        &me,
        Method::POST,
        &format!("/api/v1/applications/{third_id}/cancel"),
        None,
    )
    .await;
    let page = c.call(&me, Method::GET, "/api/v1/applications?limit=2", None).await;
    let cursor = page["next_cursor"].as_str().expect("a next page").to_string();
    c.call(&me, Method::GET, &format!("/api/v1/applications?cursor={cursor}"), None)
        .await;

    // The pass and its QR codes.
    let pass_id = first["pass_id"].as_str().expect("a pass").to_string();
    let pass = c
        .call(&me, Method::GET, &format!("/api/v1/passes/{pass_id}"), None)
        .await;
    c.call(&me, Method::GET, &format!("/api/v1/passes/{pass_id}/qr.svg"), None)
        .await;
    c.call(&me, Method::GET, &format!("/api/v1/passes/{pass_id}/qr.png"), None)
        .await;
    let qr_text = pass["qr_text"].as_str().expect("qr text").to_string();

    // Review: queue, claim, ask for information, the thread and the answer, then approve.
    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("THANA_A has a district")
        .code
        .clone();
    let r = reviewer(&srv, 301, &district).await;
    let who = c.call(&r, Method::GET, "/api/v1/me", None).await;
    assert_eq!(who["grants"][0]["districts"][0], district.as_str(), "{who}");
    let queue = c.call(&r, Method::GET, "/api/v1/review/queue", None).await;
    assert_eq!(queue["items"][0]["id"], reviewed_id.as_str(), "{queue}");
    let claim = format!("/api/v1/review/{reviewed_id}/claim");
    let decision = format!("/api/v1/review/{reviewed_id}/decision");
    let messages = format!("/api/v1/applications/{reviewed_id}/messages");
    c.call(&r, Method::POST, &claim, None).await;
    let ask = json!({ "outcome": "request_info", "note": "Which hospital?" });
    c.call(&r, Method::POST, &decision, Some(ask)).await;
    c.call(&me, Method::GET, &messages, None).await;
    c.call(
        &me,
        Method::POST,
        &messages,
        Some(json!({ "body": "Square Hospital." })),
    )
    .await;
    c.call(&r, Method::GET, &messages, None).await;
    c.call(&r, Method::POST, &claim, None).await;
    let approve = json!({ "outcome": "approve", "reason_code": "documents_checked", "note": "ok" });
    let approved = c.call(&r, Method::POST, &decision, Some(approve)).await;
    assert_eq!(approved["pass_pending"], true, "{approved}");
    // The approval is recorded as intent; a worker signs the pass.
    let path = format!("/api/v1/applications/{reviewed_id}");
    eventually("the reviewed pass", DECIDE_TIMEOUT, || async {
        let app = c.call(&me, Method::GET, &path, None).await;
        (app["status"] == "approved" && app.get("pass_id").is_some()).then_some(())
    })
    .await;

    // Police: the registry, online checks (holder data, an unknown short code, at a
    // checkpoint), offline uploads (logged, refused, repeated).
    let admin = staff(&srv, 302, "admin").await;
    let police = staff(&srv, 303, "police").await;
    let gate = json!({ "name": "Zero Point", "lat": DHAKA.0, "lon": DHAKA.1 });
    let checkpoint = c.call(&admin, Method::POST, "/api/v1/checkpoints", Some(gate)).await;
    let checkpoint_id = checkpoint["id"].as_str().expect("id").to_string();
    let gone = json!({ "name": "Temporary", "lat": DHAKA.0, "lon": DHAKA.1, "area": THANA_A });
    let gone = c.call(&admin, Method::POST, "/api/v1/checkpoints", Some(gone)).await;
    let gone = format!("/api/v1/checkpoints/{}", gone["id"].as_str().expect("id"));
    c.call(&admin, Method::DELETE, &gone, None).await;
    c.call(&police, Method::GET, "/api/v1/checkpoints", None).await;
    let scanned_at = rfc3339(OffsetDateTime::now_utc() - time::Duration::seconds(30));
    let checks = [
        json!({ "qr_text": qr_text, "checkpoint": { "lat": DHAKA.0, "lon": DHAKA.1 }, "scanned_at": scanned_at }),
        json!({ "qr_text": qr_text, "checkpoint_id": checkpoint_id }),
        json!({ "short_code": "ZZZZZZZZ" }),
        json!({ "qr_text": "MP1:NOTAPASS" }),
    ];
    for body in checks {
        c.call(&police, Method::POST, "/api/v1/verify", Some(body)).await;
    }
    let verdict = c
        .call(
            &police,
            Method::POST,
            "/api/v1/verify",
            Some(json!({ "qr_text": qr_text })),
        )
        .await;
    assert!(
        verdict.get("pass").is_some() && verdict.get("status").is_some(),
        "{verdict}"
    );
    let scan = |client_id: &str| {
        json!({ "client_id": client_id, "qr_text": qr_text, "lat": DHAKA.0, "lon": DHAKA.1,
                "scanned_at": scanned_at, "result": "green" })
    };
    let batch = json!({ "scans": [
        scan("0190a0b0-0000-7000-8000-000000000001"),
        scan("not-a-uuid"),
        { "client_id": "0190a0b0-0000-7000-8000-000000000002", "short_code": "ZZZZZZZZ",
          "checkpoint_id": checkpoint_id, "scanned_at": scanned_at },
    ] });
    c.call(&police, Method::POST, "/api/v1/scans", Some(batch.clone()))
        .await;
    let again = c.call(&police, Method::POST, "/api/v1/scans", Some(batch)).await;
    assert_eq!(again["results"][0]["duplicate"], true, "{again}");

    // Supervisors: the scan log in pages, the flagged report; a revocation.
    let supervisor = staff(&srv, 304, "police_supervisor").await;
    let log = c.call(&supervisor, Method::GET, "/api/v1/scans?limit=2", None).await;
    let next = log["next_cursor"].as_str().expect("a next page").to_string();
    c.call(&supervisor, Method::GET, &format!("/api/v1/scans?cursor={next}"), None)
        .await;
    c.call(&supervisor, Method::GET, "/api/v1/scans?flagged=true", None)
        .await;
    let revoke = format!("/api/v1/passes/{pass_id}/revoke");
    c.call(
        &supervisor,
        Method::POST,
        &revoke,
        Some(json!({ "reason": "Reported stolen" })),
    )
    .await;
    let revoked = c.call(anon, Method::GET, "/api/v1/revocations?since=0", None).await;
    let listed = revoked["revoked"].as_array().expect("revoked");
    assert!(listed.iter().any(|r| r["pass_id"] == pass_id.as_str()), "{revoked}");
    let page = c
        .call(anon, Method::GET, "/api/v1/revocations?since=0&limit=1", None)
        .await;
    assert_eq!(
        page["seq"], page["revoked"][0]["seq"],
        "a full page continues from its last: {page}"
    );
    let red = c
        .call(
            &police,
            Method::POST,
            "/api/v1/verify",
            Some(json!({ "qr_text": qr_text })),
        )
        .await;
    assert_eq!(
        (&red["result"], &red["status"]),
        (&json!("red"), &json!("revoked")),
        "{red}"
    );
    c.call(&me, Method::GET, &format!("/api/v1/passes/{pass_id}"), None)
        .await;

    // Admins: search by each field, the audit log in pages, dead jobs.
    let document = profile_for(&holder_phone).id_number;
    for query in [
        format!("phone={holder_phone}"),
        format!("document={document}"),
        format!("id={reviewed_id}"),
    ] {
        let found = c
            .call(&admin, Method::GET, &format!("/api/v1/admin/search?{query}"), None)
            .await;
        assert!(
            !found["items"].as_array().expect("items").is_empty(),
            "{query}: {found}"
        );
    }
    let audit = c.call(&admin, Method::GET, "/api/v1/audit?limit=3", None).await;
    let after = audit["next_after"].as_i64().expect("a next page");
    c.call(
        &admin,
        Method::GET,
        &format!("/api/v1/audit?after={after}&limit=1000"),
        None,
    )
    .await;
    c.call(&admin, Method::GET, "/api/v1/admin/dead-jobs", None).await;

    // Analysts: every statistic, filtered and not, and one as CSV.
    let analyst = staff(&srv, 305, "analyst").await;
    let from = rfc3339(OffsetDateTime::now_utc() - time::Duration::days(2));
    for path in [
        "/api/v1/stats/summary".to_string(),
        format!(
            "/api/v1/stats/summary?district={district}&status=approved&from={}",
            from.replace('+', "%2B")
        ),
        "/api/v1/stats/by-area?level=division".to_string(),
        "/api/v1/stats/by-area?level=thana".to_string(),
        "/api/v1/stats/timeseries?measure=passes_issued".to_string(),
        "/api/v1/stats/latency".to_string(),
        "/api/v1/stats/backlog".to_string(),
        "/api/v1/stats/checkpoints".to_string(),
        format!("/api/v1/stats/checkpoints?near={},{}&radius_km=25", DHAKA.0, DHAKA.1),
        "/api/v1/stats/backlog?format=csv".to_string(),
    ] {
        c.call(&analyst, Method::GET, &path, None).await;
    }

    // The dev outbox page, then logout.
    c.call(anon, Method::GET, "/dev/outbox", None).await;
    c.call(
        &me,
        Method::POST,
        "/api/v1/auth/logout",
        Some(json!({ "refresh_token": refresh })),
    )
    .await;

    // Every JSON success answer of the document was met here, but the replay of a dead job
    // (the test below, which needs a failing SMS provider).
    let missed: Vec<String> = c.json_answers().difference(&c.checked()).cloned().collect();
    assert_eq!(
        missed,
        ["POST /api/v1/admin/dead-jobs/{id}/replay 202"],
        "JSON answers the flows never checked"
    );
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_job_answers_match_the_openapi_document() {
    // The SMS provider refuses the first message: its job dies at once (Twilio's 400).
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| fake.configure(s)).await;
    let c = Contract::of(&srv.client).await;
    fake.script([Answer::Status(400, INVALID_NUMBER)]);
    let e164 = |p: &str| {
        mpass_domain::phone::Phone::parse(p)
            .expect("phone")
            .as_str()
            .to_string()
    };
    srv.client.request_otp_in(&phone(310), "en").await.expect("202");
    fake.wait_for(&e164(&phone(310)), 1, DECIDE_TIMEOUT).await;

    // An admin, logged in with the code the fake received (the script is used up).
    let admin_phone = phone(311);
    srv.client.request_otp_in(&admin_phone, "en").await.expect("202");
    let sent = fake.wait_for(&e164(&admin_phone), 1, DECIDE_TIMEOUT).await;
    let code = sent[0].code().expect("a code");
    let tokens = srv.client.token(&admin_phone, &code).await.expect("tokens");
    grant(&srv, &admin_phone, "admin", &[]).await;
    let admin = srv.as_user(
        &srv.client
            .refresh(&tokens.refresh_token)
            .await
            .expect("refresh")
            .access_token,
    );

    let dead = eventually("the dead job", DECIDE_TIMEOUT, || async {
        let list = c.call(&admin, Method::GET, "/api/v1/admin/dead-jobs", None).await;
        let id = list["items"][0]["id"].as_str()?.to_string();
        Some(id)
    })
    .await;
    c.call(
        &admin,
        Method::POST,
        &format!("/api/v1/admin/dead-jobs/{dead}/replay"),
        None,
    )
    .await;
    assert_eq!(
        c.checked(),
        BTreeSet::from(
            [
                "GET /api/openapi.json 200",
                "GET /api/v1/admin/dead-jobs 200",
                "POST /api/v1/admin/dead-jobs/{id}/replay 202"
            ]
            .map(String::from)
        )
    );
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_made_through_the_legacy_api_matches_the_openapi_document() {
    let srv = TestServer::start_with(|s| s.compat_v1 = true).await;
    let c = Contract::of(&srv.client).await;
    // A native citizen (born 1990-04-12) who applies through the legacy API too.
    let holder = phone(320);
    let (me, _) = login(&c, &srv, &holder).await;
    let profile = serde_json::to_value(profile_for(&holder)).expect("profile JSON");
    c.call(&me, Method::PUT, "/api/v1/me/profile", Some(profile)).await;
    let mut old = mpass_client::legacy::LegacyClient::new(srv.client.base());
    let res = old.login(&holder, "12041990").await.expect("legacy login");
    assert_eq!(res.status, 200, "{:?}", res.body);
    let start = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let body = json!({
        "fromLocation": "Mirpur 10", "toLocation": "Dhaka Medical College", "district": 1047,
        "thana": 10309, "dateTime": rfc3339(start), "durationInHour": 3, "type": "R",
        "reason": "Medical", "includeVehicle": false
    });
    assert_eq!(old.apply(&body).await.expect("legacy apply").status, 200);

    // Natively it carries what the legacy client sent beyond our fields.
    let list = c.call(&me, Method::GET, "/api/v1/applications", None).await;
    let app = &list["items"][0];
    assert_eq!(app["legacy"]["from_location"], "Mirpur 10", "{app}");
    settled(&c, &me, app["id"].as_str().expect("id")).await;
    srv.finish().await;
}
