//! Identifiers as newtypes over time-ordered UUIDv7, so keys partition and sort well.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(now_v7())
            }

            /// An id made as [`Self::new`] would have made it at `at`: bulk loads and tests
            /// that replay the past keep ids and times in the same order.
            pub fn new_at(at: time::OffsetDateTime) -> Self {
                let secs = u64::try_from(at.unix_timestamp()).unwrap_or(0);
                Self(Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, at.nanosecond())))
            }

            /// Parses the hyphenated or simple (32 hex) form; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                if s.len() != 36 && s.len() != 32 {
                    return None;
                }
                Uuid::try_parse(s).ok().map(Self)
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// The Unix milliseconds the id was made at (its first 48 bits).
            pub fn unix_ms(&self) -> i64 {
                let b = self.0.as_bytes();
                let mut ms = [0u8; 8];
                ms[2..].copy_from_slice(&b[..6]);
                i64::from_be_bytes(ms)
            }

            /// The smallest id [`Self::new`] can make at `at` (to the millisecond): every id
            /// made at or after `at` sorts at or after it, every id made before sorts before,
            /// so a time range is an id range.
            pub fn first_at(at: time::OffsetDateTime) -> Self {
                let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
                let mut b = [0u8; 16];
                b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
                b[6] = 0x70; // version 7, no random bits
                b[8] = 0x80; // RFC 4122 variant
                Self(Uuid::from_bytes(b))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

/// A new UUIDv7: Unix milliseconds, then 74 bits that are random at each new millisecond
/// and, within one, the last id's plus a random step (RFC 9562 §6.2, method 3), so every
/// id this process makes sorts after the ones it made before, as `Uuid::now_v7` promises.
/// The random bits come from the operating system as there, but a few hundred ids' worth
/// per call (`random_u64`): `Uuid::now_v7` makes a system call for every id, and every
/// online check makes one (its scan id) on the store's single writer thread.
pub fn now_v7() -> Uuid {
    use std::sync::Mutex;
    use std::time::{SystemTime, UNIX_EPOCH};
    /// The 74 bits after the timestamp: 12 of `rand_a`, 62 of `rand_b`.
    const PAYLOAD_BITS: u32 = 74;
    const PAYLOAD_MAX: u128 = (1 << PAYLOAD_BITS) - 1;
    static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let fresh = || (u128::from(random_u64()) << 64 | u128::from(random_u64())) & PAYLOAD_MAX;
    let (ms, payload) = {
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        let next = if now > last.0 {
            (now, fresh())
        } else {
            // The same millisecond, or the clock stepped back: count on from the last id by
            // a step below 2^32, which leaves room for billions of ids in one millisecond.
            let step = 1 + u128::from(random_u64() >> 32);
            match last.1.checked_add(step).filter(|p| *p <= PAYLOAD_MAX) {
                Some(p) => (last.0, p),
                None => (last.0 + 1, fresh()),
            }
        };
        *last = next;
        next
    };
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    let rand_a = (payload >> 62) as u16; // 12 bits
    let rand_b = (payload & ((1 << 62) - 1)) as u64; // 62 bits
    b[6] = 0x70 | (rand_a >> 8) as u8; // version 7
    b[7] = rand_a as u8;
    b[8..].copy_from_slice(&rand_b.to_be_bytes());
    b[8] = 0x80 | (b[8] & 0x3f); // RFC 9562 variant
    Uuid::from_bytes(b)
}

/// Eight random bytes from the operating system, drawn from a per-thread buffer that one
/// `getrandom` call fills.
fn random_u64() -> u64 {
    use std::cell::RefCell;
    const WORDS: usize = 64;
    thread_local! {
        static BUFFER: RefCell<([u64; WORDS], usize)> = const { RefCell::new(([0; WORDS], WORDS)) };
    }
    BUFFER.with_borrow_mut(|(words, next)| {
        if *next == WORDS {
            let mut bytes = [0u8; WORDS * 8];
            getrandom::fill(&mut bytes).expect("operating system random source");
            for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                *w = u64::from_ne_bytes(b);
            }
            *next = 0;
        }
        let w = words[*next];
        words[*next] = 0;
        *next += 1;
        w
    })
}

id_type!(/// A person who logged in with a phone.
    UserId);
id_type!(/// A citizen's application for a movement pass.
    ApplicationId);
id_type!(/// A signed pass; its 16 bytes are the credential's `cti`.
    PassId);
id_type!(/// A unit of background work.
    JobId);
id_type!(/// A message of an information-request thread.
    MessageId);
id_type!(/// A named police checkpoint.
    CheckpointId);
id_type!(/// One logged verification of a pass by an officer.
    ScanId);

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    #[test]
    fn first_at_bounds_the_ids_made_from_that_millisecond_on() {
        let before = ApplicationId::new();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let now = OffsetDateTime::now_utc();
        let bound = ApplicationId::first_at(now);
        let after = ApplicationId::new();
        assert!(before < bound && bound <= after, "{before} < {bound} <= {after}");
        // Text order is byte order (the stores compare the hyphenated text).
        assert!(before.to_string() < bound.to_string() && bound.to_string() <= after.to_string());
        assert_eq!(bound.0.get_version_num(), 7);
        let day_ago = ApplicationId::first_at(now - Duration::DAY);
        assert!(day_ago < bound && day_ago < before);
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        assert_eq!(bound.unix_ms(), now_ms);
        assert_eq!(day_ago.unix_ms(), now_ms - 86_400_000);
        assert_eq!(ApplicationId::new_at(now).unix_ms(), now_ms);
    }

    #[test]
    fn new_ids_are_version_7_unique_and_in_the_order_they_were_made() {
        let ids: Vec<ScanId> = (0..10_000).map(|_| ScanId::new()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
            assert!(pair[0].to_string() < pair[1].to_string());
        }
        for id in &ids {
            assert_eq!(id.0.get_version_num(), 7);
            assert_eq!(id.0.get_variant(), uuid::Variant::RFC4122);
        }
        // Their millisecond is now's.
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let (secs, nanos) = ids[0].0.get_timestamp().map(|t| t.to_unix()).unwrap_or_default();
        let ms = i128::from(secs) * 1000 + i128::from(nanos / 1_000_000);
        assert!((now_ms - ms).abs() < 5_000, "{ms} vs now {now_ms}");
    }
}
