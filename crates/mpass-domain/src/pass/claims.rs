//! The CWT claims a pass carries (SPEC §7), their limits, and their CBOR form.
//!
//! The limits are what keep every valid pass inside QR version 15 at level Q (425
//! alphanumeric characters); they are checked both when signing and when verifying,
//! so a pass another issuer stretched beyond them is treated as malformed:
//!
//! | claim | limit |
//! |---|---|
//! | `issuer` | 1–[`MAX_ISSUER_BYTES`] bytes, no control characters |
//! | times | 0 ≤ t ≤ [`MAX_TIME`] (year 2106); `nbf < exp`, `iat ≤ exp` |
//! | `holder_name` | 1–[`MAX_HOLDER_NAME_BYTES`] bytes (see [`super::abbreviate_holder_name`]) |
//! | `document_last4` | 1–4 ASCII letters or digits |
//! | `reason` | 1–[`MAX_REASON_BYTES`] bytes of `a-z`, `0-9`, `_` (a category code) |
//! | `vehicle_registration` | 1–[`MAX_VEHICLE_BYTES`] bytes, e.g. the compact `DM-GA-11-1234` |
//!
//! Claims this version does not know make a pass malformed rather than being ignored:
//! a new claim comes with a new text prefix (`MP2:`), so old verifiers fail loudly.

use super::cbor::{Item, Value};
use super::error::PassError;
use super::name::MAX_HOLDER_NAME_BYTES;
use serde::{Deserialize, Serialize};

/// Largest issuer string, in bytes.
pub const MAX_ISSUER_BYTES: usize = 16;
/// Largest reason category code, in bytes.
pub const MAX_REASON_BYTES: usize = 20;
/// Largest vehicle registration, in bytes of UTF-8.
pub const MAX_VEHICLE_BYTES: usize = 16;
/// Latest representable time (keeps times in a 5-byte CBOR integer).
pub const MAX_TIME: i64 = u32::MAX as i64;

const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_NBF: i64 = 5;
const CLAIM_IAT: i64 = 6;
const CLAIM_CTI: i64 = 7;
/// Private-use claim holding the movement details.
const CLAIM_PASS: i64 = -65537;

/// What a pass asserts, as signed into the QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassClaims {
    /// Who issued the pass (CWT `iss`), e.g. `mpass`.
    pub issuer: String,
    /// The pass id (CWT `cti`), a UUID's 16 bytes.
    pub pass_id: [u8; 16],
    /// Issue time, Unix seconds (CWT `iat`).
    pub issued_at: i64,
    /// Start of validity, Unix seconds (CWT `nbf`).
    pub not_before: i64,
    /// End of validity, Unix seconds (CWT `exp`); the pass is invalid from this instant.
    pub expires: i64,
    /// Name as shown to officers, at most 48 bytes.
    pub holder_name: String,
    /// Last four characters of the identity document number.
    pub document_last4: String,
    /// Holder's year of birth.
    pub birth_year: u16,
    /// Reason category code, e.g. `essential_work`.
    pub reason: String,
    /// Origin area geocode (division `20`, district `2003`, thana `20030004`).
    pub from_area: u64,
    /// Destination area geocode.
    pub to_area: u64,
    /// Whether the pass covers the way back.
    pub round_trip: bool,
    /// Vehicle registration, if the holder travels in a vehicle.
    pub vehicle_registration: Option<String>,
    /// Number of people travelling with the holder.
    pub companions: u8,
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), PassError> {
    if s.trim().is_empty() {
        return Err(PassError::field(field, "empty"));
    }
    if s.len() > max {
        return Err(PassError::field(field, "too long"));
    }
    if has_control(s) {
        return Err(PassError::field(field, "control character"));
    }
    Ok(())
}

impl PassClaims {
    /// Checks every claim against the format limits (see the module docs).
    pub fn validate(&self) -> Result<(), PassError> {
        check_text("issuer", &self.issuer, MAX_ISSUER_BYTES)?;
        check_text("holder_name", &self.holder_name, MAX_HOLDER_NAME_BYTES)?;
        let last4 = &self.document_last4;
        if last4.is_empty() || last4.len() > 4 || !last4.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PassError::field("document_last4", "1-4 ASCII letters or digits"));
        }
        let reason_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        if self.reason.is_empty() || self.reason.len() > MAX_REASON_BYTES || !self.reason.bytes().all(reason_ok) {
            return Err(PassError::field("reason", "1-20 characters of a-z, 0-9, _"));
        }
        if let Some(vehicle) = &self.vehicle_registration {
            check_text("vehicle_registration", vehicle, MAX_VEHICLE_BYTES)?;
        }
        for (field, t) in [
            ("issued_at", self.issued_at),
            ("not_before", self.not_before),
            ("expires", self.expires),
        ] {
            if !(0..=MAX_TIME).contains(&t) {
                return Err(PassError::field(field, "out of range"));
            }
        }
        if self.not_before >= self.expires {
            return Err(PassError::field("expires", "not after not_before"));
        }
        if self.issued_at > self.expires {
            return Err(PassError::field("issued_at", "after expires"));
        }
        Ok(())
    }

    /// The CWT claims map, ready for deterministic encoding.
    pub(crate) fn to_cbor(&self) -> Value {
        let text = |s: &str| Value::Text(s.to_owned());
        let mut details = vec![
            (Value::int(1), text(&self.holder_name)),
            (Value::int(2), text(&self.document_last4)),
            (Value::int(3), Value::Unsigned(self.birth_year.into())),
            (Value::int(4), text(&self.reason)),
            (Value::int(5), Value::Unsigned(self.from_area)),
            (Value::int(6), Value::Unsigned(self.to_area)),
            (Value::int(7), Value::Unsigned(self.round_trip.into())),
            (Value::int(9), Value::Unsigned(self.companions.into())),
        ];
        if let Some(vehicle) = &self.vehicle_registration {
            details.push((Value::int(8), text(vehicle)));
        }
        Value::Map(vec![
            (Value::int(CLAIM_ISS), text(&self.issuer)),
            (Value::int(CLAIM_EXP), Value::int(self.expires)),
            (Value::int(CLAIM_NBF), Value::int(self.not_before)),
            (Value::int(CLAIM_IAT), Value::int(self.issued_at)),
            (Value::int(CLAIM_CTI), Value::Bytes(self.pass_id.to_vec())),
            (Value::int(CLAIM_PASS), Value::Map(details)),
        ])
    }

    /// Reads claims from a decoded CWT map; `None` if any claim is missing, unknown,
    /// of the wrong type or outside the limits.
    pub(crate) fn from_cbor<V: Item>(value: &V) -> Option<Self> {
        let mut top = Fields::<V, 6>::read(
            value,
            &[CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI, CLAIM_PASS],
        )?;
        let mut pass = Fields::<V, 9>::read(top.take(CLAIM_PASS)?, &[1, 2, 3, 4, 5, 6, 7, 8, 9])?;
        let text = |v: Option<&V>| v?.as_text().map(str::to_owned);
        let claims = PassClaims {
            issuer: text(top.take(CLAIM_ISS))?,
            pass_id: top.take(CLAIM_CTI)?.as_bytes()?.try_into().ok()?,
            issued_at: top.take(CLAIM_IAT)?.as_i64()?,
            not_before: top.take(CLAIM_NBF)?.as_i64()?,
            expires: top.take(CLAIM_EXP)?.as_i64()?,
            holder_name: text(pass.take(1))?,
            document_last4: text(pass.take(2))?,
            birth_year: u16::try_from(pass.take(3)?.as_u64()?).ok()?,
            reason: text(pass.take(4))?,
            from_area: pass.take(5)?.as_u64()?,
            to_area: pass.take(6)?.as_u64()?,
            round_trip: match pass.take(7)?.as_u64()? {
                0 => false,
                1 => true,
                _ => return None,
            },
            vehicle_registration: match pass.take(8) {
                Some(v) => Some(v.as_text()?.to_owned()),
                None => None,
            },
            companions: u8::try_from(pass.take(9)?.as_u64()?).ok()?,
        };
        claims.validate().ok()?;
        Some(claims)
    }
}

/// The entries of an integer-keyed map, looked up by key; unknown keys are refused.
struct Fields<'a, V, const N: usize> {
    keys: &'a [i64],
    values: [Option<&'a V>; N],
}

impl<'a, V: Item, const N: usize> Fields<'a, V, N> {
    fn read(map: &'a V, keys: &'a [i64]) -> Option<Self> {
        let mut values = [None; N];
        for (key, value) in map.as_map()? {
            let key = key.as_i64()?;
            let slot = keys.iter().position(|&k| k == key)?;
            // The decoder already refuses duplicate keys; this only guards the slot.
            *values.get_mut(slot)? = Some(value);
        }
        Some(Fields { keys, values })
    }

    fn take(&mut self, key: i64) -> Option<&'a V> {
        let slot = self.keys.iter().position(|&k| k == key)?;
        self.values.get_mut(slot)?.take()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::cbor::encode;
    use super::super::cbor_decode::decode;
    use super::*;

    /// A typical pass: Bangla name of about 40 bytes, no vehicle.
    pub(crate) fn typical() -> PassClaims {
        PassClaims {
            issuer: "mpass".into(),
            pass_id: [
                0x01, 0x93, 0x2a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07,
            ],
            issued_at: 1_767_225_600,
            not_before: 1_767_225_600,
            expires: 1_767_312_000,
            holder_name: "মো. রহিম উদ্দিন".into(),
            document_last4: "4821".into(),
            birth_year: 1986,
            reason: "essential_work".into(),
            from_area: 2003_0004,
            to_area: 3026_0011,
            round_trip: true,
            vehicle_registration: None,
            companions: 0,
        }
    }

    #[test]
    fn round_trips_through_cbor() {
        let mut claims = typical();
        let bytes = encode(&claims.to_cbor());
        assert_eq!(PassClaims::from_cbor(&decode(&bytes).unwrap()), Some(claims.clone()));
        claims.vehicle_registration = Some("DM-GA-11-1234".into());
        claims.round_trip = false;
        let bytes = encode(&claims.to_cbor());
        assert_eq!(PassClaims::from_cbor(&decode(&bytes).unwrap()), Some(claims));
    }

    #[test]
    fn encoding_is_deterministic_and_keys_are_sorted() {
        let bytes = encode(&typical().to_cbor());
        // map(6), 1: "mpass", 4: exp as uint32 ...
        assert_eq!(&bytes[..9], &[0xa6, 0x01, 0x65, b'm', b'p', b'a', b's', b's', 0x04]);
        let claim_key = [0x3a, 0x00, 0x01, 0x00, 0x00];
        let at = bytes.windows(5).position(|w| w == claim_key).unwrap();
        assert_eq!(bytes[at + 5], 0xa8, "8 detail entries when there is no vehicle");
    }

    type Edit = Box<dyn Fn(&mut PassClaims)>;

    #[test]
    fn validation_rejects_out_of_limit_fields() {
        let cases: Vec<(&str, Edit)> = vec![
            ("holder_name", Box::new(|c| c.holder_name = "A".repeat(49))),
            ("holder_name", Box::new(|c| c.holder_name = " ".into())),
            ("holder_name", Box::new(|c| c.holder_name = "A\u{0}B".into())),
            ("issuer", Box::new(|c| c.issuer = "x".repeat(17))),
            ("document_last4", Box::new(|c| c.document_last4 = "12345".into())),
            ("document_last4", Box::new(|c| c.document_last4 = "12-4".into())),
            ("reason", Box::new(|c| c.reason = "Essential".into())),
            ("reason", Box::new(|c| c.reason = "a".repeat(21))),
            (
                "vehicle_registration",
                Box::new(|c| c.vehicle_registration = Some("x".repeat(17))),
            ),
            ("expires", Box::new(|c| c.expires = c.not_before)),
            ("expires", Box::new(|c| c.expires = MAX_TIME + 1)),
            ("issued_at", Box::new(|c| c.issued_at = -1)),
            ("issued_at", Box::new(|c| c.issued_at = c.expires + 1)),
        ];
        for (field, mutate) in cases {
            let mut claims = typical();
            mutate(&mut claims);
            match claims.validate() {
                Err(PassError::InvalidField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
            assert_eq!(PassClaims::from_cbor(&claims.to_cbor()), None, "{field}");
        }
    }

    #[test]
    fn unknown_missing_and_mistyped_claims_are_refused() {
        let good = typical().to_cbor();
        let Value::Map(entries) = good else { unreachable!() };
        let mut extra = entries.clone();
        extra.push((Value::int(2), Value::Text("sub".into())));
        assert_eq!(PassClaims::from_cbor(&Value::Map(extra)), None);
        let missing: Vec<_> = entries
            .iter()
            .filter(|(k, _)| k.as_i64() != Some(CLAIM_ISS))
            .cloned()
            .collect();
        assert_eq!(PassClaims::from_cbor(&Value::Map(missing)), None);
        let mistyped: Vec<_> = entries
            .iter()
            .map(|(k, v)| {
                if k.as_i64() == Some(CLAIM_CTI) {
                    (k.clone(), Value::Bytes(vec![0; 15]))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        assert_eq!(PassClaims::from_cbor(&Value::Map(mistyped)), None);
        assert_eq!(PassClaims::from_cbor(&Value::Array(vec![])), None);
    }
}
