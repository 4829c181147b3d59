//! Tests of the offline verifier: every verdict, tampering, kid collisions, properties.

use super::base45;
use super::cbor::{Item, Value, encode};
use super::cbor_decode::decode;
use super::claims::PassClaims;
use super::claims::tests::typical;
use super::cose::to_be_signed;
use super::*;

pub(super) const HOUR: i64 = 3600;

pub(super) fn key_a() -> PassSigningKey {
    PassSigningKey::from_bytes(&[0xa1; 32])
}

pub(super) fn key_b() -> PassSigningKey {
    PassSigningKey::from_bytes(&[0xb2; 32])
}

pub(super) fn trust(keys: &[&PassSigningKey]) -> TrustList {
    TrustList {
        keys: keys
            .iter()
            .map(|k| TrustedKey::new(k.verifying_key(), 0, None))
            .collect(),
    }
}

pub(super) fn opts() -> VerifyOptions {
    VerifyOptions {
        revocation_list_age_secs: Some(60),
        ..VerifyOptions::default()
    }
}

pub(super) fn now() -> i64 {
    typical().not_before + HOUR
}

pub(super) fn never(_: &[u8; 16]) -> bool {
    false
}

pub(super) fn check(text: &str, trust: &TrustList, at: i64, opts: &VerifyOptions) -> Verification {
    verify_pass(text, trust, &never, at, opts)
}

fn assert_verdict(v: &Verification, colour: VerdictColour, reasons: &[ReasonCode]) {
    assert_eq!(v.result, colour, "{v:?}");
    assert_eq!(v.reasons, reasons, "{v:?}");
}

/// Builds a COSE_Sign1 text from parts, for forging and tampering.
pub(super) fn assemble(protected: Vec<u8>, payload: Vec<u8>, signature: [u8; 64]) -> String {
    let cose = encode(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    ));
    format!("MP1:{}", base45::encode(&cose))
}

pub(super) fn protected_for(kid: [u8; 8]) -> Vec<u8> {
    encode(&Value::Map(vec![
        (Value::int(1), Value::int(-8)),
        (Value::int(4), Value::Bytes(kid.to_vec())),
    ]))
}

#[test]
fn signed_pass_verifies_green() {
    let text = sign_pass(&typical(), &key_a()).unwrap();
    let v = check(&text, &trust(&[&key_a()]), now(), &opts());
    assert_verdict(&v, VerdictColour::Green, &[ReasonCode::Valid]);
    assert_eq!(v.claims, Some(typical()));
    assert_eq!(v.kid, Some(key_a().kid()));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["result"], "green");
    assert_eq!(json["reasons"][0], "valid");
    assert_eq!(json["kid"].as_str().map(str::len), Some(11));
    assert_eq!(serde_json::from_value::<Verification>(json).unwrap(), v);
}

#[test]
fn every_single_character_change_is_red() {
    let text = sign_pass(&typical(), &key_a()).unwrap();
    let trust = trust(&[&key_a()]);
    for (i, c) in text.char_indices() {
        let replacement = if c == 'A' { 'B' } else { 'A' };
        let mut altered = text.clone();
        altered.replace_range(i..i + 1, &replacement.to_string());
        let v = check(&altered, &trust, now(), &opts());
        assert_eq!(v.result, VerdictColour::Red, "position {i}: {v:?}");
        assert!(v.claims.is_none(), "position {i}");
    }
}

#[test]
fn altered_payload_is_bad_signature() {
    let key = key_a();
    let original = typical().to_cbor();
    let signature = {
        let text = sign_pass(&typical(), &key).unwrap();
        let cose = base45::decode(&text[4..]).unwrap();
        let Value::Tag(_, body) = decode(&cose).unwrap() else {
            unreachable!()
        };
        body.as_array().unwrap()[3].as_bytes().unwrap().try_into().unwrap()
    };
    let mut claims = PassClaims::from_cbor(&original).unwrap();
    claims.companions = 5;
    let forged = assemble(protected_for(key.kid()), encode(&claims.to_cbor()), signature);
    let v = check(&forged, &trust(&[&key]), now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::BadSignature]);
    assert_eq!(v.kid, Some(key.kid()));
    assert_eq!(v.claims, None);
}

#[test]
fn wrong_key_is_unknown_or_bad_signature() {
    let text = sign_pass(&typical(), &key_b()).unwrap();
    let v = check(&text, &trust(&[&key_a()]), now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::UnknownKey]);
    assert_eq!(v.kid, Some(key_b().kid()));

    // Key B signs but names key A's kid.
    let protected = protected_for(key_a().kid());
    let payload = encode(&typical().to_cbor());
    let signature = key_b().sign(&to_be_signed(&protected, &payload));
    let forged = assemble(protected, payload, signature);
    let v = check(&forged, &trust(&[&key_a()]), now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::BadSignature]);
}

#[test]
fn kid_collision_tries_every_matching_key() {
    let text = sign_pass(&typical(), &key_a()).unwrap();
    // An impostor entry with the same kid but another key, listed first.
    let mut impostor = TrustedKey::new(key_b().verifying_key(), 0, None);
    impostor.kid = key_a().kid();
    let genuine = TrustedKey::new(key_a().verifying_key(), 0, None);
    let both = TrustList {
        keys: vec![impostor.clone(), genuine],
    };
    let v = check(&text, &both, now(), &opts());
    assert_verdict(&v, VerdictColour::Green, &[ReasonCode::Valid]);
    let only_impostor = TrustList { keys: vec![impostor] };
    let v = check(&text, &only_impostor, now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::BadSignature]);
}

#[test]
fn compromised_key_is_red_without_claims() {
    let text = sign_pass(&typical(), &key_a()).unwrap();
    let mut list = trust(&[&key_a()]);
    list.keys[0].compromised = true;
    let v = check(&text, &list, now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::KeyCompromised]);
    assert_eq!(v.claims, None);
}

#[test]
fn pass_outside_key_validity_is_red() {
    let claims = typical();
    let text = sign_pass(&claims, &key_a()).unwrap();
    let mut list = trust(&[&key_a()]);
    list.keys[0].not_before = claims.issued_at + 1;
    let v = check(&text, &list, now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::KeyNotValidForPass]);
    list.keys[0].not_before = claims.issued_at;
    list.keys[0].not_after = Some(claims.expires - 1);
    let v = check(&text, &list, now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::KeyNotValidForPass]);
    list.keys[0].not_after = Some(claims.expires);
    assert_eq!(check(&text, &list, now(), &opts()).result, VerdictColour::Green);
}

#[test]
fn validity_window_with_and_without_clock_tolerance() {
    let claims = typical();
    let text = sign_pass(&claims, &key_a()).unwrap();
    let list = trust(&[&key_a()]);
    let strict = VerifyOptions {
        clock_tolerance_secs: 0,
        ..opts()
    };
    let early = claims.not_before - 100;
    assert_verdict(
        &check(&text, &list, early, &opts()),
        VerdictColour::Green,
        &[ReasonCode::Valid],
    );
    assert_verdict(
        &check(&text, &list, early, &strict),
        VerdictColour::Red,
        &[ReasonCode::NotYetValid],
    );
    let too_early = claims.not_before - 301;
    assert_verdict(
        &check(&text, &list, too_early, &opts()),
        VerdictColour::Red,
        &[ReasonCode::NotYetValid],
    );

    let late = claims.expires + 100;
    assert_verdict(
        &check(&text, &list, late, &opts()),
        VerdictColour::Green,
        &[ReasonCode::Valid],
    );
    assert_verdict(
        &check(&text, &list, late, &strict),
        VerdictColour::Red,
        &[ReasonCode::Expired],
    );
    // exp is the first instant the pass is invalid (RFC 8392).
    assert_verdict(
        &check(&text, &list, claims.expires, &strict),
        VerdictColour::Red,
        &[ReasonCode::Expired],
    );
    assert_eq!(
        check(&text, &list, claims.expires - 1, &strict).result,
        VerdictColour::Green
    );
    assert_verdict(
        &check(&text, &list, claims.expires + 300, &opts()),
        VerdictColour::Red,
        &[ReasonCode::Expired],
    );
}

#[test]
fn revoked_pass_is_red() {
    let claims = typical();
    let text = sign_pass(&claims, &key_a()).unwrap();
    let id = claims.pass_id;
    let revoked = move |p: &[u8; 16]| *p == id;
    let v = verify_pass(&text, &trust(&[&key_a()]), &revoked, now(), &opts());
    assert_verdict(&v, VerdictColour::Red, &[ReasonCode::Revoked]);
    assert!(v.claims.is_some(), "officers see whose pass was revoked");
}

#[test]
fn stale_or_missing_revocation_list_is_amber() {
    let text = sign_pass(&typical(), &key_a()).unwrap();
    let list = trust(&[&key_a()]);
    let stale = VerifyOptions {
        revocation_list_age_secs: Some(25 * HOUR),
        ..opts()
    };
    assert_verdict(
        &check(&text, &list, now(), &stale),
        VerdictColour::Amber,
        &[ReasonCode::RevocationListStale],
    );
    let fresh_enough = VerifyOptions {
        revocation_list_age_secs: Some(24 * HOUR),
        ..opts()
    };
    assert_eq!(check(&text, &list, now(), &fresh_enough).result, VerdictColour::Green);
    let missing = VerifyOptions {
        revocation_list_age_secs: None,
        ..opts()
    };
    assert_verdict(
        &check(&text, &list, now(), &missing),
        VerdictColour::Amber,
        &[ReasonCode::RevocationListMissing],
    );
}

#[test]
fn off_route_checkpoint_is_amber() {
    // typical(): from 2003_0004, to 3026_0011.
    let text = sign_pass(&typical(), &key_a()).unwrap();
    let list = trust(&[&key_a()]);
    let at = |area| VerifyOptions {
        checkpoint_area: Some(area),
        ..opts()
    };
    assert_verdict(
        &check(&text, &list, now(), &at(4001_0001)),
        VerdictColour::Amber,
        &[ReasonCode::CheckpointOffRoute],
    );
    assert_verdict(
        &check(&text, &list, now(), &at(2004_0004)),
        VerdictColour::Amber,
        &[ReasonCode::CheckpointOffRoute],
    );
    for on_route in [2003_9999, 3026_0001, 2003, 30] {
        assert_eq!(
            check(&text, &list, now(), &at(on_route)).result,
            VerdictColour::Green,
            "{on_route}"
        );
    }
}

#[test]
fn red_beats_amber_and_all_reasons_are_listed() {
    let claims = typical();
    let text = sign_pass(&claims, &key_a()).unwrap();
    let options = VerifyOptions {
        revocation_list_age_secs: None,
        checkpoint_area: Some(4001),
        ..opts()
    };
    let v = verify_pass(&text, &trust(&[&key_a()]), &|_| true, claims.expires + HOUR, &options);
    assert_verdict(
        &v,
        VerdictColour::Red,
        &[
            ReasonCode::Expired,
            ReasonCode::Revoked,
            ReasonCode::RevocationListMissing,
            ReasonCode::CheckpointOffRoute,
        ],
    );
}

#[test]
fn malformed_and_oversized_text_is_red() {
    let list = trust(&[&key_a()]);
    for text in ["", "MP1:", "hello", "MP1:%%%", "MP1:BB8", "mp1:BB8"] {
        assert_verdict(
            &check(text, &list, now(), &opts()),
            VerdictColour::Red,
            &[ReasonCode::Malformed],
        );
    }
    let huge = "A".repeat(5000);
    assert_verdict(
        &check(&huge, &list, now(), &opts()),
        VerdictColour::Red,
        &[ReasonCode::TooLarge],
    );
}

/// The issuer's check: the stored text stands in for the signature check only when the
/// presented text is exactly that text.
fn issued_check(text: &str, stored: &str, trust: &TrustList) -> Verification {
    match ParsedPass::parse(text) {
        Ok(p) => p.verify(trust, &never, now(), &opts(), Some(stored)),
        Err(reason) => Verification::rejected(reason, None),
    }
}

#[test]
fn issuer_record_replaces_only_the_signature_check() {
    let key = key_a();
    let text = sign_pass(&typical(), &key).unwrap();
    let list = trust(&[&key]);
    let parsed = ParsedPass::parse(&text).unwrap();
    assert_eq!(parsed.claimed_pass_id(), typical().pass_id);

    // The same text (a scanner's trailing newline aside) is green without Ed25519.
    assert_verdict(
        &issued_check(&text, &text, &list),
        VerdictColour::Green,
        &[ReasonCode::Valid],
    );
    assert_verdict(
        &issued_check(&format!("{text}\n"), &text, &list),
        VerdictColour::Green,
        &[ReasonCode::Valid],
    );

    // A forgery naming the same pass is not the stored text: verified in full, and red.
    let mut claims = typical();
    claims.companions = 5;
    let payload = encode(&claims.to_cbor());
    let forged = assemble(protected_for(key.kid()), payload, [7u8; 64]);
    assert_verdict(
        &issued_check(&forged, &text, &list),
        VerdictColour::Red,
        &[ReasonCode::BadSignature],
    );
    // A stored text the key did not sign proves nothing unless presented exactly: the
    // stored record is trusted only for its own bytes.
    assert_verdict(
        &issued_check(&text, &forged, &list),
        VerdictColour::Green,
        &[ReasonCode::Valid],
    );

    // Every check after the signature still runs on the issuer's own text.
    let mut compromised = list.clone();
    compromised.keys[0].compromised = true;
    assert_verdict(
        &issued_check(&text, &text, &compromised),
        VerdictColour::Red,
        &[ReasonCode::KeyCompromised],
    );
    assert_verdict(
        &issued_check(&text, &text, &trust(&[&key_b()])),
        VerdictColour::Red,
        &[ReasonCode::UnknownKey],
    );
    let mut retired = list.clone();
    retired.keys[0].not_after = Some(typical().expires - 1);
    assert_verdict(
        &issued_check(&text, &text, &retired),
        VerdictColour::Red,
        &[ReasonCode::KeyNotValidForPass],
    );
    let expired = match ParsedPass::parse(&text) {
        Ok(p) => p.verify(&list, &never, typical().expires + HOUR, &opts(), Some(&text)),
        Err(reason) => Verification::rejected(reason, None),
    };
    assert_verdict(&expired, VerdictColour::Red, &[ReasonCode::Expired]);
}

/// Checked before the stored text is read, the presumption gives the issuer's verdict for
/// exactly the texts it holds for, and holds for no other stored text.
#[test]
fn a_presumed_issued_text_gives_the_issuers_verdict_where_it_holds() {
    let key = key_a();
    let text = sign_pass(&typical(), &key).unwrap();
    let mut claims = typical();
    claims.companions = 5;
    let forged = assemble(protected_for(key.kid()), encode(&claims.to_cbor()), [7u8; 64]);
    let other = sign_pass(&claims, &key).unwrap();
    let mut compromised = trust(&[&key]);
    compromised.keys[0].compromised = true;
    let presume = |presented: &str, list: &TrustList, at: i64| {
        ParsedPass::parse(presented)
            .unwrap()
            .verify_if_issued(list, &never, at, &opts())
    };
    for list in [trust(&[&key]), compromised, trust(&[&key_b()])] {
        for (presented, at) in [(&text, now()), (&text, typical().expires + HOUR), (&forged, now())] {
            for stored in [&text, &forged, &other] {
                let presumed = presume(presented, &list, at);
                assert_eq!(presumed.text(), presented.as_str());
                assert_eq!(
                    presumed.holds(stored),
                    presented == stored,
                    "{presented} against {stored}"
                );
                assert_eq!(presumed.holds(&format!("{stored}\n")), presented == stored);
                let issued = ParsedPass::parse(presented)
                    .unwrap()
                    .verify(&list, &never, at, &opts(), Some(stored));
                match presumed.verification_for(stored) {
                    Ok(verdict) => {
                        assert_eq!(presented, stored);
                        assert_eq!(verdict, issued);
                    }
                    Err(back) => {
                        assert_ne!(presented, stored);
                        assert_eq!(back.text(), presented.as_str());
                    }
                }
            }
        }
    }
    // A forgery presumed issued is green until compared: only the comparison with the
    // stored text lets its verdict out.
    let forged_presumed = presume(&forged, &trust(&[&key]), now());
    assert!(forged_presumed.verification_for(&text).is_err());
}

/// The route check compares the first four digits of two geocodes as text: a prefix of
/// either matches.
#[test]
fn on_route_compares_district_digits_as_text() {
    let text = |area: u64| area.to_string().chars().take(4).collect::<String>();
    let samples = [
        0,
        3,
        30,
        302,
        2003,
        3026,
        3027,
        20_030_004,
        30_260_011,
        40_010_001,
        9_999_999,
        u64::MAX,
    ];
    for &a in &samples {
        for &b in &samples {
            let (x, y) = (text(a), text(b));
            assert_eq!(on_route(a, b), x.starts_with(&y) || y.starts_with(&x), "{a} {b}");
        }
    }
    assert!(on_route(2003_9999, 2003_0004));
    assert!(!on_route(2004_0004, 2003_0004));
}
