//! Statistics (SPEC §9, §14): analysts and admins read counts built from the counters the
//! stores keep; the answers equal a direct count of the applications table; filters, CSV
//! and role checks; `mpass demo` fills a data directory whose counters agree too.

mod common;

use std::time::Duration;

use common::*;
use mpass::admin::AdminCommand;
use mpass_client::{CheckpointBody, Client, PositionBody, VerifyBody};
use mpass_domain::application::Status;
use mpass_domain::pass::VerdictColour;
use mpass_domain::stats::scans::ScanDim;
use mpass_domain::stats::{CountQuery, Dim};
use reqwest::Method;

async fn grant(srv: &TestServer, n: u32, role: &str) -> Client {
    let (_, tokens) = srv.citizen(&phone(n)).await;
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone(n),
            role: role.into(),
            districts: vec![],
            count: 1,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("grant {role}: {e:?}"));
    let fresh = srv.client.refresh(&tokens.refresh_token).await.expect("refresh");
    srv.as_user(&fresh.access_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analysts_read_statistics_that_match_a_direct_count() {
    let srv = TestServer::start().await;
    let (citizen, _) = srv.citizen(&phone(1)).await;
    let (from, to) = two_thanas(&citizen).await;
    let district = from[..4].to_string();
    let mut ids = Vec::new();
    for hour in [8, 10, 12] {
        let app = citizen
            .submit(&application(&from, &to, tomorrow_at(hour, 0)), None)
            .await
            .expect("submitted");
        ids.push(app.id.clone());
    }
    for id in &ids {
        citizen
            .wait_decided(id, Duration::from_secs(20))
            .await
            .expect("decided");
    }
    citizen.cancel(&ids[0]).await.expect("cancelled");

    // Roles: nobody without analyst or admin.
    assert_api_error(citizen.stats_summary(&[]).await, 403, "forbidden");
    assert_api_error(srv.client.stats_summary(&[]).await, 401, "unauthorized");
    let analyst = grant(&srv, 2, "analyst").await;
    let admin = grant(&srv, 3, "admin").await;

    let s = analyst.stats_summary(&[]).await.expect("summary");
    assert_eq!(admin.stats_summary(&[]).await.expect("admin reads too"), s);
    assert_eq!(s.applications.total, 3);
    assert_eq!(s.applications.by_status["approved"], 2);
    assert_eq!(s.applications.by_status["cancelled"], 1);
    assert_eq!(
        (s.passes.issued, s.passes.active, s.passes.cancelled),
        (3, 2, 1),
        "a cancelled pass was still issued"
    );

    // The same numbers as a direct count of the table, grouped by status.
    let store = mpass::serve::open_store(&srv.settings).await.expect("store");
    let direct = store
        .stats_counts_direct(&CountQuery {
            group: vec![Dim::Status],
            ..CountQuery::default()
        })
        .await
        .unwrap();
    for row in &direct {
        let status = row.status.unwrap();
        assert_eq!(s.applications.by_status[status.as_str()], row.n, "{status:?}");
    }
    assert!(mpass::stats::check(store.as_ref()).await.unwrap().is_empty());

    // Filters.
    let in_district = analyst.stats_summary(&[("district", &district)]).await.unwrap();
    assert_eq!(in_district.applications.total, 3);
    let other = if district == "1004" { "3026" } else { "1004" };
    assert_eq!(
        analyst
            .stats_summary(&[("district", other)])
            .await
            .unwrap()
            .applications
            .total,
        0
    );
    assert_eq!(
        analyst
            .stats_summary(&[("reason", "funeral")])
            .await
            .unwrap()
            .applications
            .total,
        0
    );
    assert_eq!(
        analyst
            .stats_summary(&[("from", "2000-01-01T00:00:00Z"), ("to", "2000-01-02T00:00:00Z")])
            .await
            .unwrap()
            .applications
            .total,
        0
    );
    assert_api_error(analyst.stats_summary(&[("district", "99")]).await, 400, "invalid_query");
    assert_api_error(analyst.stats_summary(&[("status", "lost")]).await, 400, "invalid_query");
    assert_api_error(analyst.stats_summary(&[("colour", "red")]).await, 400, "invalid_query");
    assert_api_error(analyst.stats_summary(&[("level", "thana")]).await, 400, "invalid_query");
    assert_api_error(
        analyst
            .stats_summary(&[("from", "2020-01-01T00:00:00Z"), ("to", "2025-01-01T00:00:00Z")])
            .await,
        400,
        "invalid_range",
    );

    // The other questions.
    let areas = analyst
        .stats("by-area", &[("level", "thana"), ("district", &district)])
        .await
        .unwrap();
    let row = areas["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == from.as_str())
        .unwrap();
    assert_eq!(row["total"], 3);
    assert_eq!(row["by_status"]["approved"], 2);
    let series = analyst.stats("timeseries", &[("measure", "submitted")]).await.unwrap();
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 24, "one point per hour of the last day");
    assert_eq!(points.iter().map(|p| p["n"].as_i64().unwrap()).sum::<i64>(), 3);
    let latency = analyst.stats("latency", &[]).await.unwrap();
    assert_eq!(latency["total"], 3, "three first decisions");
    let backlog = analyst.stats("backlog", &[]).await.unwrap();
    assert_eq!(backlog["items"].as_array().unwrap().len(), 0);
    assert_api_error(citizen.stats("by-area", &[]).await, 403, "forbidden");

    // CSV export: counts only, no personal data.
    let csv = analyst.stats_csv("by-area", &[("level", "district")]).await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("code,name_en,total,submitted,approved")
    );
    let line = csv.lines().find(|l| l.starts_with(&format!("{district},"))).unwrap();
    assert!(line.split(',').nth(2) == Some("3"), "{line}");
    assert_eq!(csv.lines().count(), 1 + 64, "a header and every district");
    assert!(!csv.contains(&phone(1)[4..]), "no phone numbers");
    let res = analyst
        .raw(Method::GET, "/api/v1/stats/summary?format=csv", None, vec![])
        .await
        .unwrap();
    assert_eq!(res.status.as_u16(), 200);
    let ct = res.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(String::from_utf8_lossy(&res.body).contains("applications_approved,2"));
    srv.finish().await;
}

/// Scans by result in the summary, per checkpoint, and near a point (SPEC §9), counted by
/// the transaction that logs each verification; equal to a direct count of the scan log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analysts_count_scans_per_checkpoint_and_near_a_point() {
    let srv = TestServer::start().await;
    let (holder, _) = srv.citizen(&phone(60)).await;
    let pass = common::police::pass_valid_now(&holder).await;
    let police = common::police::staff(&srv, 61, "police").await;
    let admin = common::police::staff(&srv, 62, "admin").await;
    let analyst = grant(&srv, 63, "analyst").await;
    let checkpoint = |name: &str, lat: f64, lon: f64| CheckpointBody {
        name: name.into(),
        lat,
        lon,
        area: None,
    };
    // Two checkpoints in Dhaka about 4 km apart, one in Chattogram.
    let gate = admin
        .create_checkpoint(&checkpoint("Zero Point gate", 23.7286, 90.4106))
        .await
        .unwrap();
    let farmgate = admin
        .create_checkpoint(&checkpoint("Farmgate crossing", 23.7577, 90.3897))
        .await
        .unwrap();
    let port = admin
        .create_checkpoint(&checkpoint("Port road", 22.3350, 91.8325))
        .await
        .unwrap();
    let at = |cp: &mpass_client::Checkpoint, text: &str| VerifyBody {
        qr_text: Some(text.into()),
        checkpoint_id: Some(cp.id.clone()),
        ..VerifyBody::default()
    };
    let mut seen = Vec::new();
    for body in [
        at(&gate, &pass.qr_text),
        at(&gate, &pass.qr_text),
        at(&farmgate, &pass.qr_text),
        // The same pass in Chattogram a moment later: impossible travel, amber.
        at(&port, &pass.qr_text),
        // Not a pass at all: red.
        at(&gate, "MP1:NOT-A-PASS"),
        // Away from any checkpoint, at a position in Dhaka.
        VerifyBody {
            qr_text: Some(pass.qr_text.clone()),
            checkpoint: Some(PositionBody {
                lat: 23.7800,
                lon: 90.4000,
            }),
            ..VerifyBody::default()
        },
    ] {
        seen.push(police.verify(&body).await.expect("a verdict").result);
    }
    assert_eq!(
        seen,
        ["green", "green", "green", "amber", "red", "amber"],
        "the last is far from Chattogram too"
    );

    let s = analyst.stats_summary(&[]).await.unwrap();
    assert_eq!(s.scans.total, 6);
    assert_eq!(
        (
            s.scans.by_result["green"],
            s.scans.by_result["amber"],
            s.scans.by_result["red"]
        ),
        (3, 2, 1)
    );
    let dhaka = analyst.stats_summary(&[("district", "3026")]).await.unwrap();
    assert_eq!(dhaka.scans.total, 5, "all but the Chattogram scan");
    let earlier = analyst
        .stats_summary(&[("from", "2000-01-01T00:00:00Z"), ("to", "2000-01-02T00:00:00Z")])
        .await
        .unwrap();
    assert_eq!(earlier.scans.total, 0);

    // Per checkpoint, busiest first; the position scan under "no checkpoint" in Dhaka.
    let all = analyst.stats("checkpoints", &[]).await.unwrap();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{all}");
    assert_eq!(items[0]["name"], "Zero Point gate");
    assert_eq!(items[0]["district"], "3026");
    assert_eq!(items[0]["scans"]["total"], 3);
    assert_eq!(
        (
            items[0]["scans"]["by_result"]["green"].as_i64(),
            items[0]["scans"]["by_result"]["red"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(items[0]["lat"], 23.7286);
    let elsewhere = items.iter().find(|i| i["checkpoint_id"].is_null()).unwrap();
    assert_eq!(
        (elsewhere["district"].as_str(), elsewhere["scans"]["total"].as_i64()),
        (Some("3026"), Some(1))
    );
    assert_eq!(all["scans"]["total"], 6);
    let text = all.to_string();
    assert!(
        !text.contains(&pass.id) && !text.contains("Rahima"),
        "no pass or holder in the answer"
    );

    // Near Zero Point: within 2 km only the gate; within 5 km the gate and Farmgate (3.8 km),
    // nearest first; never Chattogram.
    let near = |r: &str| {
        let analyst = analyst.clone();
        let r = r.to_string();
        async move {
            analyst
                .stats("checkpoints", &[("near", "23.7286,90.4106"), ("radius_km", &r)])
                .await
                .unwrap()
        }
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&near("2").await), ["Zero Point gate"]);
    let five = near("5").await;
    assert_eq!(names(&five), ["Zero Point gate", "Farmgate crossing"]);
    let d = five["items"][1]["distance_km"].as_f64().unwrap();
    assert!((3.0..4.5).contains(&d), "{d}");
    assert_eq!(five["filters"]["near"]["radius_km"], 5.0);
    assert_eq!(five["scans"]["total"], 4);
    assert_eq!(names(&near("100").await).len(), 2, "Chattogram is 215 km away");

    // Strict parameters with stable codes; analysts only.
    for (params, code) in [
        (vec![("near", "23.7286"), ("radius_km", "5")], "invalid_point"),
        (vec![("near", "23.7286,abc"), ("radius_km", "5")], "invalid_point"),
        (vec![("near", "51.5,-0.12"), ("radius_km", "5")], "invalid_point"),
        (vec![("near", "NaN,90.4"), ("radius_km", "5")], "invalid_point"),
        (vec![("near", "23.7,90.4"), ("radius_km", "0")], "invalid_radius"),
        (vec![("near", "23.7,90.4"), ("radius_km", "100.5")], "invalid_radius"),
        (vec![("near", "23.7,90.4"), ("radius_km", "1e1")], "invalid_radius"),
        (vec![("near", "23.7,90.4")], "invalid_radius"),
        (vec![("radius_km", "5")], "invalid_point"),
        (vec![("reason", "medical")], "invalid_query"),
    ] {
        assert_api_error(analyst.stats("checkpoints", &params).await, 400, code);
    }
    assert_api_error(police.stats("checkpoints", &[]).await, 403, "forbidden");
    assert_api_error(srv.client.stats("checkpoints", &[]).await, 401, "unauthorized");
    assert_api_error(
        analyst
            .stats("checkpoints", &[("near", &"1".repeat(5_000)), ("radius_km", "5")])
            .await,
        400,
        "invalid_point",
    );
    let res = analyst
        .raw(
            Method::GET,
            "/api/v1/stats/checkpoints?near=x&radius_km=5",
            None,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(res.status.as_u16(), 400);
    let ct = res.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("application/problem+json"), "{ct}");

    // CSV export.
    let csv = analyst
        .stats_csv("checkpoints", &[("near", "23.7286,90.4106"), ("radius_km", "5")])
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "checkpoint_id,name,district,lat,lon,distance_km,scans,green,amber,red"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with(&format!(
            "{},Zero Point gate,3026,23.7286,90.4106,0.000,3,2,0,1",
            gate.id
        )),
        "{csv}"
    );
    let summary_csv = analyst.stats_csv("summary", &[]).await.unwrap();
    assert!(
        summary_csv.contains("scans_total,6\nscans_green,3\nscans_amber,2\nscans_red,1\n"),
        "{summary_csv}"
    );

    let store = mpass::serve::open_store(&srv.settings).await.expect("store");
    assert!(mpass::stats::check(store.as_ref()).await.unwrap().is_empty());
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_fills_a_day_whose_counters_agree_with_the_table() {
    let dir = TempDir::new("demo");
    let settings = test_settings(dir.path());
    let store = mpass::serve::open_store(&settings).await.expect("store");
    let args = mpass::demo::DemoArgs {
        applications: 12_000,
        seed: 3,
        quiet: true,
    };
    let now = time::OffsetDateTime::now_utc();
    let report = mpass::demo::fill(store.as_ref(), &args, now).await.expect("demo");
    assert_eq!(report.applications, 12_000);
    assert!(mpass::stats::check(store.as_ref()).await.unwrap().is_empty());
    // Checkpoints in every district and the day's passes scanned at them, mostly green.
    assert!(report.checkpoints >= 128, "{report:?}");
    let scans = store
        .stats_scans(&mpass_domain::stats::scans::ScanQuery {
            group: vec![ScanDim::Result, ScanDim::District],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(scans.iter().map(|r| r.n as u64).sum::<u64>(), report.scans);
    assert!(report.scans > 2_000, "{report:?}");
    let of = |c: VerdictColour| scans.iter().filter(|r| r.result == Some(c)).map(|r| r.n).sum::<i64>();
    let (green, amber, red) = (
        of(VerdictColour::Green),
        of(VerdictColour::Amber),
        of(VerdictColour::Red),
    );
    assert!(
        green > 10 * (amber + red) && amber > 0 && red > 0,
        "{green} {amber} {red}"
    );
    let scanned_districts: std::collections::BTreeSet<_> = scans.iter().filter_map(|r| r.district.clone()).collect();
    assert!(scanned_districts.len() >= 60, "{scanned_districts:?}");
    let by_status = store
        .stats_counts(&CountQuery {
            group: vec![Dim::Status, Dim::District],
            ..CountQuery::default()
        })
        .await
        .unwrap();
    let count = |s: Status| {
        by_status
            .iter()
            .filter(|r| r.status == Some(s))
            .map(|r| r.n)
            .sum::<i64>()
    };
    assert_eq!(by_status.iter().map(|r| r.n).sum::<i64>(), 12_000);
    assert!(count(Status::Approved) > 9_000, "most are approved");
    assert!(count(Status::InReview) > 0 && count(Status::Rejected) > 0);
    let districts: std::collections::BTreeSet<_> = by_status.iter().filter_map(|r| r.area.clone()).collect();
    assert_eq!(districts.len(), 64, "every district has applications");
    // Dhaka has the most.
    let dhaka: i64 = by_status
        .iter()
        .filter(|r| r.area.as_deref() == Some("3026"))
        .map(|r| r.n)
        .sum();
    assert!(districts.iter().all(|d| {
        by_status
            .iter()
            .filter(|r| r.area.as_ref() == Some(d))
            .map(|r| r.n)
            .sum::<i64>()
            <= dhaka
    }));
    // A second run refuses to add to a filled directory.
    assert!(mpass::demo::run(settings.clone(), args).await.is_err());
}
