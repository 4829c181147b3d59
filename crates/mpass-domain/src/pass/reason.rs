//! Verdict colours and the stable reason codes of a pass check, in English and Bangla.
//!
//! The snake_case codes are an API: apps, logs and the police web app match on them,
//! so a code is never renamed or reused; new situations get new codes.

use serde::{Deserialize, Serialize};

/// The officer-facing verdict. Red beats amber beats green.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictColour {
    /// Valid: let the holder pass.
    Green,
    /// Probably valid but something could not be checked: use judgement.
    Amber,
    /// Not valid.
    Red,
}

/// Why a pass got its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Every check passed.
    Valid,
    /// The text is not a well-formed pass (prefix, Base45, CBOR, COSE or claims).
    Malformed,
    /// The text is larger than any pass can be.
    TooLarge,
    /// No trusted key has the pass's kid.
    UnknownKey,
    /// No trusted key with that kid verifies the signature.
    BadSignature,
    /// The signing key is marked compromised.
    KeyCompromised,
    /// The pass was issued outside the signing key's validity.
    KeyNotValidForPass,
    /// The pass's validity has not started yet.
    NotYetValid,
    /// The pass has expired.
    Expired,
    /// The pass is on the revocation list.
    Revoked,
    /// The revocation list is older than allowed (amber).
    RevocationListStale,
    /// No revocation list has been loaded (amber).
    RevocationListMissing,
    /// The checkpoint's district is on neither end of the route (amber).
    CheckpointOffRoute,
    /// Seen at another checkpoint that no vehicle could have come from in the time
    /// between (online check only; amber, reported to supervisors).
    ImpossibleTravel,
    /// No pass has this short code (online check only).
    UnknownShortCode,
}

impl ReasonCode {
    /// Every code, in declaration order.
    pub const ALL: [ReasonCode; 15] = [
        ReasonCode::Valid,
        ReasonCode::Malformed,
        ReasonCode::TooLarge,
        ReasonCode::UnknownKey,
        ReasonCode::BadSignature,
        ReasonCode::KeyCompromised,
        ReasonCode::KeyNotValidForPass,
        ReasonCode::NotYetValid,
        ReasonCode::Expired,
        ReasonCode::Revoked,
        ReasonCode::RevocationListStale,
        ReasonCode::RevocationListMissing,
        ReasonCode::CheckpointOffRoute,
        ReasonCode::ImpossibleTravel,
        ReasonCode::UnknownShortCode,
    ];

    /// The stable snake_case code, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReasonCode::Valid => "valid",
            ReasonCode::Malformed => "malformed",
            ReasonCode::TooLarge => "too_large",
            ReasonCode::UnknownKey => "unknown_key",
            ReasonCode::BadSignature => "bad_signature",
            ReasonCode::KeyCompromised => "key_compromised",
            ReasonCode::KeyNotValidForPass => "key_not_valid_for_pass",
            ReasonCode::NotYetValid => "not_yet_valid",
            ReasonCode::Expired => "expired",
            ReasonCode::Revoked => "revoked",
            ReasonCode::RevocationListStale => "revocation_list_stale",
            ReasonCode::RevocationListMissing => "revocation_list_missing",
            ReasonCode::CheckpointOffRoute => "checkpoint_off_route",
            ReasonCode::ImpossibleTravel => "impossible_travel",
            ReasonCode::UnknownShortCode => "unknown_short_code",
        }
    }

    /// The colour this reason alone gives a pass.
    pub fn colour(&self) -> VerdictColour {
        match self {
            ReasonCode::Valid => VerdictColour::Green,
            ReasonCode::RevocationListStale
            | ReasonCode::RevocationListMissing
            | ReasonCode::CheckpointOffRoute
            | ReasonCode::ImpossibleTravel => VerdictColour::Amber,
            _ => VerdictColour::Red,
        }
    }

    /// A short message for officers, in English.
    pub fn message_en(&self) -> &'static str {
        match self {
            ReasonCode::Valid => "Valid pass.",
            ReasonCode::Malformed => "Not a valid pass code.",
            ReasonCode::TooLarge => "Code too large to be a pass.",
            ReasonCode::UnknownKey => "Signed by an unknown key; update the trust list.",
            ReasonCode::BadSignature => "Signature does not match: forged or altered pass.",
            ReasonCode::KeyCompromised => "Signed with a compromised key.",
            ReasonCode::KeyNotValidForPass => "Signing key was not valid for this pass.",
            ReasonCode::NotYetValid => "Pass is not valid yet.",
            ReasonCode::Expired => "Pass has expired.",
            ReasonCode::Revoked => "Pass has been revoked.",
            ReasonCode::RevocationListStale => "Revocation list is out of date; sync when possible.",
            ReasonCode::RevocationListMissing => "No revocation list loaded; revocation not checked.",
            ReasonCode::CheckpointOffRoute => "Checkpoint is not on the pass's route.",
            ReasonCode::ImpossibleTravel => "Seen elsewhere too recently to have travelled here: check identity.",
            ReasonCode::UnknownShortCode => "No pass has this short code.",
        }
    }

    /// A short message for officers, in Bangla.
    pub fn message_bn(&self) -> &'static str {
        match self {
            ReasonCode::Valid => "বৈধ পাস।",
            ReasonCode::Malformed => "এটি বৈধ পাস কোড নয়।",
            ReasonCode::TooLarge => "কোডটি পাস হওয়ার জন্য অনেক বড়।",
            ReasonCode::UnknownKey => "অজানা কী দিয়ে স্বাক্ষরিত; বিশ্বস্ত কী-তালিকা হালনাগাদ করুন।",
            ReasonCode::BadSignature => "স্বাক্ষর মেলেনি: জাল বা পরিবর্তিত পাস।",
            ReasonCode::KeyCompromised => "ঝুঁকিগ্রস্ত (ফাঁস হওয়া) কী দিয়ে স্বাক্ষরিত।",
            ReasonCode::KeyNotValidForPass => "স্বাক্ষরের কী এই পাসের জন্য বৈধ ছিল না।",
            ReasonCode::NotYetValid => "পাসটির মেয়াদ এখনও শুরু হয়নি।",
            ReasonCode::Expired => "পাসটির মেয়াদ শেষ হয়ে গেছে।",
            ReasonCode::Revoked => "পাসটি বাতিল করা হয়েছে।",
            ReasonCode::RevocationListStale => "বাতিল-তালিকা পুরনো; সুযোগ পেলে হালনাগাদ করুন।",
            ReasonCode::RevocationListMissing => "বাতিল-তালিকা লোড করা হয়নি; বাতিল কিনা যাচাই হয়নি।",
            ReasonCode::CheckpointOffRoute => "চেকপোস্টটি পাসের যাত্রাপথে নেই।",
            ReasonCode::ImpossibleTravel => "এত অল্প সময় আগে অন্য জায়গায় দেখা গেছে যে এখানে আসা সম্ভব নয়: পরিচয় যাচাই করুন।",
            ReasonCode::UnknownShortCode => "এই সংক্ষিপ্ত কোডের কোনো পাস নেই।",
        }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_match_serde() {
        for code in ReasonCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(!code.message_en().is_empty());
            assert!(!code.message_bn().is_empty());
            assert_ne!(code.message_en(), code.message_bn());
        }
        assert_eq!(ReasonCode::KeyNotValidForPass.as_str(), "key_not_valid_for_pass");
    }

    #[test]
    fn colours_order_and_serialise_lower_case() {
        assert!(VerdictColour::Red > VerdictColour::Amber);
        assert!(VerdictColour::Amber > VerdictColour::Green);
        assert_eq!(serde_json::to_string(&VerdictColour::Amber).unwrap(), "\"amber\"");
        assert_eq!(ReasonCode::CheckpointOffRoute.colour(), VerdictColour::Amber);
        assert_eq!(ReasonCode::Revoked.colour(), VerdictColour::Red);
    }
}
