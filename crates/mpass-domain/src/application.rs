//! Applications for a movement pass (SPEC §5): input parsing, field rules and lifecycle.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::{ApplicationId, PassId, UserId};
use crate::policy::Decision;

/// Where an application is in its lifecycle. Expiry is derived from time, not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Approved,
    Rejected,
    InReview,
    InfoRequested,
    Cancelled,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
        Status::InReview,
        Status::InfoRequested,
        Status::Cancelled,
        Status::Revoked,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::InReview => "in_review",
            Status::InfoRequested => "info_requested",
            Status::Cancelled => "cancelled",
            Status::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the citizen may still cancel. A decided rejection is final; a pass that is
    /// approved, or an application still waiting, may be withdrawn.
    pub fn cancellable(&self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Approved | Status::InReview | Status::InfoRequested
        )
    }
}

/// Trip kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trip {
    OneWay,
    RoundTrip,
}

/// Vehicle kinds a citizen can choose.
pub const VEHICLE_KINDS: [&str; 10] = [
    "car",
    "motorcycle",
    "microbus",
    "bus",
    "truck",
    "pickup",
    "cng",
    "rickshaw",
    "ambulance",
    "other",
];

/// Longest vehicle registration accepted; it travels inside the signed QR, which has a size budget.
pub const MAX_REGISTRATION_CHARS: usize = 16;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    pub area: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverInput {
    pub name: Option<String>,
    pub licence: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    pub kind: Option<String>,
    pub registration: Option<String>,
    pub self_driven: Option<bool>,
    pub driver: Option<DriverInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanionInput {
    pub name: Option<String>,
    pub relation: Option<String>,
    pub age: Option<i64>,
}

/// An application as a client sends it (`POST /api/v1/applications`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    pub reason: Option<String>,
    pub reason_note: Option<String>,
    pub from: Option<PlaceInput>,
    pub to: Option<PlaceInput>,
    pub start: Option<String>,
    pub duration_hours: Option<i64>,
    pub trip: Option<String>,
    pub vehicle: Option<VehicleInput>,
    pub companions: Option<Vec<CompanionInput>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Thana geocode.
    pub area: String,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driver {
    pub name: String,
    pub licence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    pub kind: String,
    pub registration: String,
    pub self_driven: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
}

impl ApplicationDetails {
    /// The application as the policy sees it.
    pub fn policy_input(&self) -> crate::policy::PolicyInput {
        crate::policy::PolicyInput {
            reason: self.reason.clone(),
            from_area: self.from.area.clone(),
            to_area: self.to.area.clone(),
            start: self.start,
            duration_hours: self.duration_hours,
            companions: u8::try_from(self.companions.len()).unwrap_or(u8::MAX),
            has_vehicle: self.vehicle.is_some(),
        }
    }
}

impl Vehicle {
    /// The registration as the fraud check compares it: letters and digits only, upper
    /// case, so `DM-GA 11-1234` and `dmga111234` are the same vehicle.
    pub fn registration_key(&self) -> String {
        registration_key(&self.registration)
    }
}

/// See [`Vehicle::registration_key`].
pub fn registration_key(registration: &str) -> String {
    registration
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Companion {
    pub name: String,
    pub relation: String,
    pub age: u8,
}

/// The years (UTC) a trip may start in. How far ahead a trip may be planned is the
/// policy's rule; this only keeps times the rest of the system must compute with (the
/// end, the curfew windows, the weekly window) far from what a time can hold.
pub const START_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// A valid application, ready to be stored and decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationDetails {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_note: Option<String>,
    pub from: Place,
    pub to: Place,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub duration_hours: u8,
    pub trip: Trip,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<Vehicle>,
    #[serde(default)]
    pub companions: Vec<Companion>,
    /// What a legacy `/v1` client sent beyond our fields (SPEC §12); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<crate::legacy::LegacyOrigin>,
}

impl ApplicationDetails {
    /// When the pass stops being valid. Input is held to [`START_YEARS`], so this never
    /// saturates for an application taken by `validate`; a stored one from elsewhere that
    /// would end past what a time can hold ends at its start instead of panicking.
    pub fn end(&self) -> OffsetDateTime {
        self.start
            .checked_add(Duration::hours(i64::from(self.duration_hours)))
            .unwrap_or(self.start)
    }
}

/// A stored application with its current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub user_id: UserId,
    pub status: Status,
    pub details: ApplicationDetails,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub decision: Option<Decision>,
    pub pass_id: Option<PassId>,
}

mod validate;
