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
                Self(Uuid::now_v7())
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
    }
}
