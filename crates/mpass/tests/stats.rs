//! Statistics (SPEC §9, §14): analysts and admins read counts built from the counters the
//! stores keep; the answers equal a direct count of the applications table; filters, CSV
//! and role checks; `mpass demo` fills a data directory whose counters agree too.

mod common;

use std::time::Duration;

use common::*;
use mpass::admin::AdminCommand;
use mpass_client::Client;
use mpass_domain::application::Status;
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
    let (n, _, _) = mpass::demo::fill(store.as_ref(), &args, now).await.expect("demo");
    assert_eq!(n, 12_000);
    assert!(mpass::stats::check(store.as_ref()).await.unwrap().is_empty());
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
