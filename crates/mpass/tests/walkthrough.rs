//! The README walk-through as a test: OTP, profile, photo, application, automatic
//! approval, a signed pass, and its offline verification — by our verifier and by the
//! independent Python implementation of the SPEC §7 format.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use mpass_client::Pass;
use mpass_domain::ids::PassId;
use mpass_domain::pass::{ReasonCode, TrustList, VerdictColour, VerifyOptions, verify_pass};
use reqwest::Method;
use time::OffsetDateTime;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What the walk-through ends with.
struct Walked {
    pass: Pass,
    trust_list: serde_json::Value,
    start: OffsetDateTime,
}

/// Walks the citizen flow step by step, checking each answer on the way.
async fn walk_through(srv: &TestServer) -> Walked {
    let anon = &srv.client;
    let phone = "01712345678";

    // OTP through the dev outbox.
    let sent = anon.request_otp(phone).await.expect("OTP requested");
    assert_eq!(sent.expires_in, 300);
    assert_eq!(sent.retry_after, 60);
    let code = eventually("the code in the dev outbox", Duration::from_secs(10), || async {
        anon.dev_code(phone).await.expect("outbox")
    })
    .await;
    assert_eq!(code.len(), 6);
    let tokens = anon.token(phone, &code).await.expect("tokens");
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.expires_in > 0);
    let me = anon.with_token(&tokens.access_token);

    // Who am I.
    let who = me.me().await.expect("GET /me");
    assert_eq!(who.phone, "+8801712345678");
    assert_eq!(who.roles, vec!["citizen".to_string()]);
    assert!(who.profile.is_none());

    // Profile, then a real PNG photo.
    let profile = me.put_profile(&profile_for(phone)).await.expect("profile");
    assert_eq!(profile["name"], "Rahima Akter");
    assert_eq!(profile["has_photo"], false);
    let photo = me.put_photo(png_photo(96, 80), "image/png").await.expect("photo");
    assert_eq!(photo["width"], 96);
    assert_eq!(photo["height"], 80);
    assert_eq!(photo["content_type"], "image/png");
    let who = me.me().await.expect("GET /me");
    assert_eq!(who.profile.expect("profile")["has_photo"], true);
    let stored = me
        .raw(Method::GET, "/api/v1/me/photo", None, Vec::new())
        .await
        .expect("photo back");
    assert_eq!(stored.status, 200);
    assert!(stored.body.starts_with(PNG_SIGNATURE), "stored photo is a PNG");

    // Two real thanas.
    let (first, last) = two_thanas(anon).await;
    let areas = anon.areas().await.expect("areas");
    for code in [THANA_A, THANA_B, first.as_str(), last.as_str()] {
        let area = areas.iter().find(|a| a.code == code).expect("a listed area");
        assert_eq!(area.kind, "thana");
        assert!(!area.name_en.is_empty() && !area.name_bn.is_empty());
    }

    // Apply: daytime tomorrow, so neither curfew nor the start window objects.
    let start = tomorrow_at(10, 0);
    let submitted = me
        .submit(&application(&first, &last, start), Some("walk-through-1"))
        .await
        .expect("202");
    assert_eq!(submitted.status, "submitted");
    assert_eq!(submitted.reason, "medical");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decision");
    assert_eq!(app.status, "approved", "{app:?}");
    let decision = app.decision.as_ref().expect("a decision");
    assert_eq!(decision.outcome, "approve");
    let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["auto_approved"]);
    assert!(!decision.reasons[0].message.is_empty() && !decision.reasons[0].message_bn.is_empty());

    // The pass and its QR codes.
    let pass_id = app.pass_id.clone().expect("an approved application has a pass");
    let pass = me.pass(&pass_id).await.expect("pass");
    assert_eq!(pass.id, pass_id);
    assert_eq!(pass.application_id, app.id);
    assert!(pass.qr_text.starts_with("MP1:"), "{}", pass.qr_text);
    assert_eq!(pass.short_code.len(), 8, "{}", pass.short_code);
    assert_eq!(pass.status, "not_yet_valid");
    let valid_from =
        OffsetDateTime::parse(&pass.valid_from, &time::format_description::well_known::Rfc3339).expect("rfc3339");
    assert_eq!(valid_from, start);
    let svg = me.pass_qr(&pass_id, "svg").await.expect("qr.svg");
    assert!(svg.starts_with(b"<svg") || svg.starts_with(b"<?xml"), "SVG");
    let png = me.pass_qr(&pass_id, "png").await.expect("qr.png");
    assert!(png.starts_with(PNG_SIGNATURE), "PNG");

    let trust_list = anon.trust_list().await.expect("trust list");
    Walked {
        pass,
        trust_list,
        start,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_through_ends_in_a_pass_that_verifies_offline() {
    let srv = TestServer::start().await;
    let walked = walk_through(&srv).await;

    let trust = TrustList::from_jwks_json(&walked.trust_list.to_string()).expect("a valid trust list");
    let opts = VerifyOptions {
        revocation_list_age_secs: Some(0),
        ..VerifyOptions::default()
    };
    let during = (walked.start + time::Duration::minutes(30)).unix_timestamp();
    let v = verify_pass(&walked.pass.qr_text, &trust, &|_| false, during, &opts);
    assert_eq!(v.result, VerdictColour::Green, "{v:?}");
    assert_eq!(v.reasons, vec![ReasonCode::Valid]);
    let claims = v.claims.expect("claims of a valid pass");
    let id = PassId::parse(&walked.pass.id).expect("pass id");
    assert_eq!(&claims.pass_id, id.as_bytes());
    assert_eq!(claims.reason, "medical");
    assert_eq!(claims.document_last4.len(), 4);
    assert_eq!(claims.birth_year, 1990);
    assert_eq!(claims.not_before, walked.start.unix_timestamp());

    // Outside the window, or revoked, it is not green.
    let before = (walked.start - time::Duration::hours(1)).unix_timestamp();
    assert_ne!(
        verify_pass(&walked.pass.qr_text, &trust, &|_| false, before, &opts).result,
        VerdictColour::Green
    );
    assert_ne!(
        verify_pass(&walked.pass.qr_text, &trust, &|_| true, during, &opts).result,
        VerdictColour::Green
    );
    srv.finish().await;
}

/// Runs `scripts/verify_pass.py`; `None` when python3 or its modules are missing.
fn python_verify(trust_list: &std::path::Path, qr_text: &str, now: i64) -> Option<(i32, serde_json::Value)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/verify_pass.py");
    let probe = Command::new("python3")
        .args(["-c", "import cbor2, cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => {
            assert!(
                std::env::var("MPASS_REQUIRE_PYTHON").as_deref() != Ok("1"),
                "MPASS_REQUIRE_PYTHON=1 but python3 with cbor2 and cryptography is not available"
            );
            eprintln!("notice: python3 with cbor2 and cryptography not found; skipping the independent verifier");
            return None;
        }
    }
    let out = Command::new("python3")
        .arg(script)
        .arg("--trust-list")
        .arg(trust_list)
        .arg("--now")
        .arg(now.to_string())
        .arg(qr_text)
        .output()
        .expect("run verify_pass.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "verify_pass.py printed no JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some((out.status.code().unwrap_or(-1), json))
}

/// One character of the Base45 body changed to another Base45 character.
fn altered(qr_text: &str, at: usize) -> String {
    let mut chars: Vec<char> = qr_text.chars().collect();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_python_verifier_accepts_the_pass_and_refuses_an_altered_one() {
    let srv = TestServer::start().await;
    let walked = walk_through(&srv).await;
    let trust_file = srv.dir.path().join("trust-list.json");
    std::fs::write(&trust_file, walked.trust_list.to_string()).expect("write the trust list");
    let during = (walked.start + time::Duration::minutes(30)).unix_timestamp();

    let Some((status, result)) = python_verify(&trust_file, &walked.pass.qr_text, during) else {
        srv.finish().await;
        return;
    };
    assert_eq!(status, 0, "{result}");
    assert_eq!(result["valid"], true, "{result}");
    assert_eq!(result["claims"]["pass_id"], walked.pass.id.as_str());
    assert_eq!(result["claims"]["short_code"], walked.pass.short_code.as_str());
    assert_eq!(result["claims"]["reason"], "medical");

    // One character changed, in the signature near the end and in the claims in the middle.
    let text = &walked.pass.qr_text;
    for at in [text.len() - 5, text.len() / 2] {
        let bad = altered(text, at);
        let (status, result) = python_verify(&trust_file, &bad, during).expect("python was there a moment ago");
        assert_ne!(status, 0, "altered at {at}: {result}");
        assert_eq!(result["valid"], false, "altered at {at}: {result}");
    }
    // Outside the validity window it is not valid either.
    let (status, result) = python_verify(&trust_file, text, walked.start.unix_timestamp() - 3600).expect("python");
    assert_eq!(status, 1, "{result}");
    srv.finish().await;
}
