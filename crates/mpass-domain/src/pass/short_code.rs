//! The 8-character short code of a pass, for SMS and phone lookups (online only).
//!
//! It is 40 bits of SHA-256 of the pass id in Crockford base32, not the id itself:
//! pass ids are time-ordered UUIDs, and their leading bits would give away when a
//! pass was issued and make neighbouring codes guessable. 40 bits is a lookup key,
//! not a secret; the server still rate-limits lookups.

use sha2::{Digest, Sha256};

/// Crockford base32 alphabet (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of a short code in characters.
pub const SHORT_CODE_LEN: usize = 8;

/// The short code of a pass id, e.g. `"7Q2M9X4K"`.
pub fn short_code(pass_id: &[u8; 16]) -> String {
    let digest = Sha256::digest(pass_id);
    short_code_of_bits(digest.iter().take(5).fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// The short code of 40 bits (higher bits are ignored): for `mpass demo`, whose synthetic
/// passes number their codes so that millions of them never collide.
pub fn short_code_of_bits(bits: u64) -> String {
    (0..SHORT_CODE_LEN)
        .rev()
        .map(|i| {
            let index = (bits >> (i * 5)) & 0x1f;
            // index < 32, so it is always in range.
            char::from(CROCKFORD[index as usize])
        })
        .collect()
}

/// Canonicalises a short code typed by a person: accepts lower case, hyphens and
/// spaces, and reads I/L as 1 and O as 0; `None` unless exactly 8 valid characters.
pub fn normalize_short_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(SHORT_CODE_LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == SHORT_CODE_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == SHORT_CODE_LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn derived_from_a_hash_not_the_id_prefix() {
        let a = short_code(&[0u8; 16]);
        let mut id = [0u8; 16];
        id[15] = 1;
        let b = short_code(&id);
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
        // SHA-256 of 16 zero bytes starts 37 47 08 ff f7 → 00110 11101 00011 10000 10001 ...
        assert_eq!(a, "6X3GHZZQ");
        assert_eq!(normalize_short_code(&a), Some(a));
    }

    #[test]
    fn numbered_codes_use_40_bits_and_differ_for_neighbours() {
        // The first 40 bits of SHA-256 of 16 zero bytes give the code above.
        assert_eq!(short_code_of_bits(0x37_4708_fff7), "6X3GHZZQ");
        assert_eq!(short_code_of_bits(0), "00000000");
        assert_eq!(short_code_of_bits((1 << 40) - 1), "ZZZZZZZZ");
        // Bits above the 40th are ignored, so a start near the top wraps around.
        assert_eq!(short_code_of_bits(1 << 40), "00000000");
        let start = (1u64 << 40) - 500;
        let codes: std::collections::HashSet<String> = (0..1000).map(|i| short_code_of_bits(start + i)).collect();
        assert_eq!(codes.len(), 1000);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize_short_code("6x3g-hzzq"), Some("6X3GHZZQ".into()));
        assert_eq!(normalize_short_code(" 6X3G HZZQ "), Some("6X3GHZZQ".into()));
        assert_eq!(normalize_short_code("oIlO-abcd"), Some("0110ABCD".into()));
        assert_eq!(normalize_short_code("6X3GHZZ"), None);
        assert_eq!(normalize_short_code("6X3GHZZQQ"), None);
        assert_eq!(normalize_short_code("6X3GHZZU"), None);
        assert_eq!(normalize_short_code("6X3GHZZ_"), None);
        assert_eq!(normalize_short_code("৬X3GHZZQ"), None);
    }

    proptest! {
        #[test]
        fn codes_are_canonical(id in any::<[u8; 16]>()) {
            let code = short_code(&id);
            prop_assert_eq!(normalize_short_code(&code), Some(code.clone()));
            prop_assert_eq!(normalize_short_code(&code.to_lowercase()), Some(code));
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,20}") {
            let _ = normalize_short_code(&s);
        }
    }
}
