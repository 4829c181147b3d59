//! The earlier web client's requests, replayed as it sends them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::common::*;
use crate::{legacy_server, payload};

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
