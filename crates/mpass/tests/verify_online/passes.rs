//! Passes checked online: holder data, every kind of bad pass (CLI and Python agree), short codes.

use std::time::Duration;

use mpass::keys::KeysCommand;
use mpass_client::VerifyBody;
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

use crate::common::police::*;
use crate::common::*;
use crate::{qr, raw_verify, verify};

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
