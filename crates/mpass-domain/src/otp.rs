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

/// The part of the previous minute's `previous` sends that still counts at `now_ms`: the
/// share of that minute the last 60 seconds still cover, rounded up. Counted beside the
/// current minute's, the two make the sliding-window estimate of the last 60 seconds, so a
/// minute full to the limit is not followed at once by another full one (fixed minutes
/// alone let twice the limit through across a boundary).
fn carried(previous: i64, now_ms: i64) -> i64 {
    let left = 60_000 - now_ms.rem_euclid(60_000);
    (previous * left + 59_999) / 60_000
}

/// How many sends an address that may have `max` in any 60 seconds may have in the minute
/// of `now_ms`, the previous minute having had `previous` (0 or less: none).
pub fn address_room(max: u32, previous: i64, now_ms: i64) -> i64 {
    i64::from(max.max(1)) - carried(previous, now_ms)
}

/// How many seconds an address refused by [`address_room`] waits (at least 1): until the
/// previous minute's sends have faded enough to leave room for one more beside the
/// current minute's `current`; or, with the current minute full, until its own sends, in
/// turn the previous minute's, have.
pub fn address_wait(max: u32, previous: i64, current: i64, now_ms: i64) -> i64 {
    let max = i64::from(max.max(1));
    // The time into a minute from which `prev` carried over leave room for one more after
    // `cur` (fewer than `max`): `prev × (60 s − into) ≤ 60 s × (max − cur − 1)`.
    let from = |prev: i64, cur: i64| {
        if prev <= 0 {
            0
        } else {
            60_000 - 60_000 * (max - cur - 1) / prev
        }
    };
    let into = now_ms.rem_euclid(60_000);
    let wait = if current < max {
        from(previous, current) - into
    } else {
        60_000 - into + from(current, 0)
    };
    crate::instant::retry_after_secs(wait)
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
    fn an_address_counts_the_last_sixty_seconds() {
        let minute = 28_000_000 * 60_000;
        assert_eq!(address_minute(minute), 28_000_000);
        assert_eq!(address_minute(minute + 59_999), 28_000_000);
        assert_eq!(address_minute(minute + 60_000), 28_000_001);
        // Nothing before: the whole limit; a full minute before: nothing at its end, then
        // one more for each second of it left behind.
        assert_eq!(address_room(60, 0, minute), 60);
        assert_eq!(address_room(60, 60, minute), 0);
        assert_eq!(address_room(60, 60, minute + 1_000), 1);
        assert_eq!(address_room(60, 60, minute + 30_000), 30);
        assert_eq!(address_room(60, 60, minute + 59_999), 59);
        assert_eq!(address_room(3, 1, minute + 59_999), 2, "a part of a send counts whole");
        assert_eq!(address_room(0, 0, minute), 1, "a limit is at least 1");
        // Waits: for the previous minute to fade, or for the current one to end and fade.
        assert_eq!(address_wait(60, 60, 0, minute), 1);
        assert_eq!(address_wait(60, 60, 30, minute + 30_000), 1);
        assert_eq!(
            address_wait(4, 4, 2, minute + 10_000),
            35,
            "at 45 s one of the 4 is left"
        );
        assert_eq!(
            address_wait(3, 0, 3, minute + 20_000),
            60,
            "a third into the next minute"
        );
        assert_eq!(address_wait(3, 0, 6, minute + 20_000), 80, "two thirds of 6 faded");
        assert_eq!(address_wait(3, 0, 3, minute + 59_500), 21);
        for (max, previous, current, into) in [(60, 60, 0, 0), (4, 4, 2, 10_000), (3, 2, 3, 20_000), (5, 9, 5, 1)] {
            // Refused now, and room for one more when the wait is over, not a second before.
            let now = minute + into;
            let room = |at: i64| {
                address_room(max, if at >= minute + 60_000 { current } else { previous }, at)
                    - if at >= minute + 60_000 { 0 } else { current }
            };
            assert!(room(now) <= 0);
            let wait = address_wait(max, previous, current, now) * 1_000;
            assert!(room(now + wait) >= 1, "{max} {previous} {current} {into}");
            assert!(room(now + wait - 1_000) <= 0, "{max} {previous} {current} {into}");
        }
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
