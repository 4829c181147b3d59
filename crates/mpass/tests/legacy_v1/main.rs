//! The legacy `/v1` API (SPEC §12) against a real server started with `compat_v1`: every
//! route with its error cases, CORS, the full legacy flow (photo, register, login, apply,
//! list, detail), pagination, and a legacy and a native client of one phone seeing the
//! same applications. Without the switch, `/v1` does not exist.

#[path = "../common/mod.rs"]
mod common;

mod flow;
mod passes;
mod registration;
mod web_client;

use base64::Engine;
use common::*;
use mpass_client::legacy::{LegacyClient, LegacyResponse};
use reqwest::StatusCode;
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
