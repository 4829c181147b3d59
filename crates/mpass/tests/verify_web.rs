//! The police web app (`/verify`) in headless Chromium, online and with the server really
//! stopped: an officer logs in through the web login, visits `/verify` once, checks a pass
//! online; then the server process is shut down, the page is reloaded from the service
//! worker and verifies in the browser (WebCrypto Ed25519, cached trust list and
//! revocations) a good pass green and revoked, expired, not-yet-valid, forged, altered,
//! wrong-key, garbage and oversized passes red and a checkpoint off the route amber; the server
//! comes back on the same address and the queued scans are uploaded (checked through the
//! API). Screenshots go to `target/screenshots/verify-*.png`.
//!
//! Skips with a notice when `chromium` or `chromedriver` is missing, unless
//! `MPASS_REQUIRE_BROWSER=1`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::police::*;
use common::*;
use fantoccini::{Client as Browser, Locator};
use serde_json::json;
use tokio::net::TcpListener;

async fn shot(b: &Browser, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    let png = b.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("save screenshot");
}

async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.execute(script, vec![]).await.expect("script runs")
}

/// Waits until `script` returns true.
async fn until(b: &Browser, what: &str, script: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if b.execute(script, vec![]).await.ok() == Some(json!(true)) {
            return;
        }
        if Instant::now() > deadline {
            let page = b
                .execute(
                    "var v = document.getElementById('mp-verify'); return document.body.innerText + (v ? v.outerHTML.replace(/data-config=\"[^\"]*\"/, '') : '')",
                    vec![],
                )
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what}; the page says: {page}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the page shows after checking `text`: (colour, reason codes, source, holder text).
async fn check(b: &Browser, text: &str, want_source: &str) -> (String, Vec<String>, String) {
    // Forget the previous verdict, so the wait below sees this one.
    js(b, "var r = document.getElementById('v-result'); r.hidden = true; r.removeAttribute('data-result'); document.getElementById('v-source').removeAttribute('data-source'); return true").await;
    b.execute(
        "document.getElementById('v-input').value = arguments[0]; return true",
        vec![json!(text)],
    )
    .await
    .expect("type");
    b.find(Locator::Id("v-check"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let done = format!(
        "return document.getElementById('v-source').getAttribute('data-source') === '{want_source}' && !document.getElementById('mp-verify').hasAttribute('data-busy')"
    );
    until(
        b,
        &format!("a verdict from the {want_source}"),
        &done,
        Duration::from_secs(15),
    )
    .await;
    let result = js(
        b,
        "return document.getElementById('v-result').getAttribute('data-result')",
    )
    .await;
    let codes = js(
        b,
        "return Array.from(document.querySelectorAll('#v-reasons li')).map(function (li) { return li.getAttribute('data-code'); })",
    )
    .await;
    let holder = js(b, "return document.getElementById('v-holder').textContent").await;
    (
        result.as_str().unwrap_or("").to_string(),
        codes
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().unwrap_or("").to_string())
            .collect(),
        holder.as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn police_app_verifies_offline_after_one_visit_and_uploads_later() {
    let Some(mut driver) = common::browser::start_browser(1100).await else {
        return;
    };
    let mut srv = TestServer::start().await;
    let addr = srv
        .client
        .base()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let base = format!("http://{addr}");

    // Passes: a good one, one revoked before the officer's visit, an expired one signed
    // with the server's own key, and a forged one.
    let (holder, _) = srv.citizen(&phone(120)).await;
    let good = pass_valid_now(&holder).await;
    let (holder2, _) = srv.citizen(&phone(121)).await;
    let revoked = pass_valid_now(&holder2).await;
    let admin = staff(&srv, 122, "admin").await;
    let res = admin
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/passes/{}/revoke", revoked.id),
            Some("application/json"),
            br#"{"reason": "Reported stolen"}"#.to_vec(),
        )
        .await
        .expect("revoke");
    assert_eq!(res.status, 200);
    let claims = claims_of(&srv, &good.qr_text).await;
    let expired = minted(&srv, &reissued(&claims, -4 * 3600, -3600));
    let early = minted(&srv, &reissued(&claims, 2 * 3600, 4 * 3600));
    let forged_text = forged(&good.qr_text);
    let altered = altered_name(&good.qr_text, "Rahima");
    let stranger = signed_by_stranger(&claims);
    let huge = format!("MP1:{}", "A".repeat(10_000));

    // A checkpoint far from the route (Chattogram), for the route check on the device.
    let far = admin
        .create_checkpoint(&mpass_client::CheckpointBody {
            name: "Chattogram".into(),
            lat: 22.3350,
            lon: 91.8325,
            area: None,
        })
        .await
        .expect("checkpoint");

    // The officer: the police role, then the ordinary web login with the SMS code.
    let officer_phone = phone(123);
    mpass::admin::run(
        srv.settings.clone(),
        mpass::admin::AdminCommand::Grant {
            phone: officer_phone.clone(),
            role: "police".into(),
            districts: Vec::new(),
            count: 1,
        },
    )
    .await
    .expect("grant police");
    let b = driver.browser.take().expect("a browser");
    b.goto(&format!("{base}/login")).await.expect("login page");
    b.find(Locator::Id("f-phone"))
        .await
        .expect("phone")
        .send_keys(&officer_phone)
        .await
        .expect("type");
    b.find(Locator::Css("main button[type=submit]"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");
    until(
        &b,
        "the code page",
        "return !!document.getElementById('f-code')",
        Duration::from_secs(10),
    )
    .await;
    let code = eventually("the SMS code", Duration::from_secs(15), || async {
        srv.client.dev_code(&officer_phone).await.ok().flatten()
    })
    .await;
    b.find(Locator::Id("f-code"))
        .await
        .expect("code")
        .send_keys(&code)
        .await
        .expect("type");
    b.find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("verify")
        .click()
        .await
        .expect("click");
    until(
        &b,
        "the login to finish",
        "return location.pathname !== '/login/code'",
        Duration::from_secs(10),
    )
    .await;

    // One visit online: lists synced, the service worker in control, a check by the server.
    b.goto(&format!("{base}/verify")).await.expect("/verify");
    assert_eq!(
        js(&b, "return document.querySelector('h1').textContent").await,
        "Police verification"
    );
    until(
        &b,
        "the service worker to control the page",
        "return !!navigator.serviceWorker.controller",
        Duration::from_secs(20),
    )
    .await;
    until(
        &b,
        "the trust list and revocations to be stored",
        "var r = JSON.parse(localStorage.getItem('mp.verify.revoked') || 'null'); \
         return !!localStorage.getItem('mp.verify.trust') && !!localStorage.getItem('mp.verify.areas') && !!r && r.ids.length === 1",
        Duration::from_secs(20),
    )
    .await;
    let (colour, codes, holder_text) = check(&b, &good.qr_text, "server").await;
    assert_eq!((colour.as_str(), codes), ("green", vec!["valid".to_string()]));
    assert!(holder_text.contains("Rahima Akter"), "{holder_text}");
    shot(&b, "verify-01-online-green").await;

    // The server goes away: not a simulated offline mode, the process is stopped.
    srv.stop().await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "the server is down"
    );
    b.refresh().await.expect("reload from the service worker");
    until(
        &b,
        "the cached page",
        "return !!document.getElementById('v-form')",
        Duration::from_secs(10),
    )
    .await;
    let sync = js(&b, "return document.getElementById('v-sync').textContent").await;
    assert!(
        sync.as_str().is_some_and(|s| s.contains("Trust list: updated")),
        "{sync}"
    );

    let (colour, codes, holder_text) = check(&b, &good.qr_text, "device").await;
    assert_eq!(
        (colour.as_str(), codes),
        ("green", vec!["valid".to_string()]),
        "good pass offline"
    );
    assert!(
        holder_text.contains("Rahima Akter") && holder_text.contains("…"),
        "{holder_text}"
    );
    shot(&b, "verify-02-offline-green").await;
    let bad_ones = [
        ("revoked", revoked.qr_text.as_str(), "revoked"),
        ("expired", &expired, "expired"),
        ("not-yet-valid", &early, "not_yet_valid"),
        ("forged", &forged_text, "bad_signature"),
        ("altered", &altered, "bad_signature"),
        ("wrong-key", &stranger, "unknown_key"),
        ("garbage", "MP1:%%%%", "malformed"),
        ("huge", &huge, "too_large"),
    ];
    for (what, text, reason) in bad_ones {
        let (colour, codes, holder_text) = check(&b, text, "device").await;
        assert_eq!(colour, "red", "{what}: {codes:?}");
        assert!(codes.iter().any(|c| c == reason), "{what}: {codes:?}");
        let trusted_content = matches!(reason, "revoked" | "expired" | "not_yet_valid");
        assert_eq!(
            !holder_text.is_empty(),
            trusted_content,
            "{what}: holder data only from a good signature"
        );
        shot(&b, &format!("verify-03-offline-{what}")).await;
    }
    // At a checkpoint off the route: amber, from the cached checkpoint list.
    b.execute(
        "document.getElementById('v-checkpoint').value = arguments[0]; return true",
        vec![json!(far.id)],
    )
    .await
    .expect("choose the checkpoint");
    let (colour, codes, _) = check(&b, &good.qr_text, "device").await;
    assert_eq!(
        (colour.as_str(), codes),
        ("amber", vec!["checkpoint_off_route".to_string()])
    );
    shot(&b, "verify-03-offline-off-route").await;
    let queued = 2 + bad_ones.len();
    assert_eq!(
        js(
            &b,
            "return document.getElementById('v-queue').getAttribute('data-count')"
        )
        .await,
        json!(queued.to_string())
    );

    // The server comes back on the same address and data: the page uploads the queue.
    let listener = TcpListener::bind(&addr).await.expect("the same address again");
    let running = mpass::serve::start(srv.settings.clone(), listener)
        .await
        .expect("restart");
    until(
        &b,
        "the queue to be uploaded",
        "return document.getElementById('v-queue').getAttribute('data-count') === '0'",
        Duration::from_secs(30),
    )
    .await;
    // The admin's token from before the restart still holds (same keys, same address).
    let log = admin.scans(false, 100).await.expect("scan log");
    let offline: Vec<_> = log.items.iter().filter(|s| s.source == "offline").collect();
    let online: Vec<_> = log.items.iter().filter(|s| s.source == "online").collect();
    assert_eq!((offline.len(), online.len()), (queued, 1), "{log:?}");
    let mut results: Vec<(&str, Option<&str>)> = offline
        .iter()
        .map(|s| (s.result.as_str(), s.device_result.as_deref()))
        .collect();
    results.sort_unstable();
    let mut want = vec![("amber", Some("amber")), ("green", Some("green"))];
    want.extend(std::iter::repeat_n(("red", Some("red")), bad_ones.len()));
    assert_eq!(results, want, "the server agrees with what the device showed");

    // And in Bangla.
    b.goto(&format!("{base}/lang/bn?next=/verify")).await.expect("bangla");
    until(
        &b,
        "the Bangla page",
        "return document.documentElement.lang === 'bn'",
        Duration::from_secs(10),
    )
    .await;
    let (colour, _, _) = check(&b, &good.qr_text, "server").await;
    assert_eq!(colour, "green");
    assert_eq!(
        js(&b, "return document.getElementById('v-colour').textContent").await,
        "বৈধ"
    );
    shot(&b, "verify-04-bangla").await;

    let _ = b.close().await;
    running.shutdown().await.expect("shutdown");
}
