//! Operations endpoints: health, readiness, metrics, request ids, the API reference,
//! the JWKS and the dev outbox page.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_reference() {
    let srv = TestServer::start().await;
    let anon = &srv.client;
    let get = |path: &'static str| anon.raw(Method::GET, path, None, Vec::new());

    anon.healthz().await.expect("healthz");
    let res = get("/healthz").await.expect("raw");
    assert_eq!(res.status, 200);

    // An unknown path is a page for a browser and problem+json for an API client.
    let missing = format!("{}/no-such-page", srv.client.base());
    let page = reqwest::Client::new()
        .get(&missing)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert!(page.headers().contains_key("content-security-policy"));
    let api = get("/api/v1/no-such-route").await.expect("raw");
    assert_eq!(api.status, 404);
    assert_eq!(api.headers["content-type"], "application/problem+json");

    // Pages are gzipped for clients that accept it (slow mobile networks), and not otherwise.
    let home = format!("{}/", srv.client.base());
    let http = reqwest::Client::new();
    let zipped = http
        .get(&home)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("home");
    assert_eq!(zipped.status(), 200);
    assert_eq!(
        zipped
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or("")),
        Some("gzip")
    );
    let plain_len = http
        .get(&home)
        .send()
        .await
        .expect("home")
        .bytes()
        .await
        .expect("body")
        .len();
    let zipped_len = zipped.bytes().await.expect("body").len();
    assert!(zipped_len < plain_len, "gzip {zipped_len} bytes vs {plain_len} plain");
    assert!(plain_len >= usize::from(mpass_http::MIN_COMPRESSED_BODY), "{plain_len}");
    // An answer that fits in one TCP segment anyway is not compressed: it would save the
    // client nothing and cost the server more than the request (an online check's answer).
    let small = http
        .get(format!("{}/api/v1/reasons", srv.client.base()))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("reasons");
    assert_eq!(small.status(), 200);
    assert!(
        small.headers().get("content-encoding").is_none(),
        "{:?}",
        small.headers()
    );
    let small_len = small.bytes().await.expect("body").len();
    assert!(
        (33..usize::from(mpass_http::MIN_COMPRESSED_BODY)).contains(&small_len),
        "{small_len} bytes: above the old 32-byte floor, below the new one"
    );

    let res = get("/readyz").await.expect("raw");
    assert_eq!(res.status, 200);
    let ready = res.json().expect("json");
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["database"], "ok", "{ready}");
    assert_eq!(ready["checks"]["queue"], "ok", "{ready}");
    assert_eq!(ready["checks"]["object_store"], "ok", "{ready}");
    assert_eq!(ready["checks"]["keys"], "ok", "{ready}");

    // A dependency that stops answering makes the node not ready, and says which.
    let objects = srv.settings.data_dir.join("objects");
    std::fs::rename(&objects, objects.with_extension("away")).expect("move the object directory away");
    let res = get("/readyz").await.expect("raw");
    assert_eq!(res.status, 503);
    let ready = res.json().expect("json");
    assert_eq!(ready["status"], "not_ready", "{ready}");
    assert_ne!(ready["checks"]["object_store"], "ok", "{ready}");
    assert_eq!(ready["checks"]["database"], "ok", "{ready}");
    std::fs::rename(objects.with_extension("away"), &objects).expect("put it back");
    assert_eq!(get("/readyz").await.expect("raw").status, 200);

    // A decision, then the metrics show requests and the approved application.
    let (me, _) = srv.citizen(&phone(200)).await;
    let submitted = me.submit(&default_application(), None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved");
    let res = get("/metrics").await.expect("raw");
    assert_eq!(res.status, 200);
    let ct = res
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = String::from_utf8(res.body).expect("utf-8");
    assert!(text.contains("mpass_http_requests_total{"), "{text}");
    assert!(text.contains("mpass_http_request_duration_seconds_bucket{"), "{text}");
    assert!(text.contains("mpass_applications{status=\"approved\"} 1"), "{text}");
    assert!(text.contains("mpass_queue_jobs "), "{text}");
    // The embedded store's WAL syncs: the submission was acknowledged after one.
    let syncs = metric(&text, "mpass_store_wal_sync_seconds_count");
    assert!(syncs >= 1, "{text}");
    assert!(
        text.contains("mpass_store_wal_sync_seconds_bucket{le=\"+Inf\"} "),
        "{text}"
    );
    // Routes are labelled by pattern, never by a path with ids in it.
    assert!(text.contains("route=\"/api/v1/applications/{id}\""), "{text}");
    assert!(!text.contains(&app.id), "no ids in metric labels");

    // Every answer carries a request id, a different one each time.
    let mut ids = HashSet::new();
    for path in ["/healthz", "/api/v1/nope", "/api/v1/me", "/readyz"] {
        let res = get(path).await.expect("raw");
        let id = res
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("x-request-id on {path}"))
            .to_string();
        assert!(!id.is_empty());
        ids.insert(id);
    }
    assert_eq!(ids.len(), 4);

    // The API reference.
    let res = get("/api/openapi.json").await.expect("raw");
    assert_eq!(res.status, 200);
    let doc = res.json().expect("the OpenAPI document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/auth/otp",
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/passes/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    let res = get("/api/docs").await.expect("raw");
    assert_eq!(res.status, 200);
    let ct = res
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = String::from_utf8(res.body).expect("utf-8");
    assert!(html.to_ascii_lowercase().starts_with("<!doctype html"), "HTML");
    assert!(html.contains("/api/v1/applications"));

    // Access-token public keys.
    let res = get("/.well-known/jwks.json").await.expect("raw");
    assert_eq!(res.status, 200);
    let jwks = res.json().expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["kty"], "OKP", "{k}");
        assert_eq!(k["crv"], "Ed25519", "{k}");
        assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()), "{k}");
        assert!(k["x"].as_str().is_some_and(|s| !s.is_empty()), "{k}");
        assert!(k.get("d").is_none(), "no private part: {k}");
    }
    // The pass trust list is a JWK Set too, without private parts.
    let trust = anon.trust_list().await.expect("trust list");
    for k in trust["keys"].as_array().expect("keys") {
        assert_eq!(k["kty"], "OKP", "{k}");
        assert!(k.get("d").is_none(), "no private part: {k}");
    }

    // The dev outbox page shows the codes sent.
    let res = get("/dev/outbox").await.expect("raw");
    assert_eq!(res.status, 200);
    let page = String::from_utf8(res.body).expect("utf-8");
    // (In Bangla: the citizen's login request named no language.)
    assert!(page.contains("মুভমেন্ট পাস লগইন কোড"), "{page}");
    srv.finish().await;
}

/// `GET /api/v1/dev/outbox?phone=`: one recipient's messages, in any form a login accepts;
/// a number that is not one is a field error, not an empty list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_outbox_for_one_recipient() {
    let srv = TestServer::start().await;
    let anon = &srv.client;
    let (first, second) = ("01712000101", "01712000102");
    anon.request_otp(first).await.expect("otp");
    anon.request_otp(second).await.expect("otp");
    let mut to_first = Vec::new();
    for _ in 0..200 {
        to_first = anon.dev_outbox_to("+8801712000101", 50).await.expect("outbox").messages;
        if !to_first.is_empty() && anon.dev_code(second).await.expect("outbox").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(to_first.len(), 1, "{to_first:?}");
    assert_eq!(to_first[0].to, "+8801712000101");
    let everyone = anon.dev_outbox().await.expect("outbox").messages;
    assert_eq!(everyone.len(), 2, "{everyone:?}");
    // The national form finds the same messages.
    let national = anon.dev_outbox_to(first, 50).await.expect("outbox").messages;
    assert_eq!(national.len(), 1, "{national:?}");
    assert_eq!(national[0].body, to_first[0].body);

    let res = anon
        .raw(Method::GET, "/api/v1/dev/outbox?phone=12345", None, Vec::new())
        .await
        .expect("raw");
    assert_eq!(res.status, 422);
    assert_eq!(res.headers["content-type"], "application/problem+json");
    let problem = res.json().expect("json");
    assert_eq!(problem["code"], "validation_failed", "{problem}");
    assert_eq!(problem["errors"][0]["field"], "phone", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "invalid_phone", "{problem}");
    srv.finish().await;
}
