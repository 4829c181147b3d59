//! Property tests of the verifier, and the fixture printer for the Python verifier.

use super::base45;
use super::claims::tests::typical;
use super::claims::{MAX_TIME, PassClaims};
use super::cose::to_be_signed;
use super::verify_tests::{HOUR, assemble, check, key_a, now, opts, protected_for, trust};
use super::*;
use proptest::prelude::*;

/// Prints a signed pass and its trust list for checking `scripts/verify_pass.py` by hand:
/// `cargo test -p mpass-domain pass::verify_tests::print_fixture -- --ignored --nocapture`.
#[test]
#[ignore = "prints a fixture for the Python verifier"]
fn print_fixture() {
    let key = key_a();
    let mut claims = typical();
    claims.vehicle_registration = Some("DM-GA-11-1234".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (claims.issued_at, claims.not_before, claims.expires) = (now - HOUR, now - HOUR, now + 24 * HOUR);
    let text = sign_pass(&claims, &key).unwrap();
    let list = TrustList {
        keys: vec![TrustedKey::new(key.verifying_key(), 0, None)],
    };
    let dir = std::env::temp_dir().join("mpass-pass-fixture");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("trust.json"), list.to_jwks_json()).unwrap();
    std::fs::write(dir.join("pass.txt"), &text).unwrap();
    println!("QR_TEXT={text}");
    println!("SHORT_CODE={}", short_code(&claims.pass_id));
    println!("TRUST_LIST={}", list.to_jwks_json());
    println!("written to {}", dir.display());
}

fn arb_claims() -> impl Strategy<Value = PassClaims> {
    let text = |re: &'static str| proptest::string::string_regex(re).unwrap();
    let times = (0..MAX_TIME - 1)
        .prop_flat_map(|nbf| (Just(nbf), nbf + 1..=MAX_TIME))
        .prop_flat_map(|(nbf, exp)| (0..=exp, Just(nbf), Just(exp)));
    let name = text("\\PC{1,16}").prop_filter("fits and not blank", |n| {
        n.len() <= MAX_HOLDER_NAME_BYTES && !n.trim().is_empty()
    });
    (
        (text("[a-z]{1,16}"), any::<[u8; 16]>(), times, name),
        (text("[A-Z0-9]{1,4}"), any::<u16>(), text("[a-z0-9_]{1,20}")),
        (any::<u64>(), any::<u64>(), any::<bool>()),
        (proptest::option::of(text("[A-Z0-9][A-Z0-9 -]{0,15}")), any::<u8>()),
    )
        .prop_map(
            |(
                (issuer, pass_id, (iat, nbf, exp), holder_name),
                (last4, birth_year, reason),
                (from_area, to_area, round_trip),
                (vehicle_registration, companions),
            )| PassClaims {
                issuer,
                pass_id,
                issued_at: iat,
                not_before: nbf,
                expires: exp,
                holder_name,
                document_last4: last4,
                birth_year,
                reason,
                from_area,
                to_area,
                round_trip,
                vehicle_registration,
                companions,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn valid_claims_round_trip_green_and_fit_version_15(claims in arb_claims()) {
        let key = key_a();
        let text = sign_pass(&claims, &key).unwrap();
        prop_assert!(text.len() <= MAX_PASS_TEXT_LEN);
        let v = check(&text, &trust(&[&key]), claims.not_before, &opts());
        prop_assert_eq!(v.result, VerdictColour::Green);
        prop_assert_eq!(v.claims, Some(claims));
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,600}") {
        let v = check(&text, &trust(&[&key_a()]), now(), &opts());
        prop_assert_eq!(v.result, VerdictColour::Red);
    }

    #[test]
    fn arbitrary_cose_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = format!("MP1:{}", base45::encode(&bytes));
        let v = check(&text, &trust(&[&key_a()]), now(), &opts());
        prop_assert_eq!(v.result, VerdictColour::Red);
    }

    #[test]
    fn arbitrary_payloads_with_valid_envelope_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = key_a();
        let protected = protected_for(key.kid());
        let signature = key.sign(&to_be_signed(&protected, &payload));
        let text = assemble(protected, payload, signature);
        let v = check(&text, &trust(&[&key]), now(), &opts());
        prop_assert_eq!(v.result, VerdictColour::Red);
    }
}
