//! Tests of the audit log's hash chain: entries, seals, and the breaks a check finds.

use super::*;
use serde_json::json;

fn chain(n: i64) -> Vec<AuditEntry> {
    let mut prev = GENESIS_HASH.to_string();
    (1..=n)
        .map(|seq| {
            let e = AuditEvent::new(
                OffsetDateTime::from_unix_timestamp(1_900_000_000 + seq).unwrap(),
                Actor::system(),
                action::APPLICATION_DECIDED,
                format!("application:{seq}"),
                json!({"status": "approved", "n": seq}),
            )
            .seal(seq, &prev);
            prev = e.hash.clone();
            e
        })
        .collect()
}

#[test]
fn a_sealed_chain_verifies() {
    assert_eq!(verify_chain(&chain(5)), Ok(()));
    assert_eq!(verify_chain(&[]), Ok(()));
}

#[test]
fn key_order_does_not_change_the_hash() {
    let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"é"}}"#).unwrap();
    assert_eq!(canonical_json(&a), r#"{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}"#);
}

#[test]
fn an_edited_entry_fails_on_its_content() {
    let mut c = chain(4);
    c[2].data = json!({"status": "rejected", "n": 3});
    let err = verify_chain(&c).unwrap_err();
    assert_eq!((err.seq, err.problem), (3, ChainProblem::Content));
    let mut c = chain(4);
    c[1].actor = "someone".into();
    assert_eq!(verify_chain(&c).unwrap_err().seq, 2);
}

#[test]
fn a_removed_entry_fails_on_the_sequence() {
    let mut c = chain(4);
    c.remove(1);
    let err = verify_chain(&c).unwrap_err();
    assert_eq!(err.seq, 2);
    assert!(matches!(err.problem, ChainProblem::Sequence { expected: 2, found: 3 }));
}

#[test]
fn a_removed_entry_renumbered_fails_on_the_link() {
    let mut c = chain(4);
    c.remove(1);
    c[1].seq = 2;
    c[2].seq = 3;
    assert_eq!(verify_chain(&c).unwrap_err().seq, 2);
}

#[test]
fn swapped_entries_fail() {
    let mut c = chain(4);
    c.swap(1, 2);
    assert_eq!(verify_chain(&c).unwrap_err().seq, 2);
    // Swapped contents under the original numbers.
    let mut c = chain(4);
    let (a, b) = (c[1].clone(), c[2].clone());
    c[1] = AuditEntry { seq: 2, ..b };
    c[2] = AuditEntry { seq: 3, ..a };
    assert_eq!(verify_chain(&c).unwrap_err().seq, 2);
}
