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

/// The per-phone send limits: given this phone's sends in the last hour (count, newest and
/// oldest, unix ms), may another code go out at `now_ms`? `Err(seconds to wait)` if not.
/// Both stores call this, so the limits live in one place.
pub fn send_allowed(
    sends_last_hour: i64,
    newest_ms: Option<i64>,
    oldest_ms: Option<i64>,
    now_ms: i64,
) -> Result<(), i64> {
    if let Some(newest) = newest_ms {
        let wait = RESEND_AFTER_SECS * 1000 - (now_ms - newest);
        if wait > 0 {
            return Err(crate::instant::retry_after_secs(wait));
        }
    }
    if sends_last_hour >= i64::from(MAX_SENDS_PER_HOUR) {
        let wait = oldest_ms.map_or(3_600_000, |o| o + 3_600_000 - now_ms);
        return Err(crate::instant::retry_after_secs(wait));
    }
    Ok(())
}

/// The minute (since the epoch) a send at `now_ms` counts in, against its address's limit.
/// Both stores count an address's sends by these fixed minutes: one row a minute and
/// address, so a send costs the same however high the limit.
pub fn address_minute(now_ms: i64) -> i64 {
    now_ms.div_euclid(60_000)
}

/// How many seconds an address that has used its minute's sends waits: until the next
/// minute begins (at least 1).
pub fn address_wait(now_ms: i64) -> i64 {
    crate::instant::retry_after_secs(60_000 - now_ms.rem_euclid(60_000))
}

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
    fn an_address_waits_for_the_next_minute() {
        let minute = 28_000_000 * 60_000;
        assert_eq!(address_minute(minute), 28_000_000);
        assert_eq!(address_minute(minute + 59_999), 28_000_000);
        assert_eq!(address_minute(minute + 60_000), 28_000_001);
        assert_eq!(address_wait(minute + 1_000), 59);
        assert_eq!(address_wait(minute + 59_500), 1);
        assert_eq!(address_wait(minute), 60);
    }

    #[test]
    fn send_limits() {
        let now = 10_000_000;
        assert_eq!(send_allowed(0, None, None, now), Ok(()));
        assert_eq!(send_allowed(1, Some(now - 1_000), Some(now - 1_000), now), Err(59));
        assert_eq!(send_allowed(1, Some(now - 60_000), Some(now - 60_000), now), Ok(()));
        assert_eq!(
            send_allowed(5, Some(now - 61_000), Some(now - 3_000_000), now),
            Err(600)
        );
        assert_eq!(send_allowed(4, Some(now - 61_000), Some(now - 3_000_000), now), Ok(()));
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
