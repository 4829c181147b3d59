//! Feeds arbitrary input to everything a scanner or a downloaded file can reach: the pass
//! text parser and verifier (as text, and as COSE bytes wrapped in a valid `MP1:` Base45
//! envelope so the fuzzer gets past the text layer), the strict CBOR decoder, Base45, the
//! short-code normaliser and the trust-list parser. The invariant is "never panics, never
//! hangs, never allocates without bound"; verdicts must also be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpass_domain::pass::{
    PassSigningKey, ReasonCode, TrustList, TrustedKey, VerdictColour, VerifyOptions, base45, cbor_decode,
    normalize_short_code, verify_pass,
};

/// The key `fuzz/seeds/` passes are signed with, so seeds reach the signature and claim checks.
fn trust() -> TrustList {
    let key = PassSigningKey::from_bytes(&[7u8; 32]);
    TrustList {
        keys: vec![TrustedKey::new(key.verifying_key(), 0, None)],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode & 1 == 1 {
        format!("MP1:{}", base45::encode(rest))
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    let opts = VerifyOptions {
        revocation_list_age_secs: Some(60),
        checkpoint_area: Some(30260014),
        ..VerifyOptions::default()
    };
    let v = verify_pass(&text, &trust(), &|id| id[0] == 0, 1_900_000_000, &opts);
    // Holder data only comes with a good signature, and the colour is the worst reason's.
    assert!(!v.reasons.is_empty());
    let worst = v.reasons.iter().map(ReasonCode::colour).max().unwrap_or(VerdictColour::Red);
    assert_eq!(v.result, worst);
    if v.claims.is_none() {
        assert_eq!(v.result, VerdictColour::Red);
    }
    let _ = cbor_decode::decode(rest);
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = base45::decode(s);
        let _ = normalize_short_code(s);
        let _ = TrustList::from_jwks_json(s);
    }
});
