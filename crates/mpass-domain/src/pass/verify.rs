//! The offline pass check (SPEC §8): signature, validity window, revocation, route.
//!
//! Checks run in order and stop at the first failure that makes the content
//! untrustworthy (malformed, unknown key, bad signature, compromised key), because
//! claims from those must not be shown. After a good signature every remaining check
//! runs and all failures are reported; the colour is the worst of them.
//!
//! Route check: geocodes are hierarchical digit strings (division `20`, district
//! `2003`, thana `20030004`). The checkpoint is on route when its district (first four
//! digits) matches the district of either end. When either side is only known at
//! division level, a matching division is accepted rather than flagged.

use super::claims::PassClaims;
use super::cose::{Sign1, to_be_signed};
use super::credential::{parse_pass_text, trim_pass_text};
use super::reason::{ReasonCode, VerdictColour};
use super::trust::{TrustList, TrustedKey};
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

/// Digits of a geocode that identify a district.
const DISTRICT_DIGITS: usize = 4;

/// Settings of a verifying device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOptions {
    /// How far the device clock may be off, in seconds, applied to `nbf` and `exp`.
    pub clock_tolerance_secs: i64,
    /// Age of the loaded revocation list in seconds; `None` if there is none.
    pub revocation_list_age_secs: Option<i64>,
    /// Oldest revocation list accepted without an amber warning, in seconds.
    pub max_revocation_age_secs: i64,
    /// Geocode of the area the checkpoint is in, if known.
    pub checkpoint_area: Option<u64>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            clock_tolerance_secs: 300,
            revocation_list_age_secs: None,
            max_revocation_age_secs: 24 * 60 * 60,
            checkpoint_area: None,
        }
    }
}

/// The outcome of checking a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Green, amber or red: the worst colour among `reasons`.
    pub result: VerdictColour,
    /// Why; `[valid]` when green.
    pub reasons: Vec<ReasonCode>,
    /// The claims, present only when a trusted, uncompromised key signed them.
    pub claims: Option<PassClaims>,
    /// The key id the pass names, once it has been parsed (base64url in JSON).
    #[serde(with = "kid_base64url")]
    pub kid: Option<[u8; 8]>,
}

impl Verification {
    /// The verdict for a pass whose claims cannot be trusted: red (or as `reason` says),
    /// no claims.
    pub fn rejected(reason: ReasonCode, kid: Option<[u8; 8]>) -> Self {
        Verification {
            result: reason.colour(),
            reasons: vec![reason],
            claims: None,
            kid,
        }
    }
}

/// Checks a pass offline against a trust list and a revocation predicate at time `now`
/// (Unix seconds). Never panics and never errors: every problem is a reason code.
pub fn verify_pass(
    qr_text: &str,
    trust: &TrustList,
    revoked: &dyn Fn(&[u8; 16]) -> bool,
    now: i64,
    opts: &VerifyOptions,
) -> Verification {
    match ParsedPass::parse(qr_text) {
        Ok(parsed) => parsed.verify(trust, revoked, now, opts, None),
        Err(reason) => Verification::rejected(reason, None),
    }
}

/// A pass text decoded but not yet checked: nothing in it is trusted until
/// [`ParsedPass::verify`]. The issuer uses the untrusted pass id to look up its own record
/// of the pass before checking (see `issued_text` there).
pub struct ParsedPass {
    text: String,
    sign1: Sign1,
    claims: PassClaims,
}

impl ParsedPass {
    /// Decodes the text (size caps, Base45, strict CBOR); a text that does not decode is
    /// already a verdict: `Verification::rejected(reason, None)`.
    pub fn parse(qr_text: &str) -> Result<ParsedPass, ReasonCode> {
        let (sign1, claims) = parse_pass_text(qr_text)?;
        Ok(ParsedPass {
            text: trim_pass_text(qr_text).to_owned(),
            sign1,
            claims,
        })
    }

    /// The pass id the text claims. Unverified: use it only to look something up.
    pub fn claimed_pass_id(&self) -> [u8; 16] {
        self.claims.pass_id
    }

    /// Checks the pass as [`verify_pass`] does. `issued_text` is the issuer's stored text of
    /// the pass with the claimed id, when the caller is the issuer: if the presented text is
    /// byte for byte that text (compared in constant time), its signature is the one the
    /// issuer made and stored, so the Ed25519 check is skipped; everything else (the key is
    /// in the trust list and not compromised, may sign this pass, the validity window,
    /// revocation, route) is checked as usual. Any other text is verified in full.
    pub fn verify(
        self,
        trust: &TrustList,
        revoked: &dyn Fn(&[u8; 16]) -> bool,
        now: i64,
        opts: &VerifyOptions,
        issued_text: Option<&str>,
    ) -> Verification {
        let issued_here = issued_text.is_some_and(|stored| is_issued_text(&self.text, stored));
        let ParsedPass { sign1, claims, .. } = self;
        verify_signed(sign1, claims, trust, revoked, now, opts, issued_here)
    }

    /// Checks the pass as [`ParsedPass::verify`] would with the issuer's stored text, on
    /// the presumption that the stored text is byte for byte this one: the answer comes
    /// out only through [`IssuedPresumption::verification_for`], for a stored text the
    /// presumption holds for. It lets a caller check everything but the stored text before
    /// reading it, and the reader of the stored text only compare.
    pub fn verify_if_issued(
        self,
        trust: &TrustList,
        revoked: &dyn Fn(&[u8; 16]) -> bool,
        now: i64,
        opts: &VerifyOptions,
    ) -> IssuedPresumption {
        let ParsedPass { text, sign1, claims } = self;
        IssuedPresumption {
            verification: verify_signed(sign1, claims, trust, revoked, now, opts, true),
            text,
        }
    }
}

/// A presented pass checked on the presumption that its issuer stored this very text
/// ([`ParsedPass::verify_if_issued`]).
#[derive(Debug)]
pub struct IssuedPresumption {
    text: String,
    verification: Verification,
}

impl IssuedPresumption {
    /// Whether the presumption holds for `issued_text` (the issuer's stored text of the
    /// pass): byte for byte the presented text, compared in constant time.
    pub fn holds(&self, issued_text: &str) -> bool {
        is_issued_text(&self.text, issued_text)
    }

    /// The verdict [`ParsedPass::verify`] gives with `issued_text` as the stored text, when
    /// the presumption [`holds`](IssuedPresumption::holds) for it; otherwise the
    /// presumption back, whose [`text`](IssuedPresumption::text) must be verified in full.
    pub fn verification_for(self, issued_text: &str) -> Result<Verification, Box<IssuedPresumption>> {
        if self.holds(issued_text) {
            Ok(self.verification)
        } else {
            Err(Box::new(self))
        }
    }

    /// The presented text (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Whether `issued_text` (the issuer's stored text of the pass) is byte for byte the
/// presented (trimmed) text, compared in constant time: then its signature is the one the
/// issuer made, and no Ed25519 check is needed.
fn is_issued_text(presented: &str, issued_text: &str) -> bool {
    constant_time_eq(trim_pass_text(issued_text), presented)
}

/// [`ParsedPass::verify`] after the text comparison: `issued_here` skips the Ed25519 check.
fn verify_signed(
    sign1: Sign1,
    claims: PassClaims,
    trust: &TrustList,
    revoked: &dyn Fn(&[u8; 16]) -> bool,
    now: i64,
    opts: &VerifyOptions,
    issued_here: bool,
) -> Verification {
    let kid = Some(sign1.kid);
    let candidates: Vec<&TrustedKey> = trust.keys_with_kid(&sign1.kid).collect();
    if candidates.is_empty() {
        return Verification::rejected(ReasonCode::UnknownKey, kid);
    }
    let signers: Vec<&TrustedKey> = if issued_here {
        candidates
    } else {
        let message = to_be_signed(&sign1.protected, &sign1.payload);
        let signature = Signature::from_bytes(&sign1.signature);
        // Kids are 64-bit hashes: try every key that shares one, not just the first.
        candidates
            .into_iter()
            .filter(|k| k.key.verify_strict(&message, &signature).is_ok())
            .collect()
    };
    if signers.is_empty() {
        return Verification::rejected(ReasonCode::BadSignature, kid);
    }
    if signers.iter().any(|k| k.compromised) {
        return Verification::rejected(ReasonCode::KeyCompromised, kid);
    }
    check_claims(claims, &signers, revoked, now, opts, kid)
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The checks after a good signature: all run, all failures are reported.
fn check_claims(
    claims: PassClaims,
    signers: &[&TrustedKey],
    revoked: &dyn Fn(&[u8; 16]) -> bool,
    now: i64,
    opts: &VerifyOptions,
    kid: Option<[u8; 8]>,
) -> Verification {
    let mut reasons = Vec::new();
    if !signers.iter().any(|k| k.may_sign(&claims)) {
        reasons.push(ReasonCode::KeyNotValidForPass);
    }
    let tolerance = opts.clock_tolerance_secs.max(0);
    if now.saturating_add(tolerance) < claims.not_before {
        reasons.push(ReasonCode::NotYetValid);
    }
    if now.saturating_sub(tolerance) >= claims.expires {
        reasons.push(ReasonCode::Expired);
    }
    if revoked(&claims.pass_id) {
        reasons.push(ReasonCode::Revoked);
    }
    match opts.revocation_list_age_secs {
        None => reasons.push(ReasonCode::RevocationListMissing),
        Some(age) if age > opts.max_revocation_age_secs => {
            reasons.push(ReasonCode::RevocationListStale);
        }
        Some(_) => {}
    }
    let off_route = opts
        .checkpoint_area
        .is_some_and(|checkpoint| !on_route(checkpoint, claims.from_area) && !on_route(checkpoint, claims.to_area));
    if off_route {
        reasons.push(ReasonCode::CheckpointOffRoute);
    }
    if reasons.is_empty() {
        reasons.push(ReasonCode::Valid);
    }
    let result = reasons
        .iter()
        .map(ReasonCode::colour)
        .max()
        .unwrap_or(VerdictColour::Red);
    Verification {
        result,
        reasons,
        claims: Some(claims),
        kid,
    }
}

/// Whether a checkpoint area and a route end share a district (see the module docs).
/// Runs in every check with a position: no allocation.
pub fn on_route(checkpoint_area: u64, route_area: u64) -> bool {
    let (a, b) = (District::of(checkpoint_area), District::of(route_area));
    let (a, b) = (a.digits(), b.digits());
    a.starts_with(b) || b.starts_with(a)
}

/// The first [`DISTRICT_DIGITS`] decimal digits of a geocode (all of them when it has fewer).
struct District {
    digits: [u8; 20],
    start: usize,
}

impl District {
    fn of(area: u64) -> District {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut n = area;
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        District { digits, start }
    }

    fn digits(&self) -> &[u8] {
        let all = &self.digits[self.start..];
        &all[..all.len().min(DISTRICT_DIGITS)]
    }
}

mod kid_base64url {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kid: &Option<[u8; 8]>, s: S) -> Result<S::Ok, S::Error> {
        match kid {
            Some(kid) => s.serialize_some(&URL_SAFE_NO_PAD.encode(kid)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 8]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(serde::de::Error::custom)?;
        let kid = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("kid must be 8 bytes"))?;
        Ok(Some(kid))
    }
}
