//! Notifications (SPEC §11) through the Twilio-compatible provider, end to end: a real
//! server sends through the work queue to a fake Twilio Messages API (a real HTTP server,
//! `fake_twilio`), which checks each request's format, authentication and fields. Codes,
//! decisions and revocations arrive in the citizen's language; 429, 5xx and timeouts are
//! retried with back-off and delivered once; a 4xx is dead-lettered at once; a job that
//! keeps failing is dead-lettered after `job_max_attempts`.

mod common;
mod fake_twilio;

use std::time::Duration;

use common::*;
use fake_twilio::{Answer, FakeTwilio, INVALID_NUMBER, TOO_MANY, UNAVAILABLE};
use mpass::admin::AdminCommand;
use mpass_client::{Client, Tokens};
use mpass_domain::phone::Phone;
use reqwest::Method;

const WAIT: Duration = Duration::from_secs(15);

fn e164(n: u32) -> String {
    Phone::parse(&phone(n)).expect("phone").as_str().to_string()
}

/// Logs `phone(n)` in with the code the fake Twilio received.
async fn login_via(fake: &FakeTwilio, srv: &TestServer, n: u32) -> (Client, Tokens) {
    srv.client.request_otp_in(&phone(n), "en").await.expect("202");
    let sms = fake.wait_for(&e164(n), 1, WAIT).await;
    let code = sms.last().and_then(|r| r.code()).expect("a code in the SMS");
    let tokens = srv
        .client
        .token(&phone(n), &code)
        .await
        .expect("login with the SMS code");
    (srv.as_user(&tokens.access_token), tokens)
}

/// An admin, granted through `mpass admin` and refreshed to carry the role.
async fn admin_via(fake: &FakeTwilio, srv: &TestServer, n: u32) -> Client {
    let (_, tokens) = login_via(fake, srv, n).await;
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone(n),
            role: "admin".into(),
            districts: Vec::new(),
            count: 1,
        },
    )
    .await
    .expect("grant admin");
    let fresh = srv.client.refresh(&tokens.refresh_token).await.expect("refresh");
    srv.as_user(&fresh.access_token)
}

async fn approved(me: &Client) -> mpass_client::Application {
    let submitted = me.submit(&default_application(), None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_decisions_reach_twilio_in_the_citizens_language() {
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| fake.configure(s)).await;

    // The OTP in the language the request asked for: the body's `language` ...
    let (en_user, _) = login_via(&fake, &srv, 1).await;
    let otp = &fake.to(&e164(1))[0];
    assert_eq!((otp.from.as_str(), otp.status), (fake_twilio::FROM, 201));
    assert!(otp.body.starts_with("Movement Pass login code: "), "{}", otp.body);
    assert!(
        !otp.body.chars().any(|c| ('\u{0980}'..='\u{09FF}').contains(&c)),
        "English only: {}",
        otp.body
    );

    // ... else Accept-Language ...
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/api/v1/auth/otp", srv.client.base()))
        .header("accept-language", "bn-BD,bn;q=0.9,en;q=0.5")
        .json(&serde_json::json!({ "phone": phone(2) }))
        .send()
        .await
        .expect("otp request");
    assert_eq!(res.status(), 202);
    let bn = fake.wait_for(&e164(2), 1, WAIT).await;
    assert!(bn[0].body.starts_with("মুভমেন্ট পাস লগইন কোড: "), "{}", bn[0].body);
    assert!(
        bn[0].body.contains("৫ মিনিট"),
        "Bangla digits for minutes: {}",
        bn[0].body
    );
    let code = bn[0].code().expect("ASCII code");
    srv.client
        .token(&phone(2), &code)
        .await
        .expect("the Bangla SMS code logs in");

    // ... else Bangla; and an unknown language is refused.
    let res = http
        .post(format!("{}/api/v1/auth/otp", srv.client.base()))
        .json(&serde_json::json!({ "phone": phone(3) }))
        .send()
        .await
        .expect("otp request");
    assert_eq!(res.status(), 202);
    assert!(fake.wait_for(&e164(3), 1, WAIT).await[0].body.starts_with("মুভমেন্ট"));
    let res = srv
        .client
        .raw(
            Method::POST,
            "/api/v1/auth/otp",
            Some("application/json"),
            format!(r#"{{"phone": "{}", "language": "fr"}}"#, phone(4)).into_bytes(),
        )
        .await
        .expect("raw");
    assert_problem(&res, 422, "validation_failed");

    // The decision SMS follows the stored language: English when chosen ...
    en_user.put_profile(&profile_for(&phone(1))).await.expect("profile");
    en_user.set_language("en").await.expect("language");
    let me = en_user.me().await.expect("me");
    assert_eq!((me.language.as_deref(), me.language_chosen), (Some("en"), true));
    let app = approved(&en_user).await;
    let pass = en_user.pass(app.pass_id.as_deref().expect("pass")).await.expect("pass");
    let sms = fake.wait_for(&e164(1), 2, WAIT).await;
    assert!(
        sms[1].body.starts_with(&format!(
            "Movement Pass approved. Pass code {}, valid ",
            pass.short_code
        )),
        "{}",
        sms[1].body
    );
    assert!(
        sms[1].body.contains("10:00-12:00"),
        "validity in Dhaka time: {}",
        sms[1].body
    );

    // ... Bangla by default (citizen 3 never chose), with Bangla digits for the validity.
    let (bn_user, bn_tokens) = {
        let code = fake.to(&e164(3))[0].code().expect("code");
        let tokens = srv.client.token(&phone(3), &code).await.expect("login");
        (srv.as_user(&tokens.access_token), tokens)
    };
    let _ = bn_tokens;
    bn_user.put_profile(&profile_for(&phone(3))).await.expect("profile");
    let me = bn_user.me().await.expect("me");
    assert_eq!((me.language.as_deref(), me.language_chosen), (Some("bn"), false));
    let app = approved(&bn_user).await;
    let pass = bn_user.pass(app.pass_id.as_deref().expect("pass")).await.expect("pass");
    let sms = fake.wait_for(&e164(3), 2, WAIT).await;
    assert!(sms[1].body.starts_with("মুভমেন্ট পাস অনুমোদিত।"), "{}", sms[1].body);
    assert!(sms[1].body.contains(&pass.short_code), "{}", sms[1].body);
    assert!(sms[1].body.contains("১০:০০ থেকে ১২:০০"), "{}", sms[1].body);

    // A revocation, in English for the citizen who chose it, with the reason.
    let admin = admin_via(&fake, &srv, 9).await;
    let en_pass = en_user.applications(None, None).await.expect("list").items[0]
        .pass_id
        .clone()
        .expect("pass");
    let res = admin
        .raw(
            Method::POST,
            &format!("/api/v1/passes/{en_pass}/revoke"),
            Some("application/json"),
            br#"{"reason": "Documents were forged"}"#.to_vec(),
        )
        .await
        .expect("revoke");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let sms = fake.wait_for(&e164(1), 3, WAIT).await;
    assert!(
        sms[2].body.contains("has been revoked: Documents were forged."),
        "{}",
        sms[2].body
    );

    // Switching the web pages' language switches a logged-in citizen's SMS language too.
    let (_, web_tokens) = login_via(&fake, &srv, 5).await;
    let res = http
        .get(format!("{}/lang/bn?next=/", srv.client.base()))
        .header(
            "cookie",
            format!("mp_auth={}~{}", web_tokens.access_token, web_tokens.refresh_token),
        )
        .send()
        .await
        .expect("switch");
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    let me = srv.as_user(&web_tokens.access_token).me().await.expect("me");
    assert_eq!((me.language.as_deref(), me.language_chosen), (Some("bn"), true));

    // The profile may carry the language; a bad one is named in a 422.
    let mut body = serde_json::to_value(profile_for(&phone(5))).expect("json");
    body["language"] = "en".into();
    let web_user = srv.as_user(&web_tokens.access_token);
    let res = web_user
        .raw(
            Method::PUT,
            "/api/v1/me/profile",
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
        .expect("profile");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(web_user.me().await.expect("me").language.as_deref(), Some("en"));
    body["language"] = "fr".into();
    let res = web_user
        .raw(
            Method::PUT,
            "/api/v1/me/profile",
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
        .expect("profile");
    let problem = assert_problem(&res, 422, "validation_failed");
    assert!(format!("{problem:?}").contains("language"), "{problem:?}");
    let res = web_user
        .raw(
            Method::PUT,
            "/api/v1/me/language",
            Some("application/json"),
            br#"{"language": "bn", "x": 1}"#.to_vec(),
        )
        .await
        .expect("language");
    assert_problem(&res, 400, "invalid_json");

    assert!(
        fake.problems().is_empty(),
        "every request was well-formed: {:?}",
        fake.problems()
    );
    assert!(fake.received().iter().all(|r| r.status == 201), "{:?}", fake.received());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_with_backoff_and_delivered_once() {
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| {
        fake.configure(s);
        s.job_max_attempts = 4;
    })
    .await;
    // 503, then a timeout (the fake stalls past the 500 ms limit), then 429, then success.
    fake.script([
        Answer::Status(503, UNAVAILABLE),
        Answer::Stall(Duration::from_secs(2)),
        Answer::Status(429, TOO_MANY),
    ]);
    srv.client.request_otp_in(&phone(20), "en").await.expect("202");
    let tries = fake.wait_for(&e164(20), 4, WAIT).await;
    assert_eq!(
        tries.iter().map(|r| (r.status, r.stalled)).collect::<Vec<_>>(),
        [(503, false), (201, true), (429, false), (201, false)]
    );
    assert!(
        tries.windows(2).all(|w| w[0].body == w[1].body),
        "the same message each time"
    );
    // Back-off: 50 ms, then 100 ms (after the 500 ms timeout), then 200 ms.
    let gap = |i: usize| tries[i + 1].at.duration_since(tries[i].at);
    assert!(gap(0) >= Duration::from_millis(50), "{:?}", gap(0));
    assert!(
        gap(1) >= Duration::from_millis(500 + 100),
        "timeout then back-off: {:?}",
        gap(1)
    );
    assert!(gap(2) >= Duration::from_millis(200), "{:?}", gap(2));

    // Delivered once: nothing more arrives, nothing is dead, and the code works.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = fake.to(&e164(20));
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all.iter().filter(|r| r.delivered()).count(), 1);
    let code = all[3].code().expect("code");
    let tokens = srv.client.token(&phone(20), &code).await.expect("login");
    let admin = admin_via(&fake, &srv, 29).await;
    assert!(admin.dead_jobs(None).await.expect("dead jobs").is_empty());
    let _ = tokens;
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_dead_letter_at_once_and_endless_transients_after_max_attempts() {
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| fake.configure(s)).await;
    let admin = admin_via(&fake, &srv, 39).await;

    // 400 (Twilio 21211): one request, then the dead letters, with Twilio's code and message.
    fake.script([Answer::Status(400, INVALID_NUMBER)]);
    srv.client.request_otp_in(&phone(30), "en").await.expect("202");
    fake.wait_for(&e164(30), 1, WAIT).await;
    let dead = eventually("the dead job", WAIT, || async {
        admin
            .dead_jobs(Some("send_login_code"))
            .await
            .ok()
            .filter(|d| d.len() == 1)
    })
    .await;
    assert_eq!((dead[0].kind.as_str(), dead[0].attempts), ("send_login_code", 1));
    assert!(
        dead[0]
            .last_error
            .contains("HTTP 400, code 21211: The 'To' number <to> is not a valid phone number."),
        "{}",
        dead[0].last_error
    );
    assert!(!dead[0].last_error.contains(&e164(30)), "the number is masked");

    // 503 every time: job_max_attempts (3) requests, spaced by the back-off, then dead.
    fake.script([Answer::Status(503, UNAVAILABLE); 3]);
    srv.client.request_otp_in(&phone(31), "en").await.expect("202");
    fake.wait_for(&e164(31), 3, WAIT).await;
    let dead = eventually("the second dead job", WAIT, || async {
        admin.dead_jobs(None).await.ok().filter(|d| d.len() == 2)
    })
    .await;
    assert_eq!(dead[0].attempts, 3, "{dead:?}");
    assert!(
        dead[0].last_error.starts_with("twilio: HTTP 503, code 20503"),
        "{}",
        dead[0].last_error
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.to(&e164(31)).len(), 3, "no fourth attempt");

    // The admin API: citizens get 403, strangers 401, unknown ids 404; a replay delivers.
    let (citizen, _) = login_via(&fake, &srv, 32).await;
    assert_api_error(citizen.dead_jobs(None).await, 403, "forbidden");
    assert_api_error(srv.client.dead_jobs(None).await, 401, "unauthorized");
    assert_api_error(admin.replay_dead_job("not-an-id").await, 404, "not_found");
    assert_api_error(
        admin.replay_dead_job("01890a5d-ac96-774b-bcce-b302099a8057").await,
        404,
        "not_found",
    );
    let res = admin
        .raw(Method::GET, "/api/v1/admin/dead-jobs?limit=0", None, Vec::new())
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_limit");
    let replayed = admin.replay_dead_job(&dead[0].id).await.expect("replay");
    assert_ne!(replayed.replayed_as, dead[0].id);
    let tries = fake.wait_for(&e164(31), 4, WAIT).await;
    assert!(tries[3].delivered(), "the replayed SMS went out: {tries:?}");
    assert_eq!(admin.dead_jobs(None).await.expect("dead").len(), 1);
    assert_api_error(admin.replay_dead_job(&dead[0].id).await, 404, "not_found");
    let audit = admin
        .raw(Method::GET, "/api/v1/audit?limit=1000", None, Vec::new())
        .await
        .expect("audit")
        .json()
        .expect("json");
    let admin_id = admin.me().await.expect("me").id;
    let replays: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "dlq.replayed")
        .collect();
    assert_eq!(replays.len(), 1);
    assert_eq!(replays[0]["actor"], admin_id.as_str());
    assert_eq!(replays[0]["subject"], format!("job:{}", dead[0].id));
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_by_the_api_and_dead_lettered_at_once() {
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| {
        fake.configure(s);
        s.twilio_auth_token = Some(mpass::config::Secret("wrong-token".into()));
    })
    .await;
    srv.client.request_otp_in(&phone(50), "en").await.expect("202");
    eventually("the refused request", WAIT, || async {
        (!fake.problems().is_empty()).then_some(())
    })
    .await;
    let store = mpass::serve::open_store(&srv.settings).await.expect("store");
    let dead = eventually("the dead job", WAIT, || async {
        store.dead_jobs(None, 10).await.ok().filter(|d| !d.is_empty())
    })
    .await;
    assert_eq!(dead[0].attempts, 1, "a 401 is not retried");
    assert!(
        dead[0].last_error.contains("HTTP 401, code 20003: Authenticate"),
        "{}",
        dead[0].last_error
    );
    assert!(!dead[0].last_error.contains("wrong-token"));
    assert_eq!(fake.problems().len(), 1, "{:?}", fake.problems());
    assert!(fake.received().is_empty(), "nothing got past authentication");
    srv.finish().await;
}
