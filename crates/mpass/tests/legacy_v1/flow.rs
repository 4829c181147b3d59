//! The switch, the whole legacy flow, CORS, and a legacy and a native client of one phone.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;
use crate::{assert_errors, legacy, legacy_server, pass_body, payload, registered, registration, uploaded_photo};

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
