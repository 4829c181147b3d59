//! Tests of tokens and of the cache of tokens already verified.

use super::*;

fn keys() -> TokenKeys {
    TokenKeys::new(SigningKey::from_bytes(&[7; 32]), vec![], "mpass", "mpass-api")
}

/// The cache knows a token by its digest: the same text finds the same entry, and a
/// text that differs in any one byte (a forged payload under a real signature, or the
/// signature altered) finds none.
#[test]
fn a_remembered_token_is_found_by_its_exact_text_only() {
    let k = keys();
    let t = k.issue_access("u1", vec!["police".into()], vec![], 1000);
    let key = token_key(&t);
    assert_eq!(key, token_key(&t.clone()));
    for i in 0..t.len() {
        let mut other = t.clone().into_bytes();
        other[i] ^= 1;
        let other = String::from_utf8(other).expect("ASCII");
        assert_ne!(token_key(&other), key, "byte {i}");
        assert!(k.remembered().get(token_key(&other)).is_none());
    }
    assert!(k.remembered().get(key).is_some());
}

fn claims(sub: &str) -> Claims {
    std::sync::Arc::new(AccessClaims {
        sub: sub.into(),
        roles: vec!["police".into()],
        districts: vec![],
        iat: 0,
        exp: 900,
        iss: "mpass".into(),
        aud: "mpass-api".into(),
    })
}

/// A token in use stays remembered however many tokens are used once after it, and
/// the tokens used once are forgotten.
#[test]
fn verified_tokens_in_use_survive_a_stream_of_tokens_used_once() {
    let mut v = Verified::default();
    v.insert(token_key("officer"), claims("officer"));
    v.insert(token_key("citizen-0"), claims("citizen-0"));
    for i in 1..3 * VERIFIED_CAPACITY {
        v.insert(token_key(&format!("citizen-{i}")), claims("c"));
        if i % (VERIFIED_CAPACITY / 2) == 0 {
            assert_eq!(
                v.get(token_key("officer")).map(|c| c.sub.clone()).as_deref(),
                Some("officer"),
                "after {i}"
            );
        }
        assert!(v.len() <= VERIFIED_CAPACITY);
    }
    assert!(v.get(token_key("officer")).is_some());
    assert!(v.get(token_key("citizen-0")).is_none());
    assert!(
        v.get(token_key(&format!("citizen-{}", 3 * VERIFIED_CAPACITY - 1)))
            .is_some()
    );
}

/// Officers taking turns, more of them than half the cache holds: after the first
/// round every token is found, whatever order the turns take (with two generations of
/// half the size, a round longer than a generation lost tokens at every turn).
#[test]
fn every_token_in_use_is_found_while_they_fit() {
    let mut v = Verified::default();
    let officers: Vec<String> = (0..VERIFIED_CAPACITY).map(|i| format!("officer-{i}")).collect();
    for o in &officers {
        assert!(v.get(token_key(o)).is_none());
        v.insert(token_key(o), claims(o));
    }
    for round in 0..3 {
        for o in officers.iter().rev().step_by(round + 1) {
            assert_eq!(
                v.get(token_key(o)).map(|c| c.sub.clone()).as_deref(),
                Some(o.as_str()),
                "round {round}"
            );
        }
    }
    // One more token takes the slot of another, and the same token verified twice at
    // once takes one slot.
    v.insert(token_key("newcomer"), claims("newcomer"));
    v.insert(token_key("newcomer"), claims("newcomer"));
    assert_eq!(v.len(), VERIFIED_CAPACITY);
    assert!(v.get(token_key("newcomer")).is_some());
    assert_eq!(officers.iter().filter(|o| v.get(token_key(o)).is_none()).count(), 1);
}

/// A new round of officers (new tokens after a refresh, or the next block of
/// `scripts/bench.sh`) takes the places of the round before, not of each other: after
/// their first turn every new token is found (the clock algorithm forgot the new
/// tokens first, the old ones' bits still set).
#[test]
fn a_new_round_of_tokens_pushes_out_the_round_before() {
    let mut v = Verified::default();
    let n = VERIFIED_CAPACITY * 6 / 10;
    for round in ["before", "after"] {
        let tokens: Vec<String> = (0..n).map(|i| format!("{round}-{i}")).collect();
        for t in &tokens {
            if v.get(token_key(t)).is_none() {
                v.insert(token_key(t), claims(t));
            }
        }
        for turn in 0..3 {
            let missing = tokens.iter().filter(|t| v.get(token_key(t)).is_none()).count();
            assert_eq!(missing, 0, "{round}, turn {turn}");
        }
    }
    assert!(v.len() <= VERIFIED_CAPACITY);
}

/// A token this process issued is remembered with the claims a full verification reads
/// from it; another process (another API node, a restart) verifies it in full.
#[test]
fn an_issued_token_is_remembered_with_the_claims_it_carries() {
    let k = keys();
    let t = k.issue_access("u1", vec!["police".into()], vec!["26".into()], 1000);
    assert_eq!(k.remembered().len(), 1);
    let remembered = k.verify_access(&t, 1001).unwrap();
    assert_eq!(*remembered, k.verify_raw::<AccessClaims>(&t).unwrap());
    let other_node = keys();
    assert_eq!(other_node.verify_access(&t, 1001).unwrap(), remembered);
    assert_eq!(other_node.remembered().len(), 1);
}

#[test]
fn round_trip_and_expiry() {
    let k = keys();
    let t = k.issue_access("u1", vec!["citizen".into()], vec![], 1000);
    let c = k.verify_access(&t, 1001).unwrap();
    assert_eq!(c.sub, "u1");
    assert_eq!(c.exp, 1000 + ACCESS_TTL_SECS);
    // The second check is answered from the verified tokens; expiry still holds.
    assert_eq!(k.verify_access(&t, 1002).unwrap(), c);
    assert_eq!(k.verify_access(&t, 1000 + ACCESS_TTL_SECS), Err(TokenError::Expired));
}

#[test]
fn tampering_and_foreign_keys_are_refused() {
    let k = keys();
    let t = k.issue_access("u1", vec!["citizen".into()], vec![], 1000);
    // The genuine token is remembered once verified; that must not help a forgery.
    assert!(k.verify_access(&t, 1001).is_ok());
    let forged_payload =
        B64.encode(br#"{"sub":"u2","roles":["admin"],"iat":1000,"exp":99999,"iss":"mpass","aud":"mpass-api"}"#);
    let parts: Vec<&str> = t.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(k.verify_access(&forged, 1001), Err(TokenError::BadSignature));
    let other = TokenKeys::new(SigningKey::from_bytes(&[8; 32]), vec![], "mpass", "mpass-api");
    assert_eq!(other.verify_access(&t, 1001), Err(TokenError::UnknownKey));
    let wrong_aud = TokenKeys::new(SigningKey::from_bytes(&[7; 32]), vec![], "mpass", "other");
    assert_eq!(wrong_aud.verify_access(&t, 1001), Err(TokenError::WrongAudience));
    assert_eq!(k.verify_access("a.b", 1001), Err(TokenError::Malformed));
    assert_eq!(k.verify_access(&"x".repeat(5000), 1001), Err(TokenError::Malformed));
}

#[test]
fn old_keys_still_verify_after_rotation() {
    let old = keys();
    let t = old.issue_access("u1", vec![], vec![], 1000);
    let new = TokenKeys::new(
        SigningKey::from_bytes(&[9; 32]),
        vec![SigningKey::from_bytes(&[7; 32]).verifying_key()],
        "mpass",
        "mpass-api",
    );
    assert!(new.verify_access(&t, 1001).is_ok());
    assert_eq!(new.jwks()["keys"].as_array().unwrap().len(), 2);
}
