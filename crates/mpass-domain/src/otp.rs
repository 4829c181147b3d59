//! One-time SMS codes (SPEC §2): generation, keyed hashing and the limits.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a code is valid.
pub const CODE_TTL_SECS: i64 = 5 * 60;
/// Wrong attempts allowed per code before it is burnt.
pub const MAX_ATTEMPTS: u32 = 5;
/// Minimum time between two sends to one phone.
pub const RESEND_AFTER_SECS: i64 = 60;
/// Sends per phone per rolling hour.
pub const MAX_SENDS_PER_HOUR: u32 = 5;

/// A fresh 6-digit code, uniformly distributed.
pub fn generate_code() -> String {
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).expect("operating system random source");
        let n = u32::from_le_bytes(b);
        // Rejection sampling keeps the distribution uniform.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The keyed hash under which a code is stored; the code itself is never stored.
pub fn hash_code(key: &[u8], phone: &str, code: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(phone.as_bytes());
    mac.update(b"\0");
    mac.update(code.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `code` looks like a code at all (cheap check before touching the store).
pub fn is_well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let a: Vec<String> = (0..20).map(|_| generate_code()).collect();
        assert!(a.iter().all(|c| is_well_formed(c)));
        assert!(a.iter().any(|c| c != &a[0]));
    }

    #[test]
    fn hash_depends_on_key_phone_and_code() {
        let h = hash_code(b"k", "+8801711111111", "123456");
        assert_ne!(h, hash_code(b"k2", "+8801711111111", "123456"));
        assert_ne!(h, hash_code(b"k", "+8801711111112", "123456"));
        assert_ne!(h, hash_code(b"k", "+8801711111111", "123457"));
        assert_eq!(h.len(), 64);
    }
}
