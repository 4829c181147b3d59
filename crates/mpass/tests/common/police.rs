//! Helpers of the police verification tests (and others): staff with roles, passes valid now, passes
//! minted with the server's own key (expired, not yet valid) or forged and altered ones,
//! and the independent Python verifier.

use std::process::Command;

use mpass::admin::AdminCommand;
use mpass_client::Client;
use mpass_domain::pass::{PassClaims, PassSigningKey, TrustList, VerifyOptions, base45, sign_pass, verify_pass};
use time::OffsetDateTime;

use super::{DECIDE_TIMEOUT, THANA_A, THANA_B, TestServer, application, dhaka, phone};

/// Grants `role` to the user of test phone `n` and answers a client whose token carries it.
pub async fn staff(srv: &TestServer, n: u32, role: &str) -> Client {
    staff_in(srv, n, role, &[]).await
}

/// A reviewer of `district`: [`staff`] with the role limited to that district.
pub async fn reviewer(srv: &TestServer, n: u32, district: &str) -> Client {
    staff_in(srv, n, "reviewer", &[district]).await
}

/// Grants `role` (for `districts`, where the role takes them) to the user of test phone
/// `n`, logged in now, and answers a client whose token carries it.
pub async fn staff_in(srv: &TestServer, n: u32, role: &str, districts: &[&str]) -> Client {
    let (_, tokens) = srv.citizen(&phone(n)).await;
    grant(srv, &phone(n), role, districts).await;
    let fresh = srv.client.refresh(&tokens.refresh_token).await.expect("refresh");
    srv.as_user(&fresh.access_token)
}

/// Grants `role` to the user of `phone` (as `mpass admin grant` does); their next token
/// carries it.
pub async fn grant(srv: &TestServer, phone: &str, role: &str, districts: &[&str]) {
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone.to_string(),
            role: role.into(),
            districts: districts.iter().map(|d| d.to_string()).collect(),
            count: 1,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("grant {role}: {e:?}"));
}

/// A pass valid now: a medical trip (allowed even in curfew) that started a minute ago.
pub async fn pass_valid_now(me: &Client) -> mpass_client::Pass {
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let body = application(THANA_A, THANA_B, now - time::Duration::minutes(1));
    let submitted = me.submit(&body, None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    me.pass(&app.pass_id.expect("a pass")).await.expect("pass")
}

/// The server's current pass-signing key, read from its data directory as the server does.
pub fn server_key(srv: &TestServer) -> PassSigningKey {
    mpass::keys::Keyring::load_or_create(&srv.settings)
        .expect("keys.json")
        .pass_signing_key()
        .expect("a signing key")
}

/// The claims of a genuine pass (checked against the server's trust list first).
pub async fn claims_of(srv: &TestServer, qr_text: &str) -> PassClaims {
    let trust = TrustList::from_jwks_json(&srv.client.trust_list().await.expect("trust list").to_string())
        .expect("trust list parses");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    verify_pass(qr_text, &trust, &|_| false, now, &VerifyOptions::default())
        .claims
        .expect("a genuine pass")
}

/// `claims` with a fresh pass id and the validity window `[nbf, exp)` relative to now.
pub fn reissued(claims: &PassClaims, nbf_from_now: i64, exp_from_now: i64) -> PassClaims {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    PassClaims {
        pass_id: *mpass_domain::ids::PassId::new().as_bytes(),
        issued_at: (now + nbf_from_now).min(now),
        not_before: now + nbf_from_now,
        expires: now + exp_from_now,
        ..claims.clone()
    }
}

/// A pass signed by the server's key with other claims.
pub fn minted(srv: &TestServer, claims: &PassClaims) -> String {
    sign_pass(claims, &server_key(srv)).expect("signs")
}

/// The same claims signed by a key that is not in any trust list.
pub fn signed_by_stranger(claims: &PassClaims) -> String {
    sign_pass(claims, &PassSigningKey::generate().expect("random")).expect("signs")
}

/// The COSE bytes of a pass text, changed by `edit`, written back as a pass text.
pub fn tampered(qr_text: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut cose = base45::decode(qr_text.strip_prefix("MP1:").expect("prefix")).expect("base45");
    edit(&mut cose);
    format!("MP1:{}", base45::encode(&cose))
}

/// A forged signature: the last byte of the COSE structure is inside the signature.
pub fn forged(qr_text: &str) -> String {
    tampered(qr_text, |cose| {
        let last = cose.len() - 1;
        cose[last] ^= 0x01;
    })
}

/// An altered payload: one letter of the holder's name changed, everything else intact.
pub fn altered_name(qr_text: &str, name: &str) -> String {
    tampered(qr_text, |cose| {
        let at = cose
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .expect("the name is in the payload");
        cose[at] = if cose[at] == b'R' { b'K' } else { b'R' };
    })
}

/// Runs `scripts/verify_pass.py` (written from the SPEC, not from our code) with the
/// trust list in `trust_file`; `None` when python3 or its modules are missing.
pub fn python_verify(trust_file: &std::path::Path, qr_text: &str) -> Option<(i32, serde_json::Value)> {
    let probe = Command::new("python3")
        .args(["-c", "import cbor2, cryptography"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("MPASS_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "MPASS_REQUIRE_PYTHON=1 but python3 with cbor2 and cryptography is not available"
        );
        eprintln!("notice: python3 with cbor2 and cryptography not found; skipping the independent verifier");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/verify_pass.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("--trust-list")
        .arg(trust_file)
        .args(["--clock-tolerance", "300"])
        .arg(qr_text)
        .output()
        .expect("run verify_pass.py");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify_pass.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Some((out.status.code().unwrap_or(-1), json))
}

/// `mpass verify QR --trust-list URL --revocations URL --json` against a running server:
/// the exit code and the JSON verdict.
pub fn cli_verify(base: &str, qr_text: &str) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_mpass"))
        .args(["verify", qr_text, "--json", "--trust-list"])
        .arg(format!("{base}/api/v1/trust-list"))
        .arg("--revocations")
        .arg(format!("{base}/api/v1/revocations?since=0"))
        .output()
        .expect("mpass verify runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON verdict ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json)
}

/// The reason codes of a `mpass verify --json` verdict.
pub fn cli_reasons(v: &serde_json::Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
