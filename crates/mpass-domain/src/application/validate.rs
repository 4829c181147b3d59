//! An application's input checked field by field ([`ApplicationInput::validate`]): every
//! problem named with its field, in English and Bangla, before anything is stored.

use time::format_description::well_known::Rfc3339;

use super::*;
use crate::error::ValidationErrors;
use crate::geo;
use crate::profile::parse_name;

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
