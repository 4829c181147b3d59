//! Issuing a pass: claims → deterministic CBOR → COSE_Sign1 → `MP1:` + Base45 text.
//!
//! No compression: QR alphanumeric mode already packs Base45 at 5.5 bits per character,
//! and deflate saves little on 250 bytes of mostly signature and hashes while adding a
//! decompression step to every verifier. The claim limits in [`super::claims`] keep a
//! typical pass within QR version 13-Q ([`TYPICAL_PASS_TEXT_LEN`]) and every valid pass
//! within version 15-Q ([`MAX_PASS_TEXT_LEN`]).

use super::base45;
use super::cbor::encode;
use super::cbor_decode::{self, CborError};
use super::claims::PassClaims;
use super::cose::{Sign1, parse_sign1, sign1};
use super::error::PassError;
use super::keys::PassSigningKey;
use super::reason::ReasonCode;

/// Prefix of the text form; a new format gets a new prefix.
pub const TEXT_PREFIX: &str = "MP1:";
/// Alphanumeric capacity of QR version 13 at level Q: a typical pass fits.
pub const TYPICAL_PASS_TEXT_LEN: usize = 352;
/// Alphanumeric capacity of QR version 15 at level Q: every valid pass fits.
pub const MAX_PASS_TEXT_LEN: usize = 425;
/// Longest text the verifier will even try to decode (prefix + Base45 of the CBOR cap).
pub const MAX_INPUT_TEXT_LEN: usize = 4 + cbor_decode::MAX_INPUT / 2 * 3;

/// Signs a pass and returns its QR text (`MP1:...`), after checking the claim limits.
pub fn sign_pass(claims: &PassClaims, key: &PassSigningKey) -> Result<String, PassError> {
    claims.validate()?;
    let payload = encode(&claims.to_cbor());
    let cose = sign1(&payload, key);
    let text = format!("{TEXT_PREFIX}{}", base45::encode(&cose));
    // The claim limits make this unreachable; checked so a limit change cannot slip by.
    if text.len() > MAX_PASS_TEXT_LEN {
        return Err(PassError::TooLarge(text.len()));
    }
    Ok(text)
}

/// Scanners often append a newline; nothing else is forgiven.
pub(crate) fn trim_pass_text(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Parses QR text into the unverified COSE structure and its claims.
pub(crate) fn parse_pass_text(qr_text: &str) -> Result<(Sign1, PassClaims), ReasonCode> {
    let text = trim_pass_text(qr_text);
    if text.len() > MAX_INPUT_TEXT_LEN {
        return Err(ReasonCode::TooLarge);
    }
    let body = text.strip_prefix(TEXT_PREFIX).ok_or(ReasonCode::Malformed)?;
    let cose = base45::decode(body).map_err(|_| ReasonCode::Malformed)?;
    let sign1 = parse_sign1(&cose).ok_or(ReasonCode::Malformed)?;
    let claims_value = cbor_decode::decode_ref(&sign1.payload).map_err(|e| match e {
        CborError::TooLarge => ReasonCode::TooLarge,
        _ => ReasonCode::Malformed,
    })?;
    let claims = PassClaims::from_cbor(&claims_value).ok_or(ReasonCode::Malformed)?;
    Ok((sign1, claims))
}

#[cfg(test)]
mod tests {
    use super::super::claims::tests::typical;
    use super::super::claims::{MAX_ISSUER_BYTES, MAX_REASON_BYTES, MAX_TIME, MAX_VEHICLE_BYTES};
    use super::super::name::MAX_HOLDER_NAME_BYTES;
    use super::*;

    fn key() -> PassSigningKey {
        PassSigningKey::from_bytes(&[9u8; 32])
    }

    /// Every field at its largest encoding.
    fn worst_case() -> PassClaims {
        PassClaims {
            issuer: "i".repeat(MAX_ISSUER_BYTES),
            pass_id: [0xff; 16],
            issued_at: MAX_TIME - 1,
            not_before: MAX_TIME - 1,
            expires: MAX_TIME,
            // 16 Bangla letters of 3 bytes each.
            holder_name: "ম".repeat(MAX_HOLDER_NAME_BYTES / 3),
            document_last4: "ZZZZ".into(),
            birth_year: u16::MAX,
            reason: "r".repeat(MAX_REASON_BYTES),
            from_area: u64::MAX,
            to_area: u64::MAX,
            round_trip: true,
            vehicle_registration: Some("V".repeat(MAX_VEHICLE_BYTES)),
            companions: u8::MAX,
        }
    }

    #[test]
    fn typical_pass_fits_qr_version_13() {
        let claims = typical();
        assert!((38..=48).contains(&claims.holder_name.len()), "about 40 bytes");
        let text = sign_pass(&claims, &key()).unwrap();
        println!("typical qr_text length: {}", text.len());
        assert!(text.len() <= TYPICAL_PASS_TEXT_LEN, "{}", text.len());
        // Even with the longest name the typical shape still fits version 13.
        let mut long_name = claims;
        long_name.holder_name = "ম".repeat(16);
        long_name.reason = "goods_transport".into();
        let text = sign_pass(&long_name, &key()).unwrap();
        assert!(text.len() <= TYPICAL_PASS_TEXT_LEN, "{}", text.len());
    }

    #[test]
    fn worst_case_pass_fits_qr_version_15() {
        let text = sign_pass(&worst_case(), &key()).unwrap();
        println!("worst-case qr_text length: {}", text.len());
        assert!(text.len() <= MAX_PASS_TEXT_LEN, "{}", text.len());
        let parsed = parse_pass_text(&text).unwrap();
        assert_eq!(parsed.1, worst_case());
    }

    #[test]
    fn text_is_qr_alphanumeric_and_deterministic() {
        let a = sign_pass(&typical(), &key()).unwrap();
        let b = sign_pass(&typical(), &key()).unwrap();
        assert_eq!(a, b, "Ed25519 and deterministic CBOR are deterministic");
        assert!(a.starts_with("MP1:"));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || b" $%*+-./:".contains(&c))
        );
    }

    #[test]
    fn invalid_claims_are_not_signed() {
        let mut claims = typical();
        claims.holder_name = "A".repeat(49);
        assert!(matches!(
            sign_pass(&claims, &key()),
            Err(PassError::InvalidField {
                field: "holder_name",
                ..
            })
        ));
    }

    #[test]
    fn parse_errors() {
        let text = sign_pass(&typical(), &key()).unwrap();
        assert!(parse_pass_text(&format!("{text}\r\n")).is_ok());
        assert_eq!(parse_pass_text("").unwrap_err(), ReasonCode::Malformed);
        assert_eq!(parse_pass_text(&text[4..]).unwrap_err(), ReasonCode::Malformed);
        assert_eq!(
            parse_pass_text(&text.replace("MP1:", "MP2:")).unwrap_err(),
            ReasonCode::Malformed
        );
        assert_eq!(
            parse_pass_text(&text[..text.len() - 1]).unwrap_err(),
            ReasonCode::Malformed
        );
        let huge = format!("MP1:{}", "0".repeat(MAX_INPUT_TEXT_LEN));
        assert_eq!(parse_pass_text(&huge).unwrap_err(), ReasonCode::TooLarge);
    }
}
