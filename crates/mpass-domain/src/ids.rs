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
