//! The policy changes without a restart (SPEC §6): a changed policy file is put in force
//! within seconds, a bad one is refused while the old one stays, `mpass policy reload`
//! does the same from the console while the server runs, `mpass policy test` replays
//! stored applications without writing, and every change is audited.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use mpass_client::Client;
use mpass_domain::policy::DEFAULT_POLICY_TOML;

/// How long a test waits for a node to pick up a policy change (it polls every 2 s).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(15);

fn district_of_a() -> String {
    mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("THANA_A has a district")
        .code
        .clone()
}

/// The default policy, relabelled, with its per-person limits out of the way (every test
/// application is the same trip of the same citizen), and THANA_A's district restricted
/// when `restrict`.
fn policy(version: &str, restrict: bool) -> String {
    let mut t: toml::Table = DEFAULT_POLICY_TOML.parse().expect("the default policy is TOML");
    t["version"] = version.into();
    let rules = t["rules"].as_table_mut().expect("rules");
    rules["overlap"]["enabled"] = false.into();
    rules["weekly_limit"]["max_passes"] = 1000.into();
    rules["daily_applications"]["max_per_day"] = 1000.into();
    if restrict {
        rules["restricted_area"]["areas"] = toml::Value::Array(vec![district_of_a().into()]);
    }
    toml::to_string(&t).expect("serialise")
}

fn restricting(version: &str) -> String {
    policy(version, true)
}

fn relabelled(version: &str) -> String {
    policy(version, false)
}

/// Submits the default application and waits for its decision: `(outcome, codes, version)`.
async fn decide_one(citizen: &Client) -> (String, Vec<String>, String) {
    let submitted = citizen.submit(&default_application(), None).await.expect("202");
    let app = citizen
        .wait_decided(&submitted.id, DECIDE_TIMEOUT)
        .await
        .expect("decided");
    let d = app.decision.expect("a decision");
    (
        d.outcome,
        d.reasons.into_iter().map(|r| r.code).collect(),
        d.policy_version,
    )
}

fn mpass(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mpass"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run mpass");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_reloads_without_restart_and_a_bad_file_is_refused() {
    let policy_dir = TempDir::new("policy");
    let file = policy_dir.path().join("policy.toml");
    std::fs::write(&file, relabelled("first")).expect("write policy");
    let srv = TestServer::start_with(|s| s.policy_file = Some(file.clone())).await;
    let (citizen, _) = srv.citizen(&phone(90)).await;

    let (outcome, codes, version) = decide_one(&citizen).await;
    assert_eq!(
        (outcome.as_str(), codes),
        ("approve", vec!["auto_approved".to_string()])
    );
    assert!(version.starts_with("first#"), "{version}");

    // The file changes: the next decision follows it, with no restart.
    std::fs::write(&file, restricting("second")).expect("write policy");
    let (outcome, codes, version) = eventually("the second policy in force", RELOAD_TIMEOUT, || async {
        let d = decide_one(&citizen).await;
        d.2.starts_with("second#").then_some(d)
    })
    .await;
    assert_eq!(
        (outcome.as_str(), codes),
        ("review", vec!["restricted_area".to_string()])
    );
    assert!(version.starts_with("second#"));

    // A bad file is refused: decisions keep the policy in force.
    std::fs::write(
        &file,
        format!("{}\n[rules.curfew_extra]\nbedtime = 1\n", relabelled("third")),
    )
    .expect("write");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, _, version) = decide_one(&citizen).await;
    assert!(
        version.starts_with("second#"),
        "a bad file must not replace the policy: {version}"
    );
    // The console says why, naming the key, and exits non-zero.
    let (ok, text) = mpass(
        srv.dir.path(),
        &["policy", "reload", file.to_str().expect("utf-8 path")],
    );
    assert!(!ok, "{text}");
    assert!(text.contains("curfew_extra"), "{text}");

    // `mpass policy reload FILE` from the console, while the server runs.
    let other = policy_dir.path().join("fourth.toml");
    std::fs::write(&other, relabelled("fourth")).expect("write");
    // Repair the watched file first, or the server puts it back in force.
    std::fs::write(&file, relabelled("fourth")).expect("write");
    let (ok, text) = mpass(
        srv.dir.path(),
        &["policy", "reload", other.to_str().expect("utf-8 path")],
    );
    assert!(ok, "{text}");
    let (outcome, _, version) = eventually("the fourth policy in force", RELOAD_TIMEOUT, || async {
        let d = decide_one(&citizen).await;
        d.2.starts_with("fourth#").then_some(d)
    })
    .await;
    assert_eq!(outcome, "approve", "{version}");
    let (ok, text) = mpass(srv.dir.path(), &["policy", "show"]);
    assert!(ok && text.contains("fourth#"), "{text}");

    // Every change is in the audit log, whose chain holds.
    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    let changes: Vec<String> = store
        .audit_list(0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "policy.changed")
        .map(|e| e.data["version"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes[0].starts_with("first#") && changes[1].starts_with("second#") && changes[2].starts_with("fourth#"));
    assert!(mpass::audit::verify(store.as_ref()).await.expect("chain").is_ok());
    drop(store);
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_test_replays_stored_applications_and_writes_nothing() {
    let policy_dir = TempDir::new("policy");
    let file = policy_dir.path().join("policy.toml");
    std::fs::write(&file, relabelled("base")).expect("write policy");
    let srv = TestServer::start_with(|s| s.policy_file = Some(file.clone())).await;
    let (citizen, _) = srv.citizen(&phone(91)).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (outcome, _, _) = decide_one(&citizen).await;
        assert_eq!(outcome, "approve");
    }
    for app in citizen.applications(None, Some(10)).await.expect("list").items {
        ids.push((app.id, app.status));
    }
    let proposal = srv.dir.path().join("proposal.toml");
    std::fs::write(&proposal, restricting("proposal")).expect("write");
    let (ok, text) = mpass(
        srv.dir.path(),
        &["policy", "test", proposal.to_str().expect("utf-8 path")],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Replayed 3 decided applications"), "{text}");
    assert!(text.contains("approve -> review"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("restricted_area"))
        .unwrap_or_else(|| panic!("a line for restricted_area in:\n{text}"));
    let numbers: Vec<&str> = line.split_whitespace().skip(1).collect();
    assert_eq!(numbers, ["3", "0"], "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("auto_approved"))
        .unwrap_or_else(|| panic!("a line for auto_approved in:\n{text}"));
    assert_eq!(
        line.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["0", "3"],
        "{text}"
    );

    // A dry run: nothing changed, nothing put in force.
    for (id, status) in &ids {
        assert_eq!(&citizen.application(id).await.expect("app").status, status);
    }
    let (_, text) = mpass(srv.dir.path(), &["policy", "show"]);
    assert!(text.contains("base#") && !text.contains("proposal"), "{text}");
    // A bad proposal is refused with the key at fault.
    std::fs::write(
        &proposal,
        relabelled("bad").replace("max_companions = 2", "max_companions = \"two\""),
    )
    .expect("write");
    let (ok, text) = mpass(
        srv.dir.path(),
        &["policy", "test", proposal.to_str().expect("utf-8 path")],
    );
    assert!(!ok && text.contains("max_companions"), "{text}");
    srv.finish().await;
}
