//! Missing or bad tokens and unknown routes; the OTP limits; refresh-token rotation and logout.

use std::time::Duration;

use mpass_client::Client;
use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::{JSON, body, valid_application_json};

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
    // Typed in Bangla digits too, as the login page takes it.
    let bangla: String = p
        .chars()
        .map(|c| char::from_u32(u32::from('০') + c.to_digit(10).expect("digit")).expect("Bangla digit"))
        .collect();
    assert_api_error(anon.request_otp(&bangla).await, 429, "rate_limited");

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
    for bad in ["12345", "01212345678", "0171234567", "+4412345678901", "০১২১২৩৪৫৬৭৮"] {
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
