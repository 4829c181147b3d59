//! Hostile and careless input: malformed, oversized and mistyped bodies, bad fields,
//! bad tokens, and the OTP and refresh-token limits of SPEC §2. Every refusal is a clear
//! 4xx in problem+json.

#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use mpass_client::Client;
use reqwest::Method;
use serde_json::json;

const JSON: Option<&str> = Some("application/json");

fn body(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

/// A valid application as JSON, to break one part at a time.
fn valid_application_json() -> serde_json::Value {
    serde_json::to_value(default_application()).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_mistyped_and_oversized_bodies_get_clear_errors() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(100)).await;
    let apps = "/api/v1/applications";

    // Malformed JSON.
    let res = me
        .raw(Method::POST, apps, JSON, b"{\"reason\": ".to_vec())
        .await
        .expect("raw");
    let p = assert_problem(&res, 400, "invalid_json");
    assert!(!p.detail.is_empty());
    let res = srv
        .client
        .raw(Method::POST, "/api/v1/auth/otp", JSON, b"not json".to_vec())
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_json");
    let res = me
        .raw(Method::POST, apps, JSON, b"[1, 2, 3]".to_vec())
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_json");
    let res = me.raw(Method::POST, apps, JSON, Vec::new()).await.expect("raw");
    assert_problem(&res, 400, "invalid_json");

    // Wrong or missing content type.
    let valid = body(&valid_application_json());
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let res = me.raw(Method::POST, apps, ct, valid.clone()).await.expect("raw");
        assert_problem(&res, 415, "unsupported_media_type");
    }
    let res = me
        .raw(Method::PUT, "/api/v1/me/profile", Some("text/plain"), body(&json!({})))
        .await
        .expect("raw");
    assert_problem(&res, 415, "unsupported_media_type");

    // Over 64 KiB.
    let mut big = valid_application_json();
    big["reason_note"] = json!("x".repeat(64 * 1024));
    let res = me.raw(Method::POST, apps, JSON, body(&big)).await.expect("raw");
    assert_problem(&res, 413, "payload_too_large");
    let res = srv
        .client
        .raw(
            Method::POST,
            "/api/v1/auth/otp",
            JSON,
            body(&json!({ "phone": "0".repeat(70 * 1024) })),
        )
        .await
        .expect("raw");
    assert_problem(&res, 413, "payload_too_large");

    // Unknown fields, at the top and nested.
    let mut unknown = valid_application_json();
    unknown["priority"] = json!("high");
    let res = me.raw(Method::POST, apps, JSON, body(&unknown)).await.expect("raw");
    let p = assert_problem(&res, 400, "invalid_json");
    assert!(p.detail.contains("priority"), "names the field: {}", p.detail);
    let mut nested = valid_application_json();
    nested["from"]["floor"] = json!(3);
    let res = me.raw(Method::POST, apps, JSON, body(&nested)).await.expect("raw");
    assert_problem(&res, 400, "invalid_json");
    let res = srv
        .client
        .raw(
            Method::POST,
            "/api/v1/auth/otp",
            JSON,
            body(&json!({ "phone": phone(101), "admin": true })),
        )
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_json");
    // Wrong JSON types are a parse error too.
    let mut typed = valid_application_json();
    typed["duration_hours"] = json!("two");
    let res = me.raw(Method::POST, apps, JSON, body(&typed)).await.expect("raw");
    assert_problem(&res, 400, "invalid_json");

    // None of these created anything.
    assert!(me.applications(None, None).await.expect("list").items.is_empty());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_every_bad_field() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(110)).await;
    let companion = json!({ "name": "Karim", "relation": "brother", "age": 30 });
    let bad = json!({
        "reason": "picnic",
        "from": { "area": "99999999", "address": "House 1" },
        "to": { "area": THANA_B, "address": "Hospital" },
        "start": rfc3339(tomorrow_at(10, 0)),
        "duration_hours": 13,
        "trip": "both_ways",
        "vehicle": { "kind": "car", "registration": "DHA-1234", "self_driven": false },
        "companions": [companion.clone(), companion.clone(), companion.clone(), companion.clone(), companion],
    });
    let res = me
        .raw(Method::POST, "/api/v1/applications", JSON, body(&bad))
        .await
        .expect("raw");
    let p = assert_problem(&res, 422, "validation_failed");
    let fields: BTreeSet<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    let expected: BTreeSet<&str> = [
        "reason",
        "from.area",
        "duration_hours",
        "trip",
        "companions",
        "vehicle.driver",
    ]
    .into_iter()
    .collect();
    assert_eq!(fields, expected, "{p:?}");
    assert_eq!(p.errors.len(), expected.len(), "one error per field: {p:?}");
    for e in &p.errors {
        assert!(
            !e.code.is_empty() && !e.message.is_empty() && !e.message_bn.is_empty(),
            "{e:?}"
        );
    }

    // More field rules, each named.
    let cases = [
        (json!({ "start": "tomorrow at ten" }), "start"),
        (json!({ "start": "2030-01-01T10:00:00" }), "start"),
        (json!({ "duration_hours": 0 }), "duration_hours"),
        (json!({ "reason_note": "n".repeat(201) }), "reason_note"),
        (
            json!({ "to": { "area": "30", "address": "division, not thana" } }),
            "to.area",
        ),
        (json!({ "to": { "area": THANA_B, "address": "" } }), "to.address"),
        (
            json!({ "to": { "area": THANA_B, "address": "<script>" } }),
            "to.address",
        ),
        (
            json!({ "to": { "area": THANA_B, "address": "x", "lat": 51.5, "lon": 0.1 } }),
            "to.lat",
        ),
        (
            json!({ "vehicle": { "kind": "spaceship", "registration": "X1", "self_driven": true } }),
            "vehicle.kind",
        ),
        (
            json!({ "vehicle": { "kind": "car", "registration": "DHA;1234", "self_driven": true } }),
            "vehicle.registration",
        ),
        (
            json!({ "companions": [{ "name": "Baby", "relation": "son", "age": 121 }] }),
            "companions[0].age",
        ),
    ];
    for (patch, field) in cases {
        let mut v = valid_application_json();
        for (k, val) in patch.as_object().expect("object") {
            v[k] = val.clone();
        }
        let res = me
            .raw(Method::POST, "/api/v1/applications", JSON, body(&v))
            .await
            .expect("raw");
        let p = assert_problem(&res, 422, "validation_failed");
        let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [field], "{patch}");
    }
    // Every required field missing at once.
    let res = me
        .raw(Method::POST, "/api/v1/applications", JSON, body(&json!({})))
        .await
        .expect("raw");
    let p = assert_problem(&res, 422, "validation_failed");
    let fields: BTreeSet<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    let expected: BTreeSet<&str> = ["reason", "from", "to", "start", "duration_hours", "trip"]
        .into_iter()
        .collect();
    assert_eq!(fields, expected);

    // Profile rules.
    let res = me
        .raw(
            Method::PUT,
            "/api/v1/me/profile",
            JSON,
            body(&json!({
                "name": "", "date_of_birth": "2020-01-01", "gender": "X",
                "id_type": "NID", "id_number": "123", "home_area": "1"
            })),
        )
        .await
        .expect("raw");
    let p = assert_problem(&res, 422, "validation_failed");
    let fields: BTreeSet<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    for f in ["name", "date_of_birth", "gender", "id_number", "home_area"] {
        assert!(fields.contains(f), "{f} named in {p:?}");
    }

    // Starts a time cannot be computed from (the end, the curfew windows) are refused by
    // field, and the server still takes writes after them: such a start once panicked the
    // store's one writer, and every write after it failed until a restart.
    for start in [
        "9999-12-31T23:30:00Z",
        "0000-01-01T00:00:00+01:00",
        "2100-01-01T00:00:00Z",
    ] {
        let mut v = valid_application_json();
        v["start"] = json!(start);
        let res = me
            .raw(Method::POST, "/api/v1/applications", JSON, body(&v))
            .await
            .expect("raw");
        let p = assert_problem(&res, 422, "validation_failed");
        let fields: Vec<(&str, &str)> = p.errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(fields, [("start", "out_of_range")], "{start}");
    }
    me.set_language("bn").await.expect("a write after the refused starts");

    // A valid application without a profile is a conflict, not a validation error.
    let (fresh, _) = srv.client.login_dev(&phone(111)).await.expect("login");
    assert_api_error(
        fresh.submit(&default_application(), None).await,
        409,
        "profile_required",
    );
    assert!(me.applications(None, None).await.expect("list").items.is_empty());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_bad_tokens_and_unknown_routes() {
    let srv = TestServer::start().await;
    let (_, tokens) = srv.citizen(&phone(120)).await;
    let anon = &srv.client;

    let res = anon
        .raw(Method::GET, "/api/v1/me", None, Vec::new())
        .await
        .expect("raw");
    assert_problem(&res, 401, "unauthorized");
    assert_eq!(
        res.headers.get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    // A tampered signature, a garbage token, and a refresh token used as an access token.
    let mut tampered = tokens.access_token.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        "garbage",
        "a.b.c",
        tampered.as_str(),
        tokens.refresh_token.as_str(),
        &"x".repeat(10_000),
    ] {
        let res = anon
            .with_token(bad)
            .raw(Method::GET, "/api/v1/me", None, Vec::new())
            .await
            .expect("raw");
        assert_problem(&res, 401, "unauthorized");
        let res = anon
            .with_token(bad)
            .raw(
                Method::POST,
                "/api/v1/applications",
                JSON,
                body(&valid_application_json()),
            )
            .await
            .expect("raw");
        assert_problem(&res, 401, "unauthorized");
    }
    for path in ["/api/v1/applications", "/api/v1/me/profile"] {
        let method = if path.ends_with("profile") {
            Method::PUT
        } else {
            Method::GET
        };
        let res = anon.raw(method, path, None, Vec::new()).await.expect("raw");
        assert_problem(&res, 401, "unauthorized");
    }
    let me = anon.with_token(&tokens.access_token);
    me.me().await.expect("the real token works");

    // Unknown routes.
    for path in [
        "/api/v1/nope",
        "/nope",
        "/api/v2/applications",
        "/api/v1/passes/x/qr.gif",
    ] {
        let res = me.raw(Method::GET, path, None, Vec::new()).await.expect("raw");
        assert_problem(&res, 404, "not_found");
    }
    // Known paths with a method they do not take: problem+json, with what they take.
    for (method, path, allowed) in [
        (Method::DELETE, "/api/v1/areas", "GET"),
        (Method::PUT, "/api/v1/applications", "GET,POST"),
        (Method::PATCH, "/healthz", "GET"),
    ] {
        let res = me.raw(method.clone(), path, None, Vec::new()).await.expect("raw");
        assert_problem(&res, 405, "method_not_allowed");
        let allow = res.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut allow: Vec<&str> = allow.split(',').map(str::trim).filter(|m| *m != "HEAD").collect();
        allow.sort_unstable();
        assert_eq!(allow.join(","), allowed, "{method} {path}");
    }
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_query_strings_get_problem_json() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(125)).await;
    for path in [
        "/api/v1/applications?limit=-1",
        "/api/v1/applications?limit=ten",
        "/api/v1/applications?limit=101",
        "/api/v1/review/queue?limit=201",
        "/api/v1/dev/outbox?limit=501",
        "/api/v1/dev/outbox?limit=0",
        "/api/v1/applications?colour=red",
        "/api/v1/revocations?since=yesterday",
        "/api/v1/revocations?limit=0",
        "/api/v1/revocations?limit=10001",
    ] {
        let res = me.raw(Method::GET, path, None, Vec::new()).await.expect("raw");
        assert_eq!(res.status, 400, "{path}");
        let ct = res
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("application/problem+json"), "{path}: {ct}");
        assert!(res.problem().is_some(), "{path}");
    }
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_checked_by_content() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(130)).await;
    let gif = b"GIF89a\x40\x00\x40\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x40\x00\x40\x00\x00\x02\x02D\x01\x00;".to_vec();

    // Not an image, whatever the label says.
    for (bytes, ct) in [
        (gif.clone(), "image/png"),
        (gif.clone(), "image/jpeg"),
        (b"hello, I am a photo".to_vec(), "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n truncated".to_vec(), "image/png"),
    ] {
        let res = me
            .raw(Method::PUT, "/api/v1/me/photo", Some(ct), bytes)
            .await
            .expect("raw");
        let p = assert_problem(&res, 422, "validation_failed");
        assert_eq!(p.errors.len(), 1, "{p:?}");
        assert_eq!(p.errors[0].field, "photo");
    }
    // A GIF labelled as one is refused by its type.
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/gif"), gif)
        .await
        .expect("raw");
    assert_problem(&res, 415, "unsupported_media_type");
    // Too small (SPEC: a face must be recognisable).
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), png_photo(32, 32))
        .await
        .expect("raw");
    let p = assert_problem(&res, 422, "validation_failed");
    assert_eq!(p.errors[0].field, "photo");
    // Both languages say what is wrong: the size in pixels, not the file's type or weight.
    assert_eq!(p.errors[0].code, "photo_dimensions");
    assert!(p.errors[0].message.contains("8000 pixels"), "{p:?}");
    assert!(p.errors[0].message_bn.contains("পিক্সেল"), "{p:?}");
    // A real PNG mislabelled as JPEG is recognised by its content.
    let ok = me
        .put_photo(png_photo(64, 64), "image/jpeg")
        .await
        .expect("a PNG is a PNG");
    assert_eq!(ok["content_type"], "image/png");

    // Over 2 MiB: a PNG signature followed by padding, within the route's body limit.
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(2 * 1024 * 1024 + 1024, 0);
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), big)
        .await
        .expect("raw");
    assert_problem(&res, 413, "payload_too_large");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_body_past_the_route_limit_gets_413_problem_json() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(131)).await;
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(2 * 1024 * 1024 + 64 * 1024 + 1, 0);
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), huge)
        .await
        .expect("raw");
    assert_problem(&res, 413, "payload_too_large");
    srv.finish().await;
}

/// Reads the code the dev outbox holds for `phone`.
async fn code_for(client: &Client, phone: &str) -> String {
    eventually("a code in the dev outbox", Duration::from_secs(10), || async {
        client.dev_code(phone).await.expect("outbox")
    })
    .await
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_limits_hold() {
    let srv = TestServer::start().await;
    let anon = &srv.client;
    let p = phone(140);

    // One send per 60 s.
    anon.request_otp(&p).await.expect("first send");
    let res = anon
        .raw(Method::POST, "/api/v1/auth/otp", JSON, body(&json!({ "phone": p })))
        .await
        .expect("raw");
    let problem = assert_problem(&res, 429, "rate_limited");
    let retry = problem.retry_after.expect("retry_after");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(res.headers.get("retry-after").is_some());
    // The same phone in another spelling is the same phone.
    let e164 = format!("+880{}", &p[1..]);
    assert_api_error(anon.request_otp(&e164).await, 429, "rate_limited");

    // Five wrong codes burn it: the right one fails afterwards.
    let code = code_for(anon, &p).await;
    for _ in 0..5 {
        assert_api_error(anon.token(&p, &wrong(&code)).await, 422, "validation_failed");
    }
    assert_api_error(anon.token(&p, &code).await, 422, "validation_failed");

    // A code is good once.
    let q = phone(141);
    anon.request_otp(&q).await.expect("send");
    let code = code_for(anon, &q).await;
    anon.token(&q, &code).await.expect("right code");
    assert_api_error(anon.token(&q, &code).await, 422, "validation_failed");

    // Invalid phones, on both routes.
    for bad in ["12345", "01212345678", "0171234567", "+4412345678901", "০১৭১২৩৪৫৬৭৮"] {
        let res = anon
            .raw(Method::POST, "/api/v1/auth/otp", JSON, body(&json!({ "phone": bad })))
            .await
            .expect("raw");
        let problem = assert_problem(&res, 422, "validation_failed");
        assert_eq!(problem.errors[0].field, "phone", "{bad}");
        let res = anon
            .raw(
                Method::POST,
                "/api/v1/auth/token",
                JSON,
                body(&json!({ "phone": bad, "code": "123456" })),
            )
            .await
            .expect("raw");
        assert_problem(&res, 422, "validation_failed");
    }

    // Errors do not tell whether a phone is known: never-seen, known with a wrong code,
    // and a registered user with no code pending all get the same answer.
    let unknown = anon
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            JSON,
            body(&json!({ "phone": phone(149), "code": "123456" })),
        )
        .await
        .expect("raw");
    let pending = phone(142);
    anon.request_otp(&pending).await.expect("send");
    let code = code_for(anon, &pending).await;
    let known = anon
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            JSON,
            body(&json!({ "phone": pending, "code": wrong(&code) })),
        )
        .await
        .expect("raw");
    let registered = anon
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            JSON,
            body(&json!({ "phone": q, "code": "123456" })),
        )
        .await
        .expect("raw");
    let a = assert_problem(&unknown, 422, "validation_failed");
    assert_eq!(a.errors[0].field, "code");
    assert_eq!(assert_problem(&known, 422, "validation_failed"), a);
    assert_eq!(assert_problem(&registered, 422, "validation_failed"), a);
    assert_eq!(unknown.body, known.body);
    assert_eq!(unknown.body, registered.body);
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_sends_are_limited_per_address() {
    let srv = TestServer::start_with(|s| s.otp_per_ip_per_minute = 3).await;
    for i in 0..3 {
        srv.client.request_otp(&phone(160 + i)).await.expect("within the limit");
    }
    let res = srv
        .client
        .raw(
            Method::POST,
            "/api/v1/auth/otp",
            JSON,
            body(&json!({ "phone": phone(163) })),
        )
        .await
        .expect("raw");
    let p = assert_problem(&res, 429, "rate_limited");
    assert!(p.retry_after.is_some_and(|s| s >= 1));
    // Only sends are limited: the codes already sent still log in.
    let code = code_for(&srv.client, &phone(160)).await;
    srv.client.token(&phone(160), &code).await.expect("login");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_reuse_ends_the_family() {
    let srv = TestServer::start().await;
    let anon = &srv.client;
    let (_, t0) = anon.login_dev(&phone(170)).await.expect("login");

    let t1 = anon.refresh(&t0.refresh_token).await.expect("rotate");
    assert_ne!(t1.refresh_token, t0.refresh_token);
    assert_eq!(t1.token_type, "Bearer");
    srv.as_user(&t1.access_token).me().await.expect("new access token");
    let t2 = anon.refresh(&t1.refresh_token).await.expect("rotate again");

    // The old one is refused, and its reuse revokes the newest one too.
    assert_api_error(anon.refresh(&t0.refresh_token).await, 401, "unauthorized");
    assert_api_error(anon.refresh(&t2.refresh_token).await, 401, "unauthorized");
    // Garbage.
    assert_api_error(anon.refresh("nonsense").await, 401, "unauthorized");
    assert_api_error(anon.refresh(&"r".repeat(500)).await, 401, "unauthorized");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_refresh_token() {
    let srv = TestServer::start().await;
    let anon = &srv.client;
    let (me, t) = anon.login_dev(&phone(180)).await.expect("login");
    assert_api_error(anon.logout(Some(&t.refresh_token)).await, 401, "unauthorized");
    me.logout(Some(&t.refresh_token)).await.expect("204");
    assert_api_error(anon.refresh(&t.refresh_token).await, 401, "unauthorized");

    // Logout without a body ends every session of the caller.
    let (other, u) = anon.login_dev(&phone(181)).await.expect("login");
    let u2 = anon.refresh(&u.refresh_token).await.expect("rotate");
    other.logout(None).await.expect("204");
    assert_api_error(anon.refresh(&u2.refresh_token).await, 401, "unauthorized");
    srv.finish().await;
}
