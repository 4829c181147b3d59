//! The legacy `/v1` API (SPEC §12) against a real server started with `compat_v1`: every
//! route with its error cases, CORS, the full legacy flow (photo, register, login, apply,
//! list, detail), pagination, and a legacy and a native client of one phone seeing the
//! same applications. Without the switch, `/v1` does not exist.

#[path = "../common/mod.rs"]
mod common;

use base64::Engine;
use common::*;
use mpass_client::legacy::{LegacyClient, LegacyResponse};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

async fn legacy_server() -> TestServer {
    TestServer::start_with(|s| s.compat_v1 = true).await
}

fn legacy(server: &TestServer) -> LegacyClient {
    LegacyClient::new(server.client.base())
}

/// Uploads a real PNG through the pre-signed flow; returns the photo URL to register.
async fn uploaded_photo(c: &LegacyClient) -> String {
    let res = c.photo_url("image/png", "me.png").await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    let url = res.body["url"].as_str().unwrap().to_string();
    let filename = res.body["filename"].as_str().unwrap();
    assert!(url.contains(&format!("/v1/uploads/{filename}?")), "{url}");
    let put = c.upload(&url, "image/png", png_photo(80, 100)).await.unwrap();
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    url.split('?').next().unwrap().to_string()
}

fn registration(phone: &str, photo: &str) -> Value {
    json!({
        "name": "Karim Uddin", "mobilePhone": phone, "district": 1047, "thana": 10309,
        "dateOfBirth": "1985-07-03", "gender": "M", "idType": "NID",
        "idNumber": format!("19{:0>11}", &phone[2..]), "photo": photo
    })
}

/// A valid legacy application starting in `in_hours`, lasting `hours`.
fn pass_body(in_hours: i64, hours: i64) -> Value {
    let start = OffsetDateTime::now_utc() + Duration::hours(in_hours);
    json!({
        "fromLocation": "Mirpur 10", "toLocation": "Dhaka Medical College", "district": 1047,
        "thana": 10309, "dateTime": start.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "durationInHour": hours, "type": "R", "reason": "Medical", "includeVehicle": false
    })
}

async fn registered(server: &TestServer, phone: &str) -> LegacyClient {
    let mut c = legacy(server);
    let photo = uploaded_photo(&c).await;
    let res = c.register(&registration(phone, &photo)).await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    c
}

#[track_caller]
fn assert_errors(res: &LegacyResponse, status: u16, contains: &str) {
    assert_eq!(res.status.as_u16(), status, "{:?}", res.body);
    let errors = res.errors();
    assert!(
        errors.iter().any(|e| e.contains(contains)),
        "no error containing {contains:?} in {errors:?}"
    );
}

fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_switch_v1_does_not_exist() {
    let server = TestServer::start().await;
    let c = legacy(&server);
    for (method, path) in [
        (Method::GET, "/v1/passes"),
        (Method::POST, "/v1/identity/login"),
        (Method::POST, "/v1/identity/photo"),
    ] {
        let res = c.call(method, path, Some(&json!({})), false).await.unwrap();
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_legacy_flow() {
    let server = legacy_server().await;
    let mut c = registered(&server, "01812345678").await;
    let claims = payload(c.token.as_deref().unwrap());
    assert_eq!(claims["id"], "01812345678");
    assert_eq!(claims["name"], "Karim Uddin");
    assert!(claims["photo"].as_str().unwrap().contains("/v1/uploads/"));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    assert_eq!(claims["iss"], "mpass");
    assert_eq!(claims["aud"], "mpass-v1");

    // Log in again with the date of birth as DDMMYYYY.
    c.token = None;
    let res = c.login("01812345678", "03071985").await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["type"], "bearer");

    let res = c.apply(&pass_body(2, 3)).await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body, json!({ "success": true }));

    // Listed at once (durably stored), then decided by our policy within 15 seconds.
    let list = c.passes(None).await.unwrap();
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["passes"].as_array().unwrap().len(), 1);
    assert!(list.body.get("nextKey").is_none());
    let item = eventually("the legacy application decided", DECIDE_TIMEOUT, || async {
        let list = c.passes(None).await.unwrap();
        let item = list.body["passes"][0].clone();
        (item["status"] != "APPLIED").then_some(item)
    })
    .await;
    assert_eq!(item["status"], "APPROVED", "{item}");
    let id = item["id"].as_str().unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(item["fromLocation"], "Mirpur 10");
    assert_eq!(item["district"], 1047);
    assert_eq!(item["thana"], 10309);
    assert_eq!(item["type"], "R");
    assert_eq!(item["reason"], "Medical");
    assert_eq!(item["includeVehicle"], false);
    for field in ["startAt", "endAt", "createdAt"] {
        let t = item[field].as_str().unwrap();
        assert!(
            t.ends_with('Z') && t.len() == 24 && t.as_bytes()[19] == b'.',
            "{field}: {t}"
        );
    }

    let detail = c.pass(id).await.unwrap();
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(detail.body["id"], id);
    assert_eq!(detail.body["applicant"]["name"], "Karim Uddin");
    assert_eq!(detail.body["applicant"]["mobilePhone"], "01812345678");
    assert_eq!(detail.body["applicant"]["thana"], 10309);
    assert_eq!(detail.body["applicant"]["approvedCount"], 1);
    // The photo URL shows the photo (the legacy client puts it in an <img>).
    let photo = reqwest::get(detail.body["applicant"]["photo"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(photo.status(), 200);
    assert!(photo.headers()["content-type"].to_str().unwrap().starts_with("image/"));
    assert!(!photo.bytes().await.unwrap().is_empty());

    // The same application natively: a real signed pass, issued by our policy.
    let native = server.client.login_dev("01812345678").await.unwrap().0;
    let apps = native.applications(None, None).await.unwrap();
    assert_eq!(apps.items.len(), 1);
    let app = &apps.items[0];
    assert_eq!(app.id.replace('-', ""), id);
    // Legacy thana 10309 (Khulna, "Paikgasa") is our Paikgachha: the destination, and the
    // origin too (the home thana of the registration).
    assert_eq!((app.to.area.as_str(), app.from.area.as_str()), ("40470064", "40470064"));
    let pass = native.pass(app.pass_id.as_deref().expect("a pass")).await.unwrap();
    assert!(pass.qr_text.starts_with("MP1:"));
    server.finish().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_rules_and_tokens() {
    let server = legacy_server().await;
    let c = registered(&server, "01712000001").await;
    let anon = legacy(&server);

    // 403 without a token or with a malformed header, 401 with a bad one.
    assert_errors(&anon.passes(None).await.unwrap(), 403, "token");
    let mut body = pass_body(2, 3);
    assert_errors(
        &anon.call(Method::POST, "/v1/passes", Some(&body), false).await.unwrap(),
        403,
        "token",
    );
    let res = reqwest::Client::new()
        .get(format!("{}/v1/passes", server.client.base()))
        .header("authorization", "Token abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut forged = anon.clone();
    forged.token = Some("a.b.c".into());
    assert_errors(&forged.passes(None).await.unwrap(), 401, "token");
    assert_errors(&forged.apply(&body).await.unwrap(), 401, "token");
    // A native access token is not a legacy token, and the other way round.
    let (_, native_tokens) = server.client.login_dev("01712000002").await.unwrap();
    let mut native_as_legacy = anon.clone();
    native_as_legacy.token = Some(native_tokens.access_token.clone());
    assert_eq!(
        native_as_legacy.passes(None).await.unwrap().status,
        StatusCode::UNAUTHORIZED
    );
    let legacy_as_native = server.client.with_token(c.token.as_deref().unwrap());
    assert_api_error(legacy_as_native.me().await, 401, "unauthorized");
    // The token also works as a Bearer header on POST.
    let res = c.call(Method::POST, "/v1/passes", Some(&body), true).await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);

    // Every bad field named, nothing stored (the original answered success and dropped it).
    body["fromLocation"] = json!("x".repeat(65));
    body["district"] = json!(1000);
    body["thana"] = json!(10627);
    body["dateTime"] = json!("tomorrow");
    body["durationInHour"] = json!(0);
    body["type"] = json!("B");
    body["includeVehicle"] = json!(true);
    let res = c.apply(&body).await.unwrap();
    for field in [
        "fromLocation",
        "district",
        "thana",
        "dateTime",
        "durationInHour",
        "type",
        "vehicleNo",
    ] {
        assert_errors(&res, 400, field);
    }
    assert_errors(&c.apply(&pass_body(25, 2)).await.unwrap(), 400, "24 hours");
    assert_errors(
        &c.apply(
            &pass_body(2, 3)
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("extra".into(), json!(1));
                    Value::Object(o)
                })
                .unwrap(),
        )
        .await
        .unwrap(),
        400,
        "unknown field",
    );
    // A vehicle with a driver. A plate in the long form the old client allowed (64) is
    // refused by our rule (it travels in the QR), under the legacy field name.
    let mut v = pass_body(3, 2);
    v["includeVehicle"] = json!(true);
    v["vehicleNo"] = json!("Dhaka Metro-Ga 11-1234");
    v["selfDriven"] = json!(true);
    assert_errors(
        &c.apply(&v).await.unwrap(),
        400,
        "vehicleNo: Use the compact Latin form",
    );
    v["vehicleNo"] = json!("DHAKA-GA-11-1234");
    v["selfDriven"] = json!(false);
    assert_errors(&c.apply(&v).await.unwrap(), 400, "driverName");
    v["driverName"] = json!("Rafiq");
    v["driverLicenseNo"] = json!("DK0123456");
    assert_eq!(c.apply(&v).await.unwrap().status, StatusCode::OK);

    let list = c.passes(None).await.unwrap();
    let passes = list.body["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 2, "only the two valid applications were stored");
    let with_vehicle = passes.iter().find(|p| p["includeVehicle"] == true).unwrap();
    assert_eq!(with_vehicle["vehicleNo"], "DHAKA-GA-11-1234");
    assert_eq!(with_vehicle["selfDriven"], false);
    assert_eq!(with_vehicle["driverName"], "Rafiq");
    assert_eq!(with_vehicle["driverLicenseNo"], "DK0123456");

    // Someone else's pass and nonsense ids are 404.
    let other = registered(&server, "01712000003").await;
    let id = passes[0]["id"].as_str().unwrap();
    assert_errors(&other.pass(id).await.unwrap(), 404, "Not found");
    assert_errors(&c.pass("nothex").await.unwrap(), 404, "Not found");
    assert_errors(&c.pass(&"0".repeat(32)).await.unwrap(), 404, "Not found");
    // Query: both parts of nextKey or none.
    assert_errors(
        &c.call(Method::GET, "/v1/passes?id=abc", None, true).await.unwrap(),
        400,
        "nextKey",
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_25_newest_end_first() {
    let server = legacy_server().await;
    let c = registered(&server, "01712000010").await;
    // 27 applications with distinct ends: start in 1..=9 hours, last 1..=3 hours.
    let mut bodies = Vec::new();
    for i in 0..27 {
        bodies.push(pass_body(1 + i % 9, 1 + i / 9));
    }
    for b in &bodies {
        assert_eq!(c.apply(b).await.unwrap().status, StatusCode::OK);
    }
    let first = c.passes(None).await.unwrap();
    let page1 = first.body["passes"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 25);
    let key = first.body["nextKey"].clone();
    assert_eq!(key["id"], page1[24]["id"]);
    assert_eq!(key["endAt"], page1[24]["endAt"]);
    let second = c.passes(Some(&key)).await.unwrap();
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    let page2 = second.body["passes"].as_array().unwrap().clone();
    assert_eq!(page2.len(), 2, "{page2:?}");
    assert!(second.body.get("nextKey").is_none());
    let all: Vec<&Value> = page1.iter().chain(page2.iter()).collect();
    let ends: Vec<(&str, &str)> = all
        .iter()
        .map(|p| (p["endAt"].as_str().unwrap(), p["id"].as_str().unwrap()))
        .collect();
    let mut sorted = ends.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ends, sorted, "newest endAt first");
    let distinct: std::collections::HashSet<_> = ends.iter().map(|e| e.1).collect();
    assert_eq!(distinct.len(), 27);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_for_any_origin() {
    let server = legacy_server().await;
    let http = reqwest::Client::new();
    let res = http
        .request(Method::OPTIONS, format!("{}/v1/passes", server.client.base()))
        .header("origin", "https://legacy.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    for m in ["GET", "POST", "PUT", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    // The legacy web client sends Cache-Control with its photo PUT.
    assert!(headers.contains("cache-control"), "{headers}");
    assert_eq!(h["access-control-max-age"], "86400");
    // Preflight of the upload route too, and the header on ordinary answers (errors included).
    let res = http
        .request(Method::OPTIONS, format!("{}/v1/uploads/x.png", server.client.base()))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let res = http
        .get(format!("{}/v1/passes", server.client.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // A method the route does not take: the legacy envelope, with the CORS header too.
    let res = http
        .delete(format!("{}/v1/passes", server.client.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "errors": ["Method not allowed"] }));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_native_clients_of_one_phone_see_the_same_applications() {
    let server = legacy_server().await;
    let phone = "01712000020";
    // A native citizen (OTP login, profile born 1990-04-12) applies natively...
    let (native, _) = server.citizen(phone).await;
    let native_app = native.submit(&default_application(), None).await.unwrap();
    // ...then logs in through the legacy API with phone + date of birth and applies there.
    let mut old = legacy(&server);
    let res = old.login(phone, "12041990").await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(old.apply(&pass_body(2, 2)).await.unwrap().status, StatusCode::OK);
    // A legacy registration of that phone is refused: it is registered.
    let photo = uploaded_photo(&old).await;
    assert_errors(
        &old.register(&registration(phone, &photo)).await.unwrap(),
        400,
        "Mobile phone is already registered!",
    );

    let legacy_ids: std::collections::BTreeSet<String> = old.passes(None).await.unwrap().body["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let native_ids: std::collections::BTreeSet<String> = native
        .applications(None, None)
        .await
        .unwrap()
        .items
        .iter()
        .map(|a| a.id.replace('-', ""))
        .collect();
    assert_eq!(legacy_ids.len(), 2);
    assert_eq!(legacy_ids, native_ids);
    assert!(legacy_ids.contains(&native_app.id.replace('-', "")));
    // The native application reads in legacy words: its address as location, and legacy
    // numbers the old client can show. Its destination, Dhaka South City Corporation, has
    // no legacy thana: the nearest mapped one of Dhaka district (10144 Keranigonj); the
    // profile's home, Dhamrai, is legacy 10142.
    let item = old.pass(&native_app.id.replace('-', "")).await.unwrap();
    assert_eq!(item.status, StatusCode::OK);
    assert_eq!(item.body["fromLocation"], "House 12, Road 4");
    assert_eq!(item.body["reason"], "Medical", "the category's label");
    assert_eq!(
        (item.body["district"].clone(), item.body["thana"].clone()),
        (json!(1016), json!(10144))
    );
    let applicant = &item.body["applicant"];
    assert_eq!(
        (applicant["district"].clone(), applicant["thana"].clone()),
        (json!(1016), json!(10142))
    );
    server.finish().await;
}

/// The earlier web client's requests as its `src/api.js` and pages send them — headers,
/// body shapes, the photo URL it builds from `REACT_APP_PHOTOS_DOMAIN` — and what its code
/// then reads from the answers (docs/LEGACY_V1.md, where it was run in Chromium). Its list
/// and detail pages look every `district`/`thana` up in their location list and fail on a
/// number that is not there, so those must be legacy numbers of one district, native
/// applications included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_requests_as_it_sends_them() {
    use mpass_domain::legacy::{legacy_district, legacy_thana};
    const ORIGIN: &str = "http://127.0.0.1:3000";
    let server = legacy_server().await;
    let base = server.client.base().trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    // api.js `req`: Accept always; Bearer once logged in; a JSON body as `application/json;charset=utf-8`.
    let call = |method: Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut rb = http
            .request(method, format!("{base}/v1{path}"))
            .header("accept", "application/json")
            .header("origin", ORIGIN);
        if let Some(t) = token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json;charset=utf-8")
                .body(b.to_string());
        }
        async move {
            let res = rb.send().await.unwrap();
            assert_eq!(res.headers()["access-control-allow-origin"], "*");
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // uploadPhoto: the pre-signed URL, then the PUT with the file's type and a Cache-Control.
    let (status, photo) = call(
        Method::POST,
        "/identity/photo",
        None,
        Some(json!({ "contentType": "image/png", "filename": "photo.png" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    let put = http
        .put(photo["url"].as_str().unwrap())
        .header("origin", ORIGIN)
        .header("content-type", "image/png")
        .header("cache-control", "private,max-age=31536000,must-revalidate")
        .body(png_photo(256, 256))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(put.headers()["access-control-allow-origin"], "*");
    // REACT_APP_PHOTOS_DOMAIN is set to {base}/v1/uploads.
    let photo_url = format!("{base}/v1/uploads/{}", photo["filename"].as_str().unwrap());

    // Register.js: the form's fields, the date as YYYY-MM-DD, the ids of the chosen entries.
    let phone = "01712000030";
    let (status, reg) = call(
        Method::POST,
        "/identity/register",
        None,
        Some(json!({
            "name": "Rahima Begum", "mobilePhone": phone, "district": 1071, "thana": 10595,
            "dateOfBirth": "1990-11-15", "gender": "F", "idType": "NID", "idNumber": "1990712000030",
            "photo": photo_url
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reg}");
    // getUser() decodes the token: exp, id, name, photo (the avatar on its home page).
    let claims = payload(reg["token"].as_str().unwrap());
    assert_eq!(
        (claims["id"].as_str(), claims["name"].as_str()),
        (Some(phone), Some("Rahima Begum"))
    );
    assert_eq!(claims["photo"], photo_url.as_str());
    assert!(claims["exp"].as_i64().unwrap() > OffsetDateTime::now_utc().unix_timestamp());
    let avatar = http.get(&photo_url).send().await.unwrap();
    assert_eq!(avatar.headers()["content-type"], "image/png");

    // Login.js: the date of birth typed as DDMMYYYY.
    let (status, login) = call(
        Method::POST,
        "/identity/login",
        None,
        Some(json!({ "mobilePhone": phone, "dateOfBirth": "15111990" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap().to_string();

    // Apply.js without a vehicle: selfDriven false, no vehicle fields, dateTime from
    // toISOString(), the token in the body (and the Bearer header, as req() adds it).
    let start = OffsetDateTime::now_utc() + Duration::hours(4);
    let (status, applied) = call(
        Method::POST,
        "/passes",
        Some(&token),
        Some(json!({
            "fromLocation": "House 12, Road 3, Golapganj", "toLocation": "MAG Osmani Medical College",
            "district": 1072, "thana": 10603, "dateTime": iso_ms(start), "durationInHour": 3,
            "type": "R", "reason": "Treatment", "includeVehicle": false, "selfDriven": false, "token": token
        })),
    )
    .await;
    assert_eq!((status, applied), (StatusCode::OK, json!({ "success": true })));
    // The same phone applies natively too.
    let (native, _) = server.client.login_dev(phone).await.unwrap();
    native.submit(&default_application(), None).await.unwrap();

    // List.js and View.js: numbers they can look up, the fields they show.
    let (status, list) = call(Method::GET, "/passes", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let passes = list["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 2);
    let shows = |district: &Value, thana: &Value| {
        let (d, t) = (district.as_u64().unwrap() as u32, thana.as_u64().unwrap() as u32);
        assert!(
            legacy_district(d).is_some() && legacy_thana(t).unwrap().district == d,
            "{d}/{t}"
        );
    };
    for p in passes {
        shows(&p["district"], &p["thana"]);
        assert!(["R", "O"].contains(&p["type"].as_str().unwrap()), "{p}");
        let (status, detail) = call(
            Method::GET,
            &format!("/passes/{}", p["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        let applicant = &detail["applicant"];
        shows(&applicant["district"], &applicant["thana"]);
        assert_eq!(
            (applicant["district"].clone(), applicant["thana"].clone()),
            (json!(1071), json!(10595))
        );
        assert!(["NID", "DL", "PP", "BR", "EID", "SID"].contains(&applicant["idType"].as_str().unwrap()));
        assert_eq!(applicant["id"], phone);
        assert!(applicant["approvedCount"].is_u64() && applicant["dateOfBirth"] == "1990-11-15");
    }
    let legacy_item = passes
        .iter()
        .find(|p| p["thana"] == 10603)
        .expect("the legacy application");
    assert_eq!(legacy_item["reason"], "Treatment");
    server.finish().await;
}

/// `Date.prototype.toISOString()`: UTC, milliseconds, `Z`.
fn iso_ms(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
