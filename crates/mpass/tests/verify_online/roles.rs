//! Who may verify: roles, hostile input, the rate limit, the officers' page reading roles now.

use serde_json::json;
use time::OffsetDateTime;

use crate::common::police::*;
use crate::common::*;
use crate::{qr, raw_verify, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_hostile_input_and_the_rate_limit() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(110)).await;
    let analyst = staff(&srv, 111, "analyst").await;
    let police = staff(&srv, 112, "police").await;
    let supervisor = staff(&srv, 113, "police_supervisor").await;
    let body = r#"{"qr_text": "MP1:ABC"}"#;

    assert_problem(&raw_verify(&srv.client, body).await, 401, "unauthorized");
    assert_problem(&raw_verify(&citizen, body).await, 403, "forbidden");
    assert_problem(&raw_verify(&analyst, body).await, 403, "forbidden");
    assert_eq!(raw_verify(&supervisor, body).await.status, 200);

    // Large and garbage texts are verdicts, not errors; a body over the cap is refused.
    let huge = format!(r#"{{"qr_text": "MP1:{}"}}"#, "A".repeat(60_000));
    let res = raw_verify(&police, &huge).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json().expect("json")["reasons"][0]["code"], "too_large");
    for text in ["", "MP1:", "hello", "MP1:ÄÖÜ", "MP1:0000", "MP2:AAAA", "\u{0000}"] {
        let v = verify(&police, &qr(text)).await;
        assert_eq!((v.result.as_str(), v.pass.is_none()), ("red", true), "{text:?}: {v:?}");
    }
    let over = format!(r#"{{"qr_text": "{}"}}"#, "A".repeat(70_000));
    assert_problem(&raw_verify(&police, &over).await, 413, "payload_too_large");
    assert_problem(&raw_verify(&police, "not json").await, 400, "invalid_json");
    assert_problem(
        &raw_verify(&police, r#"{"qr_text": "x", "pin": 1}"#).await,
        400,
        "invalid_json",
    );
    assert_problem(&raw_verify(&police, "{}").await, 422, "validation_failed");
    assert_problem(
        &raw_verify(&police, r#"{"qr_text": "x", "short_code": "12345678"}"#).await,
        422,
        "validation_failed",
    );
    for bad in [
        r#"{"qr_text": "x", "scanned_at": "yesterday"}"#,
        r#"{"qr_text": "x", "checkpoint": {"lat": 51.5, "lon": -0.1}}"#,
        r#"{"qr_text": "x", "checkpoint_id": "not-an-id"}"#,
    ] {
        assert_problem(&raw_verify(&police, bad).await, 422, "validation_failed");
    }

    // One officer is limited; another officer is not affected.
    let mut limited = None;
    for i in 0..200 {
        let res = raw_verify(&police, body).await;
        if res.status == 429 {
            limited = Some((i, res));
            break;
        }
    }
    let (i, res) = limited.expect("the officer is rate limited");
    assert!(i <= 120, "limited after {i} more checks");
    let problem = assert_problem(&res, 429, "rate_limited");
    assert!(
        res.json().expect("json")["retry_after"]
            .as_i64()
            .is_some_and(|s| s >= 1),
        "{problem:?}"
    );
    assert_eq!(raw_verify(&supervisor, body).await.status, 200);
    srv.finish().await;
}

/// The officers' page checks through its session (`POST /verify/check`, cookie and CSRF
/// token) and reads the officer's roles at every check: a police role revoked a moment ago
/// stops the page's checks at once, whatever the session's access token still says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_check_reads_the_officers_roles_now() {
    use mpass_domain::audit::Actor;
    use mpass_domain::phone::Phone;
    use mpass_domain::ports::Role;

    let srv = TestServer::start().await;
    let base = srv.client.base().trim_end_matches('/').to_string();
    let (holder, _) = srv.citizen(&phone(90)).await;
    let pass = pass_valid_now(&holder).await;
    let police = staff(&srv, 91, "police").await;
    let access = police.access_token().expect("an access token");
    let cookie = format!("mp_sid=pagecheck000000000000000001; mp_auth={access}~unused");
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{base}/verify"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("its text");
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("the page's CSRF token") + marker.len();
    let csrf = page[at..].split('"').next().expect("the token").to_string();
    let check = || async {
        http.post(format!("{base}/verify/check"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body(json!({ "qr_text": pass.qr_text }).to_string())
            .send()
            .await
            .expect("the page's check")
    };
    let res = check().await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.expect("a verdict");
    assert_eq!(v["result"], "green", "{v}");

    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    let officer = store
        .user_by_phone(&Phone::parse(&phone(91)).expect("a phone"))
        .await
        .expect("read")
        .expect("the officer");
    let revoked = store
        .revoke_role(officer.id, Role::Police, Actor::system(), OffsetDateTime::now_utc())
        .await
        .expect("revoke");
    assert!(revoked);
    let res = check().await;
    assert_eq!(res.status(), 403);
    let problem: serde_json::Value = res.json().await.expect("a problem");
    assert_eq!(problem["code"], "forbidden", "{problem}");
}
