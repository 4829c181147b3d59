//! COSE_Sign1 (RFC 9052, CBOR tag 18) with EdDSA, exactly as SPEC §7 fixes it.
//!
//! `18([protected: bstr .cbor {1: -8, 4: kid}, unprotected: {}, payload: bstr,
//! signature: bstr])`, signed over `["Signature1", protected, h'', payload]`.
//! Parsing accepts this shape only: no other header parameters (in particular no
//! `crit` and nothing unprotected, which the signature would not cover), an 8-byte kid
//! and a 64-byte signature.

use super::cbor::{Item, Value, encode};
use super::cbor_decode::{ValueRef, decode_ref};
use super::keys::PassSigningKey;

/// CBOR tag of COSE_Sign1.
const TAG_COSE_SIGN1: u64 = 18;
/// COSE header parameter `alg`.
const HEADER_ALG: i64 = 1;
/// COSE header parameter `kid`.
const HEADER_KID: i64 = 4;
/// COSE algorithm EdDSA.
const ALG_EDDSA: i64 = -8;

/// A parsed COSE_Sign1 whose signature is not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sign1 {
    /// The serialized protected header, exactly as received.
    pub protected: Vec<u8>,
    /// The key id from the protected header.
    pub kid: [u8; 8],
    /// The payload (CWT claims), exactly as received.
    pub payload: Vec<u8>,
    /// The Ed25519 signature.
    pub signature: [u8; 64],
}

/// The bytes the signature covers (the Sig_structure for COSE_Sign1).
pub(crate) fn to_be_signed(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// Signs `payload` and returns the tagged COSE_Sign1 bytes.
pub(crate) fn sign1(payload: &[u8], key: &PassSigningKey) -> Vec<u8> {
    let protected = encode(&Value::Map(vec![
        (Value::int(HEADER_ALG), Value::int(ALG_EDDSA)),
        (Value::int(HEADER_KID), Value::Bytes(key.kid().to_vec())),
    ]));
    let signature = key.sign(&to_be_signed(&protected, payload));
    encode(&Value::Tag(
        TAG_COSE_SIGN1,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload.to_vec()),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// Parses tagged COSE_Sign1 bytes of the one accepted shape.
pub(crate) fn parse_sign1(bytes: &[u8]) -> Option<Sign1> {
    let ValueRef::Tag(TAG_COSE_SIGN1, body) = decode_ref(bytes).ok()? else {
        return None;
    };
    let [protected, unprotected, payload, signature] = body.as_array()? else {
        return None;
    };
    if !unprotected.as_map()?.is_empty() {
        return None;
    }
    let protected = protected.as_bytes()?.to_vec();
    let kid = parse_protected(&protected)?;
    Some(Sign1 {
        protected,
        kid,
        payload: payload.as_bytes()?.to_vec(),
        signature: signature.as_bytes()?.try_into().ok()?,
    })
}

/// Returns the kid of a protected header that is exactly `{1: -8, 4: bstr(8)}`.
fn parse_protected(protected: &[u8]) -> Option<[u8; 8]> {
    let header = decode_ref(protected).ok()?;
    let [(alg_key, alg), (kid_key, kid)] = header.as_map()? else {
        return None;
    };
    let shape_ok =
        alg_key.as_i64() == Some(HEADER_ALG) && alg.as_i64() == Some(ALG_EDDSA) && kid_key.as_i64() == Some(HEADER_KID);
    if !shape_ok {
        return None;
    }
    kid.as_bytes()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::super::cbor_decode::decode;
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn layout_matches_the_spec() {
        let key = PassSigningKey::from_bytes(&[1u8; 32]);
        let cose = sign1(b"\xa0", &key);
        // tag 18, array(4), bstr(13) {1: -8, 4: bstr(8) kid}, {}, bstr(1) {}, bstr(64)
        let kid = hex(&key.kid());
        let want_prefix = format!("d2844da201270448{kid}a041a05840");
        assert!(hex(&cose).starts_with(&want_prefix), "{}", hex(&cose));
        assert_eq!(cose.len(), want_prefix.len() / 2 + 64);
        let parsed = parse_sign1(&cose).unwrap();
        assert_eq!(parsed.kid, key.kid());
        assert_eq!(parsed.payload, b"\xa0");
        assert_eq!(
            hex(&to_be_signed(&parsed.protected, &parsed.payload)),
            format!("846a5369676e6174757265314da201270448{kid}4041a0")
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        let key = PassSigningKey::from_bytes(&[1u8; 32]);
        let good = decode(&sign1(b"\xa0", &key)).unwrap();
        let Value::Tag(_, body) = good.clone() else {
            unreachable!()
        };
        let Value::Array(items) = *body else { unreachable!() };
        let with = |i: usize, v: Value| {
            let mut items = items.clone();
            items[i] = v;
            encode(&Value::Tag(18, Box::new(Value::Array(items))))
        };
        let header = |entries: Vec<(Value, Value)>| Value::Bytes(encode(&Value::Map(entries)));
        let kid = Value::Bytes(key.kid().to_vec());
        let bad = [
            // untagged, other tag
            encode(&Value::Array(items.clone())),
            encode(&Value::Tag(98, Box::new(Value::Array(items.clone())))),
            // something in the unprotected header
            with(1, Value::Map(vec![(Value::int(4), kid.clone())])),
            // alg not EdDSA, extra header, missing kid, short kid
            with(
                0,
                header(vec![(Value::int(1), Value::int(-7)), (Value::int(4), kid.clone())]),
            ),
            with(
                0,
                header(vec![
                    (Value::int(1), Value::int(-8)),
                    (Value::int(2), Value::Array(vec![])),
                    (Value::int(4), kid.clone()),
                ]),
            ),
            with(0, header(vec![(Value::int(1), Value::int(-8))])),
            with(
                0,
                header(vec![
                    (Value::int(1), Value::int(-8)),
                    (Value::int(4), Value::Bytes(vec![0; 7])),
                ]),
            ),
            // short signature, text payload
            with(3, Value::Bytes(vec![0; 63])),
            with(2, Value::Text("x".into())),
        ];
        for (i, bytes) in bad.iter().enumerate() {
            assert_eq!(parse_sign1(bytes), None, "case {i}");
        }
        assert!(parse_sign1(&encode(&good)).is_some());
    }
}
