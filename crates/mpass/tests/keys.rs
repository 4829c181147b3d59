//! Pass keys end to end (SPEC §7, §8): a key marked compromised with `mpass keys
//! compromise` is published as `compromised`, every pass it signed verifies red with the
//! CLI, the running server starts signing with a new key without a restart, and passes
//! signed by the new key verify green.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use mpass::keys::KeysCommand;
use mpass_client::Client;
use time::OffsetDateTime;

/// A pass that is valid now: a medical trip starting a minute ago (allowed even in curfew).
async fn pass_valid_now(me: &Client) -> mpass_client::Pass {
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let body = application(THANA_A, THANA_B, now - time::Duration::minutes(1));
    let submitted = me.submit(&body, None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    me.pass(&app.pass_id.expect("a pass")).await.expect("pass")
}

/// `mpass verify QR --trust-list URL --json`: the exit code and the JSON verdict.
fn cli_verify(base: &str, qr_text: &str) -> (i32, serde_json::Value) {
    cli_verify_with(base, qr_text, &format!("{base}/api/v1/revocations"))
}

fn cli_verify_with(base: &str, qr_text: &str, revocations: &str) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_mpass"))
        .args(["verify", qr_text, "--json", "--trust-list"])
        .arg(format!("{base}/api/v1/trust-list"))
        .arg("--revocations")
        .arg(revocations)
        .output()
        .expect("mpass verify runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON verdict ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json)
}

fn statuses(trust: &serde_json::Value) -> Vec<(String, String)> {
    trust["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_string(),
                k["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_key_turns_its_passes_red_and_a_new_key_signs() {
    let srv = TestServer::start().await;
    let base = srv.client.base().trim_end_matches('/').to_string();
    let (holder, _) = srv.citizen(&phone(70)).await;
    let old_pass = pass_valid_now(&holder).await;

    let before = statuses(&srv.client.trust_list().await.expect("trust list"));
    assert_eq!(before.len(), 1, "{before:?}");
    let (old_kid, status) = before[0].clone();
    assert_eq!(status, "active");
    let (code, v) = cli_verify(&base, &old_pass.qr_text);
    assert_eq!((code, v["result"].as_str()), (0, Some("green")), "{v}");

    // A saved revocation list two days old: the CLI reports its age as stale (amber).
    let stale = srv.dir.path().join("revocations.json");
    let generated = common::rfc3339(OffsetDateTime::now_utc() - time::Duration::days(2));
    std::fs::write(
        &stale,
        format!(r#"{{"seq": 0, "revoked": [], "generated_at": "{generated}"}}"#),
    )
    .expect("write");
    let (code, v) = cli_verify_with(&base, &old_pass.qr_text, &stale.display().to_string());
    assert_eq!((code, v["result"].as_str()), (1, Some("amber")), "{v}");
    assert_eq!(v["reasons"], serde_json::json!(["revocation_list_stale"]));

    // An unknown kid is refused and changes nothing.
    let err = mpass::keys::run(
        &srv.settings,
        KeysCommand::Compromise {
            kid: "AAAAAAAAAAA".into(),
        },
    );
    assert!(err.is_err());

    mpass::keys::run(&srv.settings, KeysCommand::Compromise { kid: old_kid.clone() }).expect("compromise");

    // The running server picks the change up within a few seconds, without a restart.
    let after = eventually(
        "the trust list to show the compromised key",
        Duration::from_secs(10),
        || async {
            let keys = statuses(&srv.client.trust_list().await.ok()?);
            (keys.len() == 2).then_some(keys)
        },
    )
    .await;
    assert_eq!(after[0], (old_kid.clone(), "compromised".to_string()), "{after:?}");
    assert_eq!(after[1].1, "active");
    let new_kid = after[1].0.clone();
    assert_ne!(new_kid, old_kid);

    // The old pass is red, by the CLI, with the reason, and no holder data is shown.
    let (code, v) = cli_verify(&base, &old_pass.qr_text);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["result"], "red");
    assert_eq!(v["reasons"], serde_json::json!(["key_compromised"]));
    assert!(v["claims"].is_null(), "{v}");

    // A new pass is signed by the new key and is green.
    let (holder2, _) = srv.citizen(&phone(71)).await;
    let new_pass = pass_valid_now(&holder2).await;
    let (code, v) = cli_verify(&base, &new_pass.qr_text);
    assert_eq!((code, v["result"].as_str()), (0, Some("green")), "{v}");
    assert_eq!(v["kid"].as_str(), Some(new_kid.as_str()));

    // After a restart the key file still says the same.
    let mut srv = srv;
    srv.restart().await;
    assert_eq!(statuses(&srv.client.trust_list().await.expect("trust list")), after);
    srv.finish().await;
}
