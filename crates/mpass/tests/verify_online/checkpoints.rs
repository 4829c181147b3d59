//! The checkpoint registry, the route check, impossible travel and offline scans.

use mpass_client::{CheckpointBody, OfflineScanBody, PositionBody, VerifyBody};
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

use crate::common::police::*;
use crate::common::*;
use crate::verify;

/// Dhaka Zero Point (Dhaka district, where THANA_A and THANA_B are) and Chattogram,
/// about 215 km apart.
const DHAKA: (f64, f64) = (23.7286, 90.4106);
const CHATTOGRAM: (f64, f64) = (22.3350, 91.8325);

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
