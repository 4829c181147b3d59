//! Access tokens: JWTs signed with EdDSA (Ed25519) and a `kid`, checked against a key set.
//!
//! Written by hand rather than with a JWT library: the format is small, and owning it lets
//! us fix the algorithm, check `kid`, `iss`, `aud` and `exp` explicitly, and use
//! `verify_strict`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of an access token.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Lifetime of a refresh token.
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
/// Largest token accepted, checked before any decoding.
const MAX_TOKEN_BYTES: usize = 4096;

/// The claims of an access token (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub districts: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Why a token was refused. Deliberately coarse: callers answer 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer or audience")]
    WrongAudience,
}

/// The `kid` of an Ed25519 key: base64url of the first 8 bytes of SHA-256 of the raw key.
pub fn kid_of(key: &VerifyingKey) -> String {
    B64.encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Signs and checks access tokens. Holds every key that may still verify, and the one that signs.
pub struct TokenKeys {
    signing: SigningKey,
    signing_kid: String,
    verifying: Vec<(String, VerifyingKey)>,
    pub issuer: String,
    pub audience: String,
    /// Access tokens whose signature, issuer and audience were checked, by the digest of
    /// their text ([`token_key`]): a client sends the same token for 15 minutes, and an
    /// Ed25519 check costs about 50 µs. The expiry is still checked at every use. Bounded
    /// ([`Verified`]).
    verified: std::sync::Mutex<Verified>,
}

/// How many verified access tokens are remembered (about 340 bytes each with their claims,
/// digest and slot, so at most about 32 MiB). Sized for a national police force on a launch
/// day: one officer may check 120 passes a minute, so 20,000 checks a second come from at
/// least 10,000 officers, each with a token of their own, and up to this many tokens in
/// use at once are all found. Beyond it, each check whose token was forgotten pays an
/// Ed25519 check again. Until the thirty-third round the cache kept each token's text (a
/// further 380-odd bytes: 732 bytes a token in all) and held half as many in about the
/// same memory; it also no longer keeps live bearer tokens in the process's memory.
const VERIFIED_CAPACITY: usize = 98_304;

/// What the cache knows a token by: the first 16 bytes of the SHA-256 of its text. A lookup
/// costs about 0.3 µs with it, against 0.1 µs for the text itself (a 360-byte token, with
/// the CPU's SHA instructions): under half a percent of an online check. Only tokens whose
/// signature was checked are stored, so a forged token is taken for a remembered one only
/// if it shares those 128 bits with it: a second preimage of SHA-256 truncated to 128
/// bits, as far out of reach as forging the signature. Comparing the digests is as strict
/// as comparing the texts, and a digest is 16 bytes where a text was 380.
fn token_key(token: &str) -> TokenKey {
    let digest = Sha256::digest(token.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(key)
}

type TokenKey = u128;

type Claims = std::sync::Arc<AccessClaims>;

/// How many remembered tokens a full cache compares to choose the one it forgets.
const EVICTION_SAMPLE: usize = 16;

/// The verified tokens, with when each was last used (a count of uses and insertions). A
/// new token, when the cache is full, takes the slot of the least recently used of
/// [`EVICTION_SAMPLE`] slots drawn at random (the sampled LRU of Redis): so every token in
/// use stays remembered while no more than [`VERIFIED_CAPACITY`] are, however they take
/// turns, and what goes first is what is no longer used (the many citizens of a launch
/// day who came once, an officer's token after its refresh).
///
/// Two generations of half the size did this before, the previous one dropped when the
/// current one filled: officers taking turns in a round longer than a generation (27,869
/// in `scripts/bench.sh` on a host with a ceiling of 100,000 a second) lost an eighth of
/// their tokens at every turn of it, and each such check paid an Ed25519 check again. The
/// clock algorithm (a bit per slot, set when used) kept such a round, but when a new round
/// of officers logged in it forgot their new tokens before the old round's, whose bits
/// were still set (a simulation of `scripts/bench.sh`'s five blocks of 26,572 officers:
/// 83,395 repeated verifications with two generations, 90,320 with the clock, 0 sampled).
struct Verified {
    /// Each token's claims and slot, by [`token_key`].
    by_token: std::collections::HashMap<TokenKey, (Claims, u32), std::hash::BuildHasherDefault<KeyHasher>>,
    /// The slots: each one's token and its last use.
    tokens: Vec<TokenKey>,
    last_used: Vec<u64>,
    uses: u64,
    /// xorshift64's state, for the slots sampled.
    draw: u64,
}

impl Default for Verified {
    fn default() -> Self {
        Verified {
            by_token: Default::default(),
            tokens: Vec::new(),
            last_used: Vec::new(),
            uses: 0,
            draw: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Verified {
    fn get(&mut self, token: TokenKey) -> Option<Claims> {
        let (claims, slot) = self.by_token.get(&token)?;
        self.uses += 1;
        self.last_used[*slot as usize] = self.uses;
        Some(claims.clone())
    }

    fn insert(&mut self, token: TokenKey, claims: Claims) {
        self.uses += 1;
        // Two requests may verify the same new token at once: the second only replaces.
        if let Some(known) = self.by_token.get_mut(&token) {
            known.0 = claims;
            return;
        }
        let slot = if self.tokens.len() < VERIFIED_CAPACITY {
            self.tokens.push(token);
            self.last_used.push(self.uses);
            self.tokens.len() - 1
        } else {
            let mut slot = self.next_slot();
            for _ in 1..EVICTION_SAMPLE {
                let other = self.next_slot();
                if self.last_used[other] < self.last_used[slot] {
                    slot = other;
                }
            }
            let old = std::mem::replace(&mut self.tokens[slot], token);
            self.by_token.remove(&old);
            self.last_used[slot] = self.uses;
            slot
        };
        self.by_token.insert(token, (claims, slot as u32));
    }

    fn next_slot(&mut self) -> usize {
        self.draw ^= self.draw << 13;
        self.draw ^= self.draw >> 7;
        self.draw ^= self.draw << 17;
        (self.draw % self.tokens.len() as u64) as usize
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_token.len()
    }
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    kid: Option<String>,
}

impl TokenKeys {
    /// `signing` signs new tokens; `also_trusted` are older public keys still accepted.
    pub fn new(signing: SigningKey, also_trusted: Vec<VerifyingKey>, issuer: &str, audience: &str) -> Self {
        let signing_kid = kid_of(&signing.verifying_key());
        let mut verifying = vec![(signing_kid.clone(), signing.verifying_key())];
        verifying.extend(also_trusted.into_iter().map(|k| (kid_of(&k), k)));
        TokenKeys {
            signing,
            signing_kid,
            verifying,
            issuer: issuer.into(),
            audience: audience.into(),
            verified: std::sync::Mutex::new(Verified::default()),
        }
    }

    /// Signs any serialisable claims with the current key (also used for legacy tokens).
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = Header {
            alg: "EdDSA",
            typ: "JWT",
            kid: &self.signing_kid,
        };
        let h = B64.encode(serde_json::to_vec(&header).expect("header serialises"));
        let p = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let input = format!("{h}.{p}");
        let sig = self.signing.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// Issues an access token for `sub` at time `now` (unix seconds). It is remembered as
    /// verified at once: this process signed it, so its first use needs no Ed25519 check
    /// either (the cache is this process's own, and its keys do not change while it runs).
    pub fn issue_access(&self, sub: &str, roles: Vec<String>, districts: Vec<String>, now: i64) -> String {
        let claims = AccessClaims {
            sub: sub.into(),
            roles,
            districts,
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = self.sign(&claims);
        self.remembered().insert(token_key(&token), std::sync::Arc::new(claims));
        token
    }

    /// Checks signature, `kid` and algorithm, and returns the raw payload.
    pub fn verify_raw<C: for<'de> Deserialize<'de>>(&self, token: &str) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header: HeaderIn = B64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let sig_bytes: [u8; 64] = B64
            .decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(TokenError::Malformed)?;
        let sig = Signature::from_bytes(&sig_bytes);
        let signed = &token[..h.len() + 1 + p.len()];
        let mut candidates = self.verifying.iter().filter(|(k, _)| *k == kid).peekable();
        if candidates.peek().is_none() {
            return Err(TokenError::UnknownKey);
        }
        if !candidates.any(|(_, key)| key.verify_strict(signed.as_bytes(), &sig).is_ok()) {
            return Err(TokenError::BadSignature);
        }
        B64.decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)
    }

    /// Checks an access token completely: signature, issuer, audience and expiry. The
    /// claims are shared with the cache of verified tokens, not copied per request.
    pub fn verify_access(&self, token: &str, now: i64) -> Result<std::sync::Arc<AccessClaims>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let key = token_key(token);
        let cached = self.remembered().get(key);
        let c = match cached {
            Some(c) => c,
            None => {
                let c: AccessClaims = self.verify_raw(token)?;
                if c.iss != self.issuer || c.aud != self.audience {
                    return Err(TokenError::WrongAudience);
                }
                let c = std::sync::Arc::new(c);
                self.remembered().insert(key, c.clone());
                c
            }
        };
        if now >= c.exp {
            return Err(TokenError::Expired);
        }
        Ok(c)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, Verified> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The public keys as a JWK Set for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifying
            .iter()
            .map(|(kid, k)| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": kid, "x": B64.encode(k.as_bytes()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The hasher of the cache's digests: a digest is already uniform, so it is its own hash
/// (hashing it again with SipHash would only cost time).
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A new opaque refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("operating system random source");
    let token = B64.encode(b);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    crate::otp::hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests;
