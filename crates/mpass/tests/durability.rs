//! Nothing is lost across a restart: applications, passes, logins, and acknowledged
//! submissions whose decision jobs had not run yet.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use mpass_domain::application::Status;
use mpass_domain::ports::{JobStore, StatsStore};
use mpass_domain::stats::{CountQuery, Dim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_applications_passes_and_logins() {
    let mut srv = TestServer::start().await;
    let (me, tokens) = srv.citizen(&phone(1)).await;
    let submitted = me.submit(&default_application(), None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    let pass = me.pass(app.pass_id.as_deref().expect("pass id")).await.expect("pass");
    let trust_list = srv.client.trust_list().await.expect("trust list");
    let jwks = srv
        .client
        .raw(reqwest::Method::GET, "/.well-known/jwks.json", None, Vec::new())
        .await
        .expect("jwks")
        .json()
        .expect("jwks json");

    srv.restart().await;

    // The access token issued before the restart still verifies: the keys persisted.
    let me = srv.as_user(&tokens.access_token);
    let who = me.me().await.expect("old access token still valid");
    assert_eq!(who.phone, "+8801710000001");
    assert!(who.profile.is_some(), "profile kept");
    let again = me.application(&app.id).await.expect("application kept");
    assert_eq!(again.status, "approved");
    assert_eq!(again.pass_id, app.pass_id);
    assert_eq!(again.decision, app.decision);
    let list = me.applications(None, None).await.expect("list");
    assert_eq!(list.items.len(), 1);
    let pass_again = me.pass(&pass.id).await.expect("pass kept");
    assert_eq!(pass_again.qr_text, pass.qr_text);
    assert_eq!(pass_again.short_code, pass.short_code);
    assert_eq!(srv.client.trust_list().await.expect("trust list"), trust_list);
    let jwks_again = srv
        .client
        .raw(reqwest::Method::GET, "/.well-known/jwks.json", None, Vec::new())
        .await
        .expect("jwks")
        .json()
        .expect("jwks json");
    assert_eq!(jwks_again, jwks, "token keys kept");

    // The refresh token issued before the restart still works, once.
    let fresh = srv
        .client
        .refresh(&tokens.refresh_token)
        .await
        .expect("refresh after restart");
    srv.as_user(&fresh.access_token)
        .me()
        .await
        .expect("new access token works");
    srv.finish().await;
}

/// Submits `N` applications at once and stops the server right after the last 202.
/// Returns the ids and how many were still undecided, read straight from the database
/// with no server running.
async fn submit_then_stop(srv: &mut TestServer, me: &mpass_client::Client) -> (HashSet<String>, u64) {
    const N: usize = 50;
    let base = tomorrow_at(8, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let me = me.clone();
        let body = application(THANA_A, THANA_B, base + time::Duration::minutes(10 * i as i64));
        tasks.spawn(async move { me.submit(&body, Some(&format!("durable-{i}"))).await });
    }
    let mut ids = HashSet::new();
    while let Some(res) = tasks.join_next().await {
        let app = res.expect("task").expect("202");
        ids.insert(app.id);
    }
    assert_eq!(ids.len(), N);
    srv.stop().await;

    let store = mpass_store::SqliteStore::open(&srv.settings.database_path()).expect("open the store");
    // Counted from the applications table itself, by status.
    let by_status = CountQuery {
        group: vec![Dim::Status],
        ..CountQuery::default()
    };
    let counts: Vec<(Status, u64)> = store
        .stats_counts_direct(&by_status)
        .await
        .expect("counts")
        .into_iter()
        .map(|r| (r.status.expect("grouped by status"), r.n as u64))
        .collect();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, N as u64, "every acknowledged application is stored: {counts:?}");
    // The counters `/metrics` reads were committed with them.
    let mut counted = store.status_counts().await.expect("counters");
    counted.sort_by_key(|(s, _)| s.as_str());
    let mut direct = counts.clone();
    direct.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(counted, direct, "the counters agree with the table");
    let pending = counts
        .iter()
        .find(|(s, _)| *s == Status::Submitted)
        .map_or(0, |(_, n)| *n);
    // Each undecided application still has its decision job.
    let (jobs, dead) = store.jobs_depth().await.expect("depth");
    assert!(jobs >= pending, "{jobs} jobs for {pending} undecided applications");
    assert_eq!(dead, 0);
    eprintln!("{pending} of {N} applications were still waiting for a decision at shutdown");
    (ids, pending)
}

/// Lists `me`'s applications until at most `undecided` are still `submitted`.
async fn until_decided(me: &mpass_client::Client, undecided: usize) -> Vec<mpass_client::Application> {
    eventually(
        "applications decided after the restart",
        Duration::from_secs(20),
        || {
            let me = me.clone();
            async move {
                let page = me.applications(None, Some(100)).await.expect("list");
                let waiting = page.items.iter().filter(|a| a.status == "submitted").count();
                (waiting <= undecided).then_some(page.items)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_a_restart_and_decisions_resume() {
    // One job at a time, so that decisions are still queued when the server stops.
    let mut srv = TestServer::start_with(|s| s.worker_concurrency = 1).await;
    let (me, tokens) = srv.citizen(&phone(2)).await;
    let (ids, pending) = submit_then_stop(&mut srv, &me).await;

    srv.restart().await;
    let me = srv.as_user(&tokens.access_token);
    // The job the stopped worker had just leased may wait out its lease (see the ignored
    // test below); every other queued decision runs now.
    let listed = until_decided(&me, 0).await;
    let listed_ids: HashSet<String> = listed.iter().map(|a| a.id.clone()).collect();
    assert_eq!(listed_ids, ids);
    let decided = listed.iter().filter(|a| a.decision.is_some()).count();
    assert!(
        decided + 1 >= ids.len(),
        "{decided} decided of {} ({pending} pending at shutdown)",
        ids.len()
    );
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_queued_decision_runs_promptly_after_a_restart() {
    let mut srv = TestServer::start_with(|s| s.worker_concurrency = 1).await;
    let (me, tokens) = srv.citizen(&phone(3)).await;
    let (ids, _) = submit_then_stop(&mut srv, &me).await;

    srv.restart().await;
    let me = srv.as_user(&tokens.access_token);
    let listed = until_decided(&me, 0).await;
    assert_eq!(listed.len(), ids.len());
    assert!(listed.iter().all(|a| a.decision.is_some()));
    srv.finish().await;
}
