//! The trust list: which public keys may sign passes, and when (SPEC §8).
//!
//! Published as a JWK Set (RFC 7517, keys per RFC 8037). Each key object has exactly
//! these members:
//!
//! | member | meaning |
//! |---|---|
//! | `kty` | `"OKP"` |
//! | `crv` | `"Ed25519"` |
//! | `x` | the 32-byte public key, base64url without padding |
//! | `kid` | the 8-byte key id (SHA-256 prefix of `x`), base64url without padding |
//! | `use` | optional, `"sig"` |
//! | `alg` | optional, `"EdDSA"` |
//! | `nbf` | Unix seconds: earliest `iat` of a pass this key may sign |
//! | `exp` | optional, Unix seconds: latest `exp` of a pass this key may sign; the key stays published until then |
//! | `status` | `"active"` (signing now), `"retired"` (no longer signing, still verifies) or `"compromised"` (every pass it signed is red) |
//!
//! Parsing is strict because a trust list decides what officers accept: the document is
//! size-capped, unknown members are refused, and a `kid` that is not the hash of its `x`
//! is refused rather than trusted. `retired` and `active` verify alike; only `nbf`/`exp`
//! bound a key, so written lists say `active` or `compromised`.

use super::claims::PassClaims;
use super::error::PassError;
use super::keys::kid_of;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// Largest trust list document accepted, in bytes.
pub const MAX_TRUST_LIST_BYTES: usize = 64 * 1024;
/// Most keys accepted in one trust list.
pub const MAX_TRUSTED_KEYS: usize = 128;

/// A public key trusted to sign passes during a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Key id, the first 8 bytes of SHA-256 of `key`.
    pub kid: [u8; 8],
    /// The Ed25519 public key.
    pub key: VerifyingKey,
    /// Earliest issue time (`iat`) of a pass this key may sign, Unix seconds.
    pub not_before: i64,
    /// Latest expiry (`exp`) of a pass this key may sign, Unix seconds; `None` if open.
    pub not_after: Option<i64>,
    /// Whether the key has leaked: its passes are all red.
    pub compromised: bool,
}

impl TrustedKey {
    /// A non-compromised key entry, with its kid computed from the key.
    pub fn new(key: VerifyingKey, not_before: i64, not_after: Option<i64>) -> Self {
        TrustedKey {
            kid: kid_of(&key),
            key,
            not_before,
            not_after,
            compromised: false,
        }
    }

    /// Whether a pass with these claims is within what this key may sign.
    pub fn may_sign(&self, claims: &PassClaims) -> bool {
        claims.issued_at >= self.not_before && self.not_after.is_none_or(|last| claims.expires <= last)
    }
}

/// The set of keys a verifier trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    /// The keys, in publication order.
    pub keys: Vec<TrustedKey>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Jwk {
    kty: String,
    crv: String,
    x: String,
    kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    status: KeyStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KeyStatus {
    Active,
    Retired,
    Compromised,
}

fn invalid(what: &str) -> PassError {
    PassError::TrustList(what.to_owned())
}

fn decode_fixed<const N: usize>(b64: &str, what: &str) -> Result<[u8; N], PassError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| invalid(&format!("{what} is not base64url")))?;
    bytes
        .try_into()
        .map_err(|_| invalid(&format!("{what} must be {N} bytes")))
}

impl TrustList {
    /// Every key whose kid matches; kids are short hashes, so there may be several.
    pub fn keys_with_kid<'a>(&'a self, kid: &'a [u8; 8]) -> impl Iterator<Item = &'a TrustedKey> {
        self.keys.iter().filter(move |k| &k.kid == kid)
    }

    /// Parses a JWK Set document strictly (see the module docs).
    pub fn from_jwks_json(json: &str) -> Result<Self, PassError> {
        if json.len() > MAX_TRUST_LIST_BYTES {
            return Err(invalid("document too large"));
        }
        let set: JwkSet = serde_json::from_str(json).map_err(|e| invalid(&e.to_string()))?;
        if set.keys.len() > MAX_TRUSTED_KEYS {
            return Err(invalid("too many keys"));
        }
        let keys = set.keys.iter().map(Self::parse_key).collect::<Result<_, _>>()?;
        Ok(TrustList { keys })
    }

    fn parse_key(jwk: &Jwk) -> Result<TrustedKey, PassError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(invalid("key must be kty OKP, crv Ed25519"));
        }
        if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(invalid("use must be sig"));
        }
        if jwk.alg.as_deref().is_some_and(|a| a != "EdDSA") {
            return Err(invalid("alg must be EdDSA"));
        }
        let x: [u8; 32] = decode_fixed(&jwk.x, "x")?;
        let key = VerifyingKey::from_bytes(&x).map_err(|_| invalid("x is not an Ed25519 point"))?;
        if key.is_weak() {
            return Err(invalid("x is a weak key"));
        }
        let kid: [u8; 8] = decode_fixed(&jwk.kid, "kid")?;
        if kid != kid_of(&key) {
            return Err(invalid("kid does not match x"));
        }
        if jwk.exp.is_some_and(|exp| exp < jwk.nbf) {
            return Err(invalid("exp before nbf"));
        }
        Ok(TrustedKey {
            kid,
            key,
            not_before: jwk.nbf,
            not_after: jwk.exp,
            compromised: jwk.status == KeyStatus::Compromised,
        })
    }

    /// Writes the list as a JWK Set document.
    pub fn to_jwks_json(&self) -> String {
        let set = JwkSet {
            keys: self
                .keys
                .iter()
                .map(|k| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: URL_SAFE_NO_PAD.encode(k.key.as_bytes()),
                    kid: URL_SAFE_NO_PAD.encode(k.kid),
                    key_use: Some("sig".into()),
                    alg: Some("EdDSA".into()),
                    nbf: k.not_before,
                    exp: k.not_after,
                    status: if k.compromised {
                        KeyStatus::Compromised
                    } else {
                        KeyStatus::Active
                    },
                })
                .collect(),
        };
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(&set).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::PassSigningKey;
    use super::*;

    fn list() -> TrustList {
        let a = PassSigningKey::from_bytes(&[1u8; 32]).verifying_key();
        let b = PassSigningKey::from_bytes(&[2u8; 32]).verifying_key();
        let mut compromised = TrustedKey::new(b, 100, Some(200));
        compromised.compromised = true;
        TrustList {
            keys: vec![TrustedKey::new(a, 0, None), compromised],
        }
    }

    #[test]
    fn json_round_trip() {
        let json = list().to_jwks_json();
        assert!(json.contains("\"kty\":\"OKP\""), "{json}");
        assert!(json.contains("\"status\":\"compromised\""), "{json}");
        assert_eq!(TrustList::from_jwks_json(&json), Ok(list()));
    }

    fn one_key(edit: impl Fn(&mut serde_json::Value)) -> Result<TrustList, PassError> {
        let mut doc: serde_json::Value = serde_json::from_str(&list().to_jwks_json()).unwrap();
        edit(&mut doc["keys"][0]);
        TrustList::from_jwks_json(&doc.to_string())
    }

    #[test]
    fn strict_parsing() {
        assert!(one_key(|_| {}).is_ok());
        assert!(one_key(|k| k["status"] = "retired".into()).is_ok());
        let other_kid = URL_SAFE_NO_PAD.encode(list().keys[1].kid);
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let bad: Vec<Edit> = vec![
            Box::new(move |k| k["kid"] = other_kid.clone().into()),
            Box::new(|k| k["kid"] = "AAAA".into()),
            Box::new(|k| k["x"] = "AAAA".into()),
            Box::new(|k| k["x"] = URL_SAFE_NO_PAD.encode([0u8; 32]).into()),
            Box::new(|k| k["crv"] = "X25519".into()),
            Box::new(|k| k["kty"] = "EC".into()),
            Box::new(|k| k["alg"] = "ES256".into()),
            Box::new(|k| k["use"] = "enc".into()),
            Box::new(|k| k["status"] = "revoked".into()),
            Box::new(|k| k["extra"] = 1.into()),
            Box::new(|k| k["exp"] = (-1).into()),
            Box::new(|k| k["nbf"] = "soon".into()),
            Box::new(|k| {
                k.as_object_mut().unwrap().remove("status");
            }),
        ];
        for (i, edit) in bad.iter().enumerate() {
            assert!(one_key(edit).is_err(), "case {i}");
        }
        assert!(TrustList::from_jwks_json("{\"keys\":[],\"x\":1}").is_err());
        assert!(TrustList::from_jwks_json("not json").is_err());
        let huge = format!("{{\"keys\":[]{}}}", " ".repeat(MAX_TRUST_LIST_BYTES));
        assert_eq!(
            TrustList::from_jwks_json(&huge),
            Err(PassError::TrustList("document too large".into()))
        );
    }

    #[test]
    fn key_validity_window() {
        let key = &list().keys[1];
        let mut claims = super::super::claims::tests::typical();
        (claims.issued_at, claims.not_before, claims.expires) = (100, 100, 200);
        assert!(key.may_sign(&claims));
        claims.issued_at = 99;
        assert!(!key.may_sign(&claims));
        (claims.issued_at, claims.expires) = (100, 201);
        assert!(!key.may_sign(&claims));
    }
}
