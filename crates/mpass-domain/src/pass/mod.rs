//! The pass credential (SPEC §7) and its offline verification (SPEC §8).
//!
//! A pass is a CWT (RFC 8392) claims map in deterministic CBOR, signed as a COSE_Sign1
//! (RFC 9052) with Ed25519, written as `MP1:` + Base45 (RFC 9285) and shown as a QR
//! code at error correction level Q. The format is fixed byte for byte so that
//! independent verifiers interoperate (`scripts/verify_pass.py` is one); that is why
//! the CBOR codec is hand-written here: it produces exactly one encoding of each value
//! and its decoder accepts nothing else, with size and depth caps for hostile input.
//!
//! - [`sign_pass`] validates [`PassClaims`] against the size limits of [`claims`] and
//!   returns the QR text; [`abbreviate_holder_name`] fits long names into 48 bytes.
//! - [`verify_pass`] checks a QR text against a [`TrustList`] (a JWK Set, see
//!   [`trust`]) and a revocation predicate, returning a green / amber / red
//!   [`Verification`] with stable [`ReasonCode`]s.
//! - [`short_code()`] gives the 8-character code for SMS and phone lookups.
//! - [`qr_svg`] and [`qr_png`] render the QR text.

pub mod base45;
pub mod cbor;
pub mod cbor_decode;
pub mod claims;
mod cose;
mod credential;
mod error;
mod keys;
mod name;
mod qr;
mod reason;
mod short_code;
pub mod trust;
mod verify;

#[cfg(test)]
mod verify_props;
#[cfg(test)]
mod verify_tests;

pub use claims::{MAX_ISSUER_BYTES, MAX_REASON_BYTES, MAX_TIME, MAX_VEHICLE_BYTES, PassClaims};
pub use credential::{MAX_INPUT_TEXT_LEN, MAX_PASS_TEXT_LEN, TEXT_PREFIX, TYPICAL_PASS_TEXT_LEN, sign_pass};
pub use error::PassError;
pub use keys::{FixedPassKeys, PassKeySource, PassSigningKey, kid_of};
pub use name::{MAX_HOLDER_NAME_BYTES, abbreviate_holder_name};
pub use qr::{MAX_PNG_SCALE, QUIET_ZONE_MODULES, qr_png, qr_svg};
pub use reason::{ReasonCode, VerdictColour};
pub use short_code::{SHORT_CODE_LEN, normalize_short_code, short_code, short_code_of_bits};
pub use trust::{TrustList, TrustedKey};
pub use verify::{IssuedPresumption, ParsedPass, Verification, VerifyOptions, on_route, verify_pass};

/// Re-exported so callers can name trust-list keys without depending on ed25519-dalek.
pub use ed25519_dalek::VerifyingKey;
