//! What the legacy `/v1` API (SPEC §12) adds to the domain: the numbers and free text a
//! legacy client sent, kept as given, and how our statuses read in that API.
//!
//! The legacy district (1001–1075) and thana (10001–10626) numbers have no known mapping
//! onto the BBS geocodes of [`crate::geo`]: the only source of the old numbering found has
//! no licence, so nothing derived from it is shipped (see `data/LICENSES.md` and
//! `docs/LEGACY_V1.md`). They are therefore stored exactly as sent, next to the geocodes
//! the policy and the pass need.

use serde::{Deserialize, Serialize};

use crate::application::Status;

/// Legacy district numbers.
pub const DISTRICTS: std::ops::RangeInclusive<u32> = 1001..=1075;
/// Legacy thana numbers.
pub const THANAS: std::ops::RangeInclusive<u32> = 10001..=10626;

/// What a legacy `POST /v1/passes` said that our application has no field for, kept with
/// the application (inside its details) for the officer and for the legacy views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyOrigin {
    /// Legacy district number, as sent.
    pub district: u32,
    /// Legacy thana number, as sent.
    pub thana: u32,
    /// Free-text origin (≤ 64 characters).
    pub from_location: String,
    /// Free-text destination (≤ 64 characters).
    pub to_location: String,
    /// Free-text reason (≤ 64 characters), as sent.
    pub reason: String,
}

/// What a legacy `POST /v1/identity/register` said that our profile has no field for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyRegistration {
    /// Legacy district number, as sent.
    pub district: u32,
    /// Legacy thana number, as sent.
    pub thana: u32,
    /// The photo URL the client registered (an upload on our server).
    pub photo_url: String,
}

/// The thana used for legacy registrations and applications when the operator configures
/// none: the first thana (by geocode) of Dhaka district. A deliberate placeholder, not a
/// mapping: the legacy numbers stay stored beside it (see `docs/LEGACY_V1.md`).
pub fn default_area() -> String {
    let areas = crate::geo::areas();
    areas
        .district_by_name_en("Dhaka")
        .and_then(|d| areas.thanas_of(&d.code).map(|t| t.code.clone()).min())
        .or_else(|| {
            areas
                .all()
                .iter()
                .find(|a| a.kind == crate::geo::AreaKind::Thana)
                .map(|a| a.code.clone())
        })
        .unwrap_or_default()
}

/// The upper-case status word the legacy clients show. Our finer states fold into the
/// words they know: in review and waiting for information are both `PENDING`.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Submitted => "APPLIED",
        Status::Approved => "APPROVED",
        Status::Rejected => "REJECTED",
        Status::InReview | Status::InfoRequested => "PENDING",
        Status::Cancelled => "CANCELLED",
        Status::Revoked => "REVOKED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_an_upper_case_word() {
        for s in Status::ALL {
            let w = status_word(s);
            assert!(!w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase()), "{w}");
        }
        assert_eq!(status_word(Status::Submitted), "APPLIED");
        assert_eq!(status_word(Status::InfoRequested), "PENDING");
    }

    #[test]
    fn the_default_area_is_a_dhaka_thana() {
        let code = default_area();
        let areas = crate::geo::areas();
        assert!(areas.thana(&code).is_some(), "{code}");
        assert_eq!(areas.district_of(&code).unwrap().name_en, "Dhaka");
    }
}
