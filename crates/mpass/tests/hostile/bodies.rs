//! Bad bodies and query strings: malformed, mistyped, oversized, unknown; every bad field named.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::{JSON, body, valid_application_json};

/// The problem names `field` as the one value at fault, with `code`, in both languages.
fn assert_field(p: &mpass_client::Problem, field: &str, code: &str) {
    let [e] = &p.errors[..] else {
        panic!("one field named: {p:?}");
    };
    assert_eq!((e.field.as_str(), e.code.as_str()), (field, code), "{p:?}");
    assert!(!e.message.is_empty() && !e.message_bn.is_empty(), "{e:?}");
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
    assert_field(&p, "priority", "unknown_field");
    let mut nested = valid_application_json();
    nested["from"]["floor"] = json!(3);
    let res = me.raw(Method::POST, apps, JSON, body(&nested)).await.expect("raw");
    assert_field(
        &assert_problem(&res, 400, "invalid_json"),
        "from.floor",
        "unknown_field",
    );
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
    assert_field(
        &assert_problem(&res, 400, "invalid_json"),
        "duration_hours",
        "invalid_type",
    );
    // A missing field is named, at any depth: by the form's validation where it has its
    // own rule (an application), by the parse where not (a login).
    let mut missing = valid_application_json();
    missing["to"].as_object_mut().expect("to").remove("area");
    let res = me.raw(Method::POST, apps, JSON, body(&missing)).await.expect("raw");
    assert_field(&assert_problem(&res, 422, "validation_failed"), "to.area", "required");
    let res = srv
        .client
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            JSON,
            body(&json!({ "phone": phone(101) })),
        )
        .await
        .expect("raw");
    assert_field(&assert_problem(&res, 400, "invalid_json"), "code", "required");

    // An array where an object belongs is refused, though serde would read the fields from
    // it in order; and no answer names a Rust type.
    let mut in_order = vec![];
    for (_, v) in valid_application_json().as_object().expect("object") {
        in_order.push(v.clone());
    }
    let res = me
        .raw(Method::POST, apps, JSON, body(&json!(in_order)))
        .await
        .expect("raw");
    let p = assert_problem(&res, 400, "invalid_json");
    assert!(p.detail.contains("expected a JSON object"), "{}", p.detail);
    let mut from_in_order = valid_application_json();
    from_in_order["from"] = json!([THANA_A, "House 1"]);
    let res = me
        .raw(Method::POST, apps, JSON, body(&from_in_order))
        .await
        .expect("raw");
    assert_field(&assert_problem(&res, 400, "invalid_json"), "from", "invalid_type");
    let otp = json!([phone(102), null]);
    let res = srv
        .client
        .raw(Method::POST, "/api/v1/auth/otp", JSON, body(&otp))
        .await
        .expect("raw");
    let p = assert_problem(&res, 400, "invalid_json");
    assert!(!p.detail.contains("struct"), "{}", p.detail);
    for null_body in ["/api/v1/applications", "/api/v1/auth/otp"] {
        let client = if null_body == apps { &me } else { &srv.client };
        let res = client
            .raw(Method::POST, null_body, JSON, b"null".to_vec())
            .await
            .expect("raw");
        let p = assert_problem(&res, 400, "invalid_json");
        assert!(
            p.detail.contains("expected a JSON object") && !p.detail.contains("struct"),
            "{}",
            p.detail
        );
    }
    // No login code went to the phone the array named: one may be asked for now, where a
    // second within a minute would be refused.
    srv.client
        .request_otp(&phone(102))
        .await
        .expect("the first code for this phone");

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
