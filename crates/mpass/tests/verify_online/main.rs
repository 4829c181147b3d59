//! Online verification by police (SPEC §8, issue 6): `POST /api/v1/verify` catches
//! forged, altered, expired, not-yet-valid, revoked, wrong-key and compromised-key passes
//! (and so do the CLI and the independent Python verifier), shows only the minimal holder data, looks
//! up short codes, checks the checkpoint against the route, flags impossible travel,
//! accepts offline scans idempotently, enforces roles and survives hostile input.

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use common::police::*;
use common::*;
use mpass::keys::KeysCommand;
use mpass_client::{CheckpointBody, Client, OfflineScanBody, PositionBody, Verdict, VerifyBody};
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

/// Dhaka Zero Point (Dhaka district, where THANA_A and THANA_B are) and Chattogram,
/// about 215 km apart.
const DHAKA: (f64, f64) = (23.7286, 90.4106);
const CHATTOGRAM: (f64, f64) = (22.3350, 91.8325);

fn qr(text: &str) -> VerifyBody {
    VerifyBody {
        qr_text: Some(text.to_string()),
        ..VerifyBody::default()
    }
}

async fn verify(police: &Client, body: &VerifyBody) -> Verdict {
    police.verify(body).await.expect("a verdict")
}

async fn raw_verify(who: &Client, body: &str) -> mpass_client::RawResponse {
    who.raw(
        Method::POST,
        "/api/v1/verify",
        Some("application/json"),
        body.as_bytes().to_vec(),
    )
    .await
    .expect("raw request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_catches_every_bad_pass_and_the_python_verifier_agrees() {
    let srv = TestServer::start().await;
    let base = srv.client.base().trim_end_matches('/').to_string();
    let (holder, _) = srv.citizen(&phone(80)).await;
    let pass = pass_valid_now(&holder).await;
    let police = staff(&srv, 81, "police").await;
    let admin = staff(&srv, 82, "admin").await;
    let claims = claims_of(&srv, &pass.qr_text).await;
    let trust_file = srv.dir.path().join("trust.json");
    std::fs::write(&trust_file, srv.client.trust_list().await.expect("trust").to_string()).expect("write");

    // Genuine: green, with exactly the holder data of SPEC §8 and the current status.
    let v = verify(&police, &qr(&pass.qr_text)).await;
    assert_eq!((v.result.as_str(), v.codes()), ("green", vec!["valid"]), "{v:?}");
    assert_eq!(v.status.as_deref(), Some("active"));
    let p = v.pass.as_ref().expect("holder data");
    assert_eq!(p.id, pass.id);
    assert_eq!(
        (p.holder_name.as_str(), p.document_last4.as_str(), p.birth_year),
        ("Rahima Akter", &profile_for(&phone(80)).id_number[9..], 1990)
    );
    assert_eq!((p.from.area.as_str(), p.to.area.as_str()), (THANA_A, THANA_B));
    assert!(p.from.name_en.is_some() && p.to.name_bn.is_some(), "{p:?}");
    assert_eq!(
        (p.reason.as_str(), p.companions, p.vehicle.as_deref()),
        ("medical", 0, None)
    );
    let secs = |t: &str| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
            .unix_timestamp()
    };
    assert_eq!(
        (secs(&p.valid_from), secs(&p.valid_until)),
        (secs(&pass.valid_from), secs(&pass.valid_until))
    );
    assert!(
        v.reasons[0]
            .message_bn
            .chars()
            .any(|c| ('\u{0980}'..='\u{09FF}').contains(&c))
    );
    // Nothing beyond that minimum: no phone, no full document number, no addresses.
    let raw = raw_verify(&police, &json!({ "qr_text": pass.qr_text }).to_string()).await;
    let body = raw.json().expect("json");
    let mut keys: Vec<&str> = body["pass"]
        .as_object()
        .expect("pass")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "birth_year",
            "companions",
            "document_last4",
            "from",
            "holder_name",
            "id",
            "reason",
            "round_trip",
            "to",
            "valid_from",
            "valid_until",
            "vehicle"
        ]
    );
    let text = body.to_string();
    let document = profile_for(&phone(80)).id_number;
    for secret in [document.as_str(), "House 12", "City Hospital", "+880"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    if let Some((code, py)) = python_verify(&trust_file, &pass.qr_text) {
        assert_eq!((code, &py["valid"]), (0, &json!(true)), "{py}");
    }

    // Every kind of bad pass is red with its reason, and never shows holder data.
    let cases = [
        ("forged signature", forged(&pass.qr_text), "bad_signature"),
        ("altered name", altered_name(&pass.qr_text, "Rahima"), "bad_signature"),
        ("expired", minted(&srv, &reissued(&claims, -4 * 3600, -3600)), "expired"),
        (
            "not yet valid",
            minted(&srv, &reissued(&claims, 2 * 3600, 4 * 3600)),
            "not_yet_valid",
        ),
        ("wrong key", signed_by_stranger(&claims), "unknown_key"),
        ("garbage", "MP1:%%%%".to_string(), "malformed"),
    ];
    for (what, text, reason) in &cases {
        let v = verify(&police, &qr(text)).await;
        assert_eq!(v.result, "red", "{what}: {v:?}");
        assert!(v.codes().contains(reason), "{what}: {v:?}");
        let trusted_content = matches!(*reason, "expired" | "not_yet_valid");
        assert_eq!(
            v.pass.is_some(),
            trusted_content,
            "{what}: holder data only from a good signature"
        );
        if let Some((code, py)) = python_verify(&trust_file, text) {
            assert_eq!((code, &py["valid"]), (1, &json!(false)), "python on {what}: {py}");
        }
        // The CLI, offline with the published lists, says the same.
        let (code, cli) = cli_verify(&base, text);
        assert_eq!((code, cli["result"].as_str()), (1, Some("red")), "CLI on {what}: {cli}");
        assert!(cli_reasons(&cli).iter().any(|r| r == reason), "CLI on {what}: {cli}");
    }
    let (code, cli) = cli_verify(&base, &pass.qr_text);
    assert_eq!(
        (code, cli["result"].as_str()),
        (0, Some("green")),
        "CLI on the genuine pass: {cli}"
    );

    // Short codes are looked up online, in any case and with separators.
    let code = &pass.short_code;
    let sloppy = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
    let v = verify(
        &police,
        &VerifyBody {
            short_code: Some(sloppy),
            ..VerifyBody::default()
        },
    )
    .await;
    assert_eq!(
        (v.result.as_str(), v.pass.as_ref().map(|p| p.id.as_str())),
        ("green", Some(pass.id.as_str()))
    );
    let unknown = if code == "00000000" { "11111111" } else { "00000000" };
    let v = verify(
        &police,
        &VerifyBody {
            short_code: Some(unknown.into()),
            ..VerifyBody::default()
        },
    )
    .await;
    assert_eq!((v.result.as_str(), v.codes()), ("red", vec!["unknown_short_code"]));
    assert_problem(
        &raw_verify(&police, r#"{"short_code": "!!"}"#).await,
        422,
        "validation_failed",
    );

    // Revoked by an admin: red at once, with the status.
    let res = admin
        .raw(
            Method::POST,
            &format!("/api/v1/passes/{}/revoke", pass.id),
            Some("application/json"),
            br#"{"reason": "Reported stolen"}"#.to_vec(),
        )
        .await
        .expect("revoke");
    assert_eq!(res.status, 200);
    let (code, cli) = cli_verify(&base, &pass.qr_text);
    assert_eq!(
        (code, cli_reasons(&cli)),
        (1, vec!["revoked".to_string()]),
        "CLI: {cli}"
    );
    let v = verify(&police, &qr(&pass.qr_text)).await;
    assert_eq!(
        (v.result.as_str(), v.codes(), v.status.as_deref()),
        ("red", vec!["revoked"], Some("revoked"))
    );

    // The signing key leaks: its passes turn red without a server restart.
    let (holder2, _) = srv.citizen(&phone(83)).await;
    let other = pass_valid_now(&holder2).await;
    assert_eq!(verify(&police, &qr(&other.qr_text)).await.result, "green");
    let kid = srv.client.trust_list().await.expect("trust")["keys"][0]["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    mpass::keys::run(&srv.settings, KeysCommand::Compromise { kid }).expect("compromise");
    let v = eventually(
        "the compromise to reach the server",
        Duration::from_secs(10),
        || async {
            let v = police.verify(&qr(&other.qr_text)).await.ok()?;
            (v.result == "red").then_some(v)
        },
    )
    .await;
    assert_eq!(v.codes(), ["key_compromised"]);
    assert!(v.pass.is_none(), "no holder data from a compromised key");
    std::fs::write(&trust_file, srv.client.trust_list().await.expect("trust").to_string()).expect("write");
    if let Some((code, py)) = python_verify(&trust_file, &other.qr_text) {
        assert_eq!(
            (code, &py["valid"]),
            (1, &json!(false)),
            "python on a compromised key: {py}"
        );
    }
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_route_check_and_impossible_travel() {
    let srv = TestServer::start().await;
    let (holder, _) = srv.citizen(&phone(90)).await;
    let pass = pass_valid_now(&holder).await;
    let (citizen, _) = srv.citizen(&phone(91)).await;
    let police = staff(&srv, 92, "police").await;
    let supervisor = staff(&srv, 93, "police_supervisor").await;
    let admin = staff(&srv, 94, "admin").await;

    // The registry: admins only, validated, the area derived from the position.
    let gate = |name: &str, (lat, lon): (f64, f64)| CheckpointBody {
        name: name.into(),
        lat,
        lon,
        area: None,
    };
    assert_api_error(police.create_checkpoint(&gate("x", DHAKA)).await, 403, "forbidden");
    assert_api_error(
        srv.client.create_checkpoint(&gate("x", DHAKA)).await,
        401,
        "unauthorized",
    );
    assert_api_error(
        admin.create_checkpoint(&gate("", (0.0, 0.0))).await,
        422,
        "validation_failed",
    );
    let dhaka = admin.create_checkpoint(&gate("Zero Point", DHAKA)).await.expect("201");
    assert!(dhaka.area.starts_with("3026"), "a thana of Dhaka district: {dhaka:?}");
    let ctg = admin
        .create_checkpoint(&gate("Chattogram", CHATTOGRAM))
        .await
        .expect("201");
    assert!(ctg.area.starts_with("2015"), "a thana of Chattogram district: {ctg:?}");
    let gone = admin.create_checkpoint(&gate("Temporary", DHAKA)).await.expect("201");
    admin.delete_checkpoint(&gone.id).await.expect("204");
    assert_api_error(admin.delete_checkpoint(&gone.id).await, 404, "not_found");
    assert_api_error(police.delete_checkpoint(&dhaka.id).await, 403, "forbidden");
    assert_eq!(police.checkpoints().await.expect("list"), [ctg.clone(), dhaka.clone()]);
    assert_api_error(citizen.checkpoints().await, 403, "forbidden");
    let res = admin
        .raw(
            Method::POST,
            "/api/v1/checkpoints",
            Some("application/json"),
            br#"{"name": "x", "lat": 23.7, "lon": 90.4, "colour": "red"}"#.to_vec(),
        )
        .await
        .expect("raw");
    assert_problem(&res, 400, "invalid_json");

    // At a checkpoint on the route: green; the answer names the checkpoint.
    let at = |id: &str| VerifyBody {
        qr_text: Some(pass.qr_text.clone()),
        checkpoint_id: Some(id.to_string()),
        ..VerifyBody::default()
    };
    let v = verify(&police, &at(&dhaka.id)).await;
    assert_eq!((v.result.as_str(), v.codes()), ("green", vec!["valid"]), "{v:?}");

    // Minutes later, 215 km away: off the route and impossible travel, both amber.
    let v = verify(&police, &at(&ctg.id)).await;
    assert_eq!(v.result, "amber", "{v:?}");
    assert_eq!(v.codes(), ["checkpoint_off_route", "impossible_travel"]);
    assert!(v.pass.is_some());

    // Reported to supervisors: the flagged scan, with where and when.
    let flagged = supervisor.scans(true, 10).await.expect("report");
    assert_eq!(flagged.items.len(), 1, "{flagged:?}");
    let s = &flagged.items[0];
    assert_eq!(
        (s.id.as_str(), s.pass_id.as_deref()),
        (v.scan_id.as_str(), Some(pass.id.as_str()))
    );
    assert_eq!(
        (s.checkpoint_id.as_deref(), s.source.as_str(), s.flagged),
        (Some(ctg.id.as_str()), "online", true)
    );
    assert_eq!(s.reasons, ["checkpoint_off_route", "impossible_travel"]);
    assert_eq!(supervisor.scans(false, 10).await.expect("all").items.len(), 2);
    assert_api_error(police.scans(true, 10).await, 403, "forbidden");

    // A bare position works like a checkpoint; both at once, or an unknown id, do not.
    let by_position = VerifyBody {
        qr_text: Some(pass.qr_text.clone()),
        checkpoint: Some(PositionBody {
            lat: CHATTOGRAM.0,
            lon: CHATTOGRAM.1,
        }),
        ..VerifyBody::default()
    };
    let v = verify(&police, &by_position).await;
    assert_eq!(
        v.codes(),
        ["checkpoint_off_route", "impossible_travel"],
        "a position works like a checkpoint; still too far from the Dhaka scan"
    );
    let both = VerifyBody {
        checkpoint_id: Some(dhaka.id.clone()),
        ..by_position.clone()
    };
    assert_api_error(police.verify(&both).await, 422, "validation_failed");
    assert_api_error(police.verify(&at(&gone.id)).await, 422, "validation_failed");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_scans_are_checked_again_logged_once_and_reported() {
    let srv = TestServer::start().await;
    let (holder, _) = srv.citizen(&phone(100)).await;
    let pass = pass_valid_now(&holder).await;
    let police = staff(&srv, 101, "police").await;
    let admin = staff(&srv, 102, "admin").await;
    let (citizen, _) = srv.citizen(&phone(103)).await;
    let scanned_at = rfc3339(OffsetDateTime::now_utc() - time::Duration::seconds(30));
    let scan = |client_id: &str, text: &str| OfflineScanBody {
        client_id: client_id.into(),
        qr_text: Some(text.into()),
        lat: Some(DHAKA.0),
        lon: Some(DHAKA.1),
        scanned_at: scanned_at.clone(),
        result: Some("green".into()),
        ..OfflineScanBody::default()
    };
    let good = "0190a0b0-0000-7000-8000-000000000001";
    let bad = "0190a0b0-0000-7000-8000-000000000002";
    let batch = [
        scan(good, &pass.qr_text),
        scan(bad, &forged(&pass.qr_text)),
        scan("not-a-uuid", &pass.qr_text),
    ];
    let first = police.upload_scans(&batch).await.expect("uploaded");
    let results = first["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(
        (&results[0]["client_id"], &results[0]["result"]),
        (&json!(good), &json!("green"))
    );
    assert_eq!(
        (&results[1]["result"], &results[1]["reasons"][0]["code"]),
        (&json!("red"), &json!("bad_signature"))
    );
    assert_eq!(results[2]["error"], "validation_failed");
    assert_eq!(results[2]["errors"][0]["field"], "scans[2].client_id");
    assert!(
        results[0].get("pass").is_none(),
        "uploads answer verdicts, not holder data"
    );

    // Uploading again (the answer was lost) logs nothing new.
    let again = police.upload_scans(&batch[..2]).await.expect("uploaded");
    for i in 0..2 {
        assert_eq!(again["results"][i]["scan_id"], first["results"][i]["scan_id"]);
        assert_eq!(again["results"][i]["duplicate"], true);
    }
    let log = admin.scans(false, 100).await.expect("log");
    assert_eq!(log.items.len(), 2, "{log:?}");
    let forged_row = &log.items[0];
    assert_eq!(
        (
            forged_row.source.as_str(),
            forged_row.result.as_str(),
            forged_row.device_result.as_deref()
        ),
        ("offline", "red", Some("green")),
        "the server's verdict next to what the device showed"
    );

    // Caps and roles.
    let many: Vec<OfflineScanBody> = (0..501).map(|i| scan(&format!("{i}"), "MP1:")).collect();
    assert_api_error(police.upload_scans(&many).await, 422, "validation_failed");
    assert_api_error(citizen.upload_scans(&batch).await, 403, "forbidden");
    let old = OfflineScanBody {
        scanned_at: rfc3339(OffsetDateTime::now_utc() - time::Duration::days(40)),
        client_id: "0190a0b0-0000-7000-8000-000000000003".into(),
        ..scan("", &pass.qr_text)
    };
    let res = police.upload_scans(&[old]).await.expect("answered");
    assert_eq!(res["results"][0]["errors"][0]["field"], "scans[0].scanned_at");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_hostile_input_and_the_rate_limit() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(110)).await;
    let analyst = staff(&srv, 111, "analyst").await;
    let police = staff(&srv, 112, "police").await;
    let supervisor = staff(&srv, 113, "police_supervisor").await;
    let body = r#"{"qr_text": "MP1:ABC"}"#;

    assert_problem(&raw_verify(&srv.client, body).await, 401, "unauthorized");
    assert_problem(&raw_verify(&citizen, body).await, 403, "forbidden");
    assert_problem(&raw_verify(&analyst, body).await, 403, "forbidden");
    assert_eq!(raw_verify(&supervisor, body).await.status, 200);

    // Large and garbage texts are verdicts, not errors; a body over the cap is refused.
    let huge = format!(r#"{{"qr_text": "MP1:{}"}}"#, "A".repeat(60_000));
    let res = raw_verify(&police, &huge).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json().expect("json")["reasons"][0]["code"], "too_large");
    for text in ["", "MP1:", "hello", "MP1:ÄÖÜ", "MP1:0000", "MP2:AAAA", "\u{0000}"] {
        let v = verify(&police, &qr(text)).await;
        assert_eq!((v.result.as_str(), v.pass.is_none()), ("red", true), "{text:?}: {v:?}");
    }
    let over = format!(r#"{{"qr_text": "{}"}}"#, "A".repeat(70_000));
    assert_problem(&raw_verify(&police, &over).await, 413, "payload_too_large");
    assert_problem(&raw_verify(&police, "not json").await, 400, "invalid_json");
    assert_problem(
        &raw_verify(&police, r#"{"qr_text": "x", "pin": 1}"#).await,
        400,
        "invalid_json",
    );
    assert_problem(&raw_verify(&police, "{}").await, 422, "validation_failed");
    assert_problem(
        &raw_verify(&police, r#"{"qr_text": "x", "short_code": "12345678"}"#).await,
        422,
        "validation_failed",
    );
    for bad in [
        r#"{"qr_text": "x", "scanned_at": "yesterday"}"#,
        r#"{"qr_text": "x", "checkpoint": {"lat": 51.5, "lon": -0.1}}"#,
        r#"{"qr_text": "x", "checkpoint_id": "not-an-id"}"#,
    ] {
        assert_problem(&raw_verify(&police, bad).await, 422, "validation_failed");
    }

    // One officer is limited; another officer is not affected.
    let mut limited = None;
    for i in 0..200 {
        let res = raw_verify(&police, body).await;
        if res.status == 429 {
            limited = Some((i, res));
            break;
        }
    }
    let (i, res) = limited.expect("the officer is rate limited");
    assert!(i <= 120, "limited after {i} more checks");
    let problem = assert_problem(&res, 429, "rate_limited");
    assert!(
        res.json().expect("json")["retry_after"]
            .as_i64()
            .is_some_and(|s| s >= 1),
        "{problem:?}"
    );
    assert_eq!(raw_verify(&supervisor, body).await.status, 200);
    srv.finish().await;
}

/// The officers' page checks through its session (`POST /verify/check`, cookie and CSRF
/// token) and reads the officer's roles at every check: a police role revoked a moment ago
/// stops the page's checks at once, whatever the session's access token still says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_check_reads_the_officers_roles_now() {
    use mpass_domain::audit::Actor;
    use mpass_domain::phone::Phone;
    use mpass_domain::ports::Role;

    let srv = TestServer::start().await;
    let base = srv.client.base().trim_end_matches('/').to_string();
    let (holder, _) = srv.citizen(&phone(90)).await;
    let pass = pass_valid_now(&holder).await;
    let police = staff(&srv, 91, "police").await;
    let access = police.access_token().expect("an access token");
    let cookie = format!("mp_sid=pagecheck000000000000000001; mp_auth={access}~unused");
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{base}/verify"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("its text");
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("the page's CSRF token") + marker.len();
    let csrf = page[at..].split('"').next().expect("the token").to_string();
    let check = || async {
        http.post(format!("{base}/verify/check"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body(json!({ "qr_text": pass.qr_text }).to_string())
            .send()
            .await
            .expect("the page's check")
    };
    let res = check().await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.expect("a verdict");
    assert_eq!(v["result"], "green", "{v}");

    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    let officer = store
        .user_by_phone(&Phone::parse(&phone(91)).expect("a phone"))
        .await
        .expect("read")
        .expect("the officer");
    let revoked = store
        .revoke_role(officer.id, Role::Police, Actor::system(), OffsetDateTime::now_utc())
        .await
        .expect("revoke");
    assert!(revoked);
    let res = check().await;
    assert_eq!(res.status(), 403);
    let problem: serde_json::Value = res.json().await.expect("a problem");
    assert_eq!(problem["code"], "forbidden", "{problem}");
}
