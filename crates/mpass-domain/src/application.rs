//! Applications for a movement pass (SPEC §5): input parsing, field rules and lifecycle.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::error::ValidationErrors;
use crate::geo;
use crate::ids::{ApplicationId, PassId, UserId};
use crate::policy::Decision;
use crate::profile::parse_name;

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

fn text(field: &str, raw: Option<&str>, max: usize, required: bool, e: &mut ValidationErrors) -> Option<String> {
    match raw {
        None if required => {
            e.missing(field);
            None
        }
        None => None,
        Some(_) => parse_name(field, raw, max, e),
    }
}

fn place(field: &str, input: Option<&PlaceInput>, e: &mut ValidationErrors) -> Option<Place> {
    let Some(p) = input else {
        e.missing(field);
        return None;
    };
    let area = match p.area.as_deref() {
        None => {
            e.missing(format!("{field}.area"));
            None
        }
        Some(code) if geo::areas().thana(code).is_some() => Some(code.to_string()),
        Some(_) => {
            e.add(
                format!("{field}.area"),
                "unknown_area",
                "Unknown thana code.",
                "অজানা থানা কোড।",
            );
            None
        }
    };
    let address = text(&format!("{field}.address"), p.address.as_deref(), 120, true, e);
    let mut coords_ok = true;
    match (p.lat, p.lon) {
        (None, None) => {}
        (Some(lat), Some(lon)) if (20.3..=26.8).contains(&lat) && (87.9..=92.8).contains(&lon) => {}
        _ => {
            coords_ok = false;
            e.add(
                format!("{field}.lat"),
                "out_of_range",
                "Give both lat and lon, inside Bangladesh.",
                "বাংলাদেশের ভেতরের অক্ষাংশ ও দ্রাঘিমাংশ দুটোই দিন।",
            );
        }
    }
    Some(Place {
        area: area?,
        address: address?,
        lat: p.lat.filter(|_| coords_ok),
        lon: p.lon.filter(|_| coords_ok),
    })
}

impl ApplicationInput {
    /// Validates every field rule of SPEC §5. `is_reason` says whether a reason category
    /// exists in the current policy. Time-window rules belong to the policy, not here.
    pub fn validate(&self, is_reason: &dyn Fn(&str) -> bool) -> Result<ApplicationDetails, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let reason = match self.reason.as_deref() {
            None => {
                e.missing("reason");
                None
            }
            Some(r) if is_reason(r) => Some(r.to_string()),
            Some(_) => {
                e.add(
                    "reason",
                    "unknown_reason",
                    "Unknown reason category.",
                    "অজানা কারণের শ্রেণি।",
                );
                None
            }
        };
        let reason_note = text("reason_note", self.reason_note.as_deref(), 200, false, &mut e);
        let from = place("from", self.from.as_ref(), &mut e);
        let to = place("to", self.to.as_ref(), &mut e);
        let start = match self.start.as_deref() {
            None => {
                e.missing("start");
                None
            }
            Some(s) => match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(t) if START_YEARS.contains(&t.to_offset(time::UtcOffset::UTC).year()) => Some(t),
                Ok(_) => {
                    e.add(
                        "start",
                        "out_of_range",
                        "The start must fall between the years 2000 and 2099.",
                        "যাত্রা শুরুর সময় ২০০০ থেকে ২০৯৯ সালের মধ্যে হতে হবে।",
                    );
                    None
                }
                Err(_) => {
                    e.add(
                        "start",
                        "format",
                        "Use an RFC 3339 time with an offset, e.g. 2026-03-01T09:00:00+06:00.",
                        "অফসেটসহ RFC 3339 সময় দিন, যেমন 2026-03-01T09:00:00+06:00।",
                    );
                    None
                }
            },
        };
        let duration_hours = match self.duration_hours {
            None => {
                e.missing("duration_hours");
                None
            }
            Some(h @ 1..=12) => Some(h as u8),
            Some(_) => {
                e.add(
                    "duration_hours",
                    "out_of_range",
                    "Duration must be 1 to 12 hours.",
                    "সময়কাল ১ থেকে ১২ ঘণ্টা হতে হবে।",
                );
                None
            }
        };
        let trip = match self.trip.as_deref() {
            None => {
                e.missing("trip");
                None
            }
            Some("one_way") => Some(Trip::OneWay),
            Some("round_trip") => Some(Trip::RoundTrip),
            Some(_) => {
                e.add(
                    "trip",
                    "invalid",
                    "Must be one_way or round_trip.",
                    "one_way অথবা round_trip হতে হবে।",
                );
                None
            }
        };
        let vehicle = self.vehicle.as_ref().and_then(|v| vehicle(v, &mut e));
        let companions = companions(self.companions.as_deref().unwrap_or(&[]), &mut e);
        if !e.is_empty() {
            return Err(e);
        }
        match (reason, from, to, start, duration_hours, trip) {
            (Some(reason), Some(from), Some(to), Some(start), Some(duration_hours), Some(trip)) => {
                Ok(ApplicationDetails {
                    reason,
                    reason_note,
                    from,
                    to,
                    start,
                    duration_hours,
                    trip,
                    vehicle,
                    companions,
                    legacy: None,
                })
            }
            _ => Err(e),
        }
    }
}

fn vehicle(v: &VehicleInput, e: &mut ValidationErrors) -> Option<Vehicle> {
    let kind = match v.kind.as_deref() {
        None => {
            e.missing("vehicle.kind");
            None
        }
        Some(k) if VEHICLE_KINDS.contains(&k) => Some(k.to_string()),
        Some(_) => {
            e.add(
                "vehicle.kind",
                "invalid",
                format!("Must be one of {}.", VEHICLE_KINDS.join(", ")),
                "অজানা যানবাহনের ধরন।",
            );
            None
        }
    };
    // The registration travels inside the signed QR, which has a byte budget: the compact
    // Latin form (e.g. DM-GA-11-1234), at most 16 characters.
    let registration = match v.registration.as_deref().map(|r| r.trim().to_ascii_uppercase()) {
        None => {
            e.missing("vehicle.registration");
            None
        }
        Some(r)
            if !r.is_empty()
                && r.len() <= MAX_REGISTRATION_CHARS
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-') =>
        {
            Some(r)
        }
        Some(_) => {
            e.add(
                "vehicle.registration",
                "invalid",
                "Use the compact Latin form of the number plate, e.g. DM-GA-11-1234 (at most 16 letters, digits, spaces or hyphens).",
                "নম্বর প্লেটের সংক্ষিপ্ত ইংরেজি রূপ লিখুন, যেমন DM-GA-11-1234 (সর্বোচ্চ ১৬টি অক্ষর, অঙ্ক, স্পেস বা হাইফেন)।",
            );
            None
        }
    };
    let self_driven = v.self_driven.unwrap_or(true);
    let driver = match (&v.driver, self_driven) {
        (None, false) => {
            e.missing("vehicle.driver");
            None
        }
        (None, true) => None,
        (Some(d), _) => {
            let name = text("vehicle.driver.name", d.name.as_deref(), 64, true, e);
            let licence = text("vehicle.driver.licence", d.licence.as_deref(), 32, true, e);
            name.zip(licence).map(|(name, licence)| Driver { name, licence })
        }
    };
    Some(Vehicle {
        kind: kind?,
        registration: registration?,
        self_driven,
        driver,
    })
}

fn companions(list: &[CompanionInput], e: &mut ValidationErrors) -> Vec<Companion> {
    if list.len() > 4 {
        e.add("companions", "too_many", "At most 4 companions.", "সর্বোচ্চ ৪ জন সঙ্গী।");
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let name = text(&format!("companions[{i}].name"), c.name.as_deref(), 64, true, e);
        let relation = text(&format!("companions[{i}].relation"), c.relation.as_deref(), 32, true, e);
        let age = match c.age {
            None => {
                e.missing(format!("companions[{i}].age"));
                None
            }
            Some(a @ 0..=120) => Some(a as u8),
            Some(_) => {
                e.add(
                    format!("companions[{i}].age"),
                    "out_of_range",
                    "Age must be 0 to 120.",
                    "বয়স ০ থেকে ১২০ হতে হবে।",
                );
                None
            }
        };
        if let (Some(name), Some(relation), Some(age)) = (name, relation, age) {
            out.push(Companion { name, relation, age });
        }
    }
    out
}
