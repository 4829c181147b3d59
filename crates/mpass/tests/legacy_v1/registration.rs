//! Photo uploads, registration and login, with their error cases.

use reqwest::{Method, StatusCode};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::common::*;
use crate::{assert_errors, legacy, legacy_server, registered, registration, uploaded_photo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_upload_rules() {
    let server = legacy_server().await;
    let c = legacy(&server);
    assert_errors(&c.photo_url("image/gif", "a.gif").await.unwrap(), 400, "contentType");
    assert_errors(&c.photo_url("image/png", "a.jpg").await.unwrap(), 400, "does not match");
    assert_errors(&c.photo_url("image/png", "a.exe").await.unwrap(), 400, "filename");
    let res = c
        .call(
            Method::POST,
            "/v1/identity/photo",
            Some(&json!({"contentType": "image/png", "filename": "a.png", "x": 1})),
            false,
        )
        .await
        .unwrap();
    assert_errors(&res, 400, "unknown field");

    let res = c.photo_url("image/jpeg", "me.JPEG").await.unwrap();
    assert_eq!(res.status, StatusCode::OK);
    let url = res.body["url"].as_str().unwrap().to_string();
    assert!(res.body["filename"].as_str().unwrap().ends_with(".jpeg"));
    // Wrong type stated on the PUT, a PNG where a JPEG was stated, not an image at all.
    assert_errors(
        &c.upload(&url, "image/png", png_photo(80, 80)).await.unwrap(),
        415,
        "image/jpeg",
    );
    assert_errors(
        &c.upload(&url, "image/jpeg", png_photo(80, 80)).await.unwrap(),
        415,
        "not image/jpeg",
    );
    assert_errors(
        &c.upload(&url, "image/jpeg", b"not an image".to_vec()).await.unwrap(),
        400,
        "not acceptable",
    );
    // Too large.
    // On a connection of its own: the server answers before reading the body and closes
    // the connection, which must not be one the next request reuses.
    let res = reqwest::Client::new()
        .put(&url)
        .header("content-type", "image/jpeg")
        .body(vec![0xFF; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A tampered signature, a moved expiry, a missing signature.
    let mut bad = url.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert_errors(
        &c.upload(&bad, "image/png", png_photo(80, 80)).await.unwrap(),
        403,
        "signature",
    );
    let exp: i64 = url
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let moved = url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
    assert_errors(
        &c.upload(&moved, "image/jpeg", png_photo(80, 80)).await.unwrap(),
        403,
        "signature",
    );
    assert_errors(
        &c.upload(url.split('?').next().unwrap(), "image/jpeg", png_photo(80, 80))
            .await
            .unwrap(),
        403,
        "signature",
    );

    // One use: a second PUT of a good image to a used URL is refused.
    let res = c.photo_url("image/png", "x.png").await.unwrap();
    let url = res.body["url"].as_str().unwrap().to_string();
    assert_eq!(
        c.upload(&url, "image/png", png_photo(80, 80)).await.unwrap().status,
        StatusCode::OK
    );
    assert_errors(
        &c.upload(&url, "image/png", png_photo(80, 80)).await.unwrap(),
        409,
        "already used",
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_login_rules() {
    let server = legacy_server().await;
    let mut c = legacy(&server);
    let photo = uploaded_photo(&c).await;

    let mut bad = registration("01912345678", &photo);
    bad["mobilePhone"] = json!("+8801912345678");
    bad["district"] = json!(1076);
    bad["thana"] = json!(10000);
    bad["dateOfBirth"] = json!((OffsetDateTime::now_utc().date() - Duration::days(365 * 10)).to_string());
    bad["gender"] = json!("X");
    bad["idType"] = json!("XX");
    let res = c.register(&bad).await.unwrap();
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.errors().len() >= 6, "{:?}", res.errors());
    for field in ["mobilePhone", "district", "thana", "dateOfBirth", "gender", "idType"] {
        assert_errors(&res, 400, field);
    }
    // The photo must be an upload on this server.
    let mut foreign = registration(
        "01912345678",
        "https://evil.example/v1/uploads/0123456789abcdef0123456789abcdef.png",
    );
    assert_errors(&c.register(&foreign).await.unwrap(), 400, "photo");
    let never = format!(
        "{}/v1/uploads/0123456789abcdef0123456789abcdef.png",
        server.client.base()
    );
    foreign["photo"] = json!(never);
    assert_errors(&c.register(&foreign).await.unwrap(), 400, "photo");

    let res = c.register(&registration("01912345678", &photo)).await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    let dup = c.register(&registration("01912345678", &photo)).await.unwrap();
    assert_errors(&dup, 400, "Mobile phone is already registered!");

    // Login: wrong date of birth, unknown phone, wrong form → the same answer.
    assert_errors(
        &c.login("01912345678", "04071985").await.unwrap(),
        400,
        "Invalid credentials!",
    );
    assert_errors(
        &c.login("01512345678", "03071985").await.unwrap(),
        400,
        "Invalid credentials!",
    );
    assert_errors(
        &c.login("01912345678", "1985-07-03").await.unwrap(),
        400,
        "Invalid credentials!",
    );
    // Failed logins are limited per phone: 5 a minute, then 429 even for the right answer.
    let mut limited = None;
    for _ in 0..6 {
        let res = c.login("01912345678", "01011970").await.unwrap();
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let limited = limited.expect("failed logins are rate limited");
    assert!(!limited.errors().is_empty());
    assert_eq!(
        c.login("01912345678", "03071985").await.unwrap().status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another phone is not affected.
    let other = registered(&server, "01912345679").await;
    let mut other = other;
    assert_eq!(
        other.login("01912345679", "03071985").await.unwrap().status,
        StatusCode::OK
    );
    server.finish().await;
}

/// `POST /v1/identity/login` for `phone` and `dob`, through a proxy that says the client
/// is `forwarded` when given; the status and `Retry-After` (seconds) of the answer.
async fn login_answer(
    server: &TestServer,
    phone: &str,
    dob: &str,
    forwarded: Option<&str>,
) -> (StatusCode, Option<i64>) {
    let url = format!("{}/v1/identity/login", server.client.base());
    let mut req = reqwest::Client::new()
        .post(url)
        .json(&json!({ "mobilePhone": phone, "dateOfBirth": dob }));
    if let Some(from) = forwarded {
        req = req.header("x-forwarded-for", from);
    }
    let res = req.send().await.unwrap();
    let wait = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (res.status(), wait)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_for_the_day() {
    let server = TestServer::start_with(|s| {
        s.compat_v1 = true;
        s.legacy_failed_logins_per_phone_per_day = 3;
    })
    .await;
    let mut c = registered(&server, "01912345670").await;
    let login = |dob: &'static str| login_answer(&server, "01912345670", dob, None);
    // Successes do not count: a failure, two successes, then two more failures make
    // three, within this node's 5 a minute.
    assert_eq!(login("04071985").await.0, StatusCode::BAD_REQUEST);
    for _ in 0..2 {
        assert_eq!(login("03071985").await.0, StatusCode::OK);
    }
    for _ in 0..2 {
        assert_eq!(login("04071985").await.0, StatusCode::BAD_REQUEST);
    }
    // The day's three are used: the right date of birth is refused too, until tomorrow.
    let (status, wait) = login("03071985").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait = wait.expect("Retry-After");
    let to_midnight = 86_400 - OffsetDateTime::now_utc().unix_timestamp().rem_euclid(86_400);
    assert!(
        (to_midnight..=to_midnight + 5).contains(&wait),
        "Retry-After {wait}, {to_midnight} s to midnight UTC"
    );
    assert_eq!(
        c.login("01912345670", "03071985").await.unwrap().status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another phone is not affected.
    let mut other = registered(&server, "01912345671").await;
    assert_eq!(
        other.login("01912345671", "03071985").await.unwrap().status,
        StatusCode::OK
    );
    server.finish().await;
}

/// Behind the operator's own proxy (`trust_forwarded_for`) the client is the rightmost
/// `X-Forwarded-For` address, and an IPv6 client counts by its /64: sixty failed logins
/// from one /64, each from a fresh address and for a fresh phone, and the next is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_ipv6_slash_64_count_together() {
    let server = TestServer::start_with(|s| {
        s.compat_v1 = true;
        s.trust_forwarded_for = true;
    })
    .await;
    let attempt = |n: u32, forwarded: String| {
        let server = &server;
        async move {
            let phone = format!("01711{n:06}");
            login_answer(server, &phone, "01011990", Some(&forwarded)).await.0
        }
    };
    for n in 0..60 {
        let from = format!("198.51.100.9, 2001:db8:7:7:{n:x}::1");
        assert_eq!(attempt(n, from).await, StatusCode::BAD_REQUEST, "attempt {n}");
    }
    assert_eq!(
        attempt(60, "2001:db8:7:7:ffff::1".into()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a fresh address in the same /64"
    );
    // The entries left of the proxy's are the client's own word, and not trusted.
    assert_eq!(
        attempt(61, "2001:db8:7:8::1, 2001:db8:7:7::5".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(62, "2001:db8:7:8::1".into()).await,
        StatusCode::BAD_REQUEST,
        "another /64"
    );
    server.finish().await;
}
