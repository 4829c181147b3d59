//! Scans (SPEC §8): every verification an officer makes is logged, online or uploaded
//! later from a device that was offline, and a pass seen at two places that no vehicle
//! could connect in the time between is flagged.
//!
//! Impossible travel: two scans of one pass are impossible when the great-circle
//! distance between them exceeds [`TRAVEL_ALLOWANCE_KM`] plus [`MAX_TRAVEL_KMH`] times
//! the hours between them. The allowance covers position error (a phone's GPS, a
//! checkpoint that spans a junction) so two scans at the same checkpoint a minute apart
//! are never flagged. 120 km/h is faster than any road journey in the country averages.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::checkpoint::{EARTH_RADIUS_KM, distance_km};
use crate::ids::{CheckpointId, PassId, ScanId, UserId};
use crate::instant::{from_unix_ms, unix_ms};
use crate::pass::{ReasonCode, VerdictColour};

/// Fastest average speed between two checkpoints considered possible, km/h.
pub const MAX_TRAVEL_KMH: f64 = 120.0;
/// Distance always considered possible between two scans, km (position error).
pub const TRAVEL_ALLOWANCE_KM: f64 = 10.0;
/// Most scans in one offline upload.
pub const MAX_SCAN_BATCH: usize = 500;
/// Earlier scans of the same pass compared with a new one (the latest ones with a
/// position, within [`TRAVEL_HORIZON`] of it).
pub const TRAVEL_HISTORY: u32 = 20;
/// How far apart in time two scans may be and still be impossible travel: the two
/// farthest positions a scan may have (opposite corners of the box `checkpoint` accepts,
/// about 960 km apart) are possible after this long, so a scan further away in time
/// never needs to be read.
pub const TRAVEL_HORIZON: time::Duration = time::Duration::hours(8);

/// How a scan reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    /// `POST /api/v1/verify`: checked by the server while the officer waited.
    Online,
    /// Checked on the device without a network, uploaded later and checked again.
    Offline,
}

impl ScanSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanSource::Online => "online",
            ScanSource::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<ScanSource> {
        match s {
            "online" => Some(ScanSource::Online),
            "offline" => Some(ScanSource::Offline),
            _ => None,
        }
    }
}

/// One logged verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub id: ScanId,
    /// The device's id for an offline scan, which makes uploads idempotent per officer.
    pub client_id: Option<Uuid>,
    /// The pass, when the scanned text or short code named one.
    pub pass_id: Option<PassId>,
    pub officer: UserId,
    pub checkpoint_id: Option<CheckpointId>,
    /// Geocode of the thana where the scan was made: the checkpoint's, else the thana
    /// nearest to the position; `None` without either. Scan statistics count by its district.
    #[serde(default)]
    pub area: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The server's verdict (for offline scans, after checking again).
    pub result: VerdictColour,
    pub reasons: Vec<ReasonCode>,
    /// What the device showed the officer, for offline scans.
    pub device_result: Option<VerdictColour>,
    #[serde(with = "time::serde::rfc3339")]
    pub scanned_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub source: ScanSource,
    /// Impossible travel against an earlier or later scan of the same pass.
    pub flagged: bool,
}

impl Scan {
    /// Where and when, if the scan has a position.
    pub fn point(&self) -> Option<ScanPoint> {
        Some(ScanPoint::new(self.lat?, self.lon?, self.scanned_at))
    }
}

/// A position at an instant, to the millisecond (as the stores keep scan times).
///
/// The instant is kept as unix milliseconds, not an `OffsetDateTime`: a check with a
/// position compares itself with up to [`TRAVEL_HISTORY`] points on the embedded store's
/// writer, and turning each stored time into a date and back cost more than the
/// comparison (docs/BENCHMARKS-HISTORY.md, twenty-ninth round).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanPoint {
    pub lat: f64,
    pub lon: f64,
    /// Unix milliseconds ([`crate::instant::unix_ms`]).
    pub at_ms: i64,
}

impl ScanPoint {
    pub fn new(lat: f64, lon: f64, at: OffsetDateTime) -> ScanPoint {
        ScanPoint {
            lat,
            lon,
            at_ms: unix_ms(at),
        }
    }

    /// The instant, to the millisecond.
    pub fn at(&self) -> OffsetDateTime {
        from_unix_ms(self.at_ms)
    }
}

/// Whether no vehicle could have gone from `a` to `b` in the time between them.
pub fn impossible_travel(a: &ScanPoint, b: &ScanPoint) -> bool {
    let hours = (b.at_ms - a.at_ms).unsigned_abs() as f64 / 3_600_000.0;
    let allowed = TRAVEL_ALLOWANCE_KM + MAX_TRAVEL_KMH * hours;
    // A check with a position compares itself with up to TRAVEL_HISTORY earlier scans, on
    // the store's writer: most pairs are decided by bounds without trigonometry. The
    // great-circle distance is at least the arc of the latitudes' difference, and at most
    // that plus the arc of the longitudes' difference (along a meridian, then along a
    // parallel, never longer than the equator's arc). The margins keep a pair within
    // rounding of the limit for the exact formula.
    let per_degree = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
    let (lat_arc, lon_arc) = ((a.lat - b.lat).abs() * per_degree, (a.lon - b.lon).abs() * per_degree);
    if lat_arc + lon_arc <= allowed * (1.0 - 1e-9) {
        return false;
    }
    if lat_arc > allowed * (1.0 + 1e-9) {
        return true;
    }
    distance_km(a.lat, a.lon, b.lat, b.lon) > allowed
}

/// A logged scan as impossible travel compares it: which scan, where and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TravelPoint {
    pub scan: ScanId,
    pub point: ScanPoint,
}

/// The earlier (or later) scan that `point` cannot be reconciled with, if any.
pub fn first_impossible<'a>(point: &ScanPoint, others: &'a [TravelPoint]) -> Option<&'a TravelPoint> {
    others.iter().find(|o| impossible_travel(&o.point, point))
}

/// What `VerificationStore::scan_record` did.
#[derive(Debug, Clone)]
pub enum ScanRecorded {
    /// Logged now.
    Inserted,
    /// The officer uploaded this `client_id` before: the scan logged then.
    Duplicate(Box<Scan>),
}

/// The verdict colour after adding `reason` to a verdict.
pub fn with_reason(result: VerdictColour, reasons: &mut Vec<ReasonCode>, reason: ReasonCode) -> VerdictColour {
    reasons.retain(|r| *r != ReasonCode::Valid);
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
    result.max(reason.colour())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn at(lat: f64, lon: f64, minutes: i64) -> ScanPoint {
        ScanPoint::new(lat, lon, OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes))
    }

    #[test]
    fn travel_limits() {
        let dhaka = at(23.7286, 90.4106, 0);
        // Chattogram (~215 km) an hour later: impossible; three hours later: possible.
        assert!(impossible_travel(&dhaka, &at(22.3350, 91.8325, 60)));
        assert!(!impossible_travel(&dhaka, &at(22.3350, 91.8325, 180)));
        // Order does not matter.
        assert!(impossible_travel(&at(22.3350, 91.8325, 60), &dhaka));
        // The same checkpoint a minute later, or a few km away at once: possible.
        assert!(!impossible_travel(&dhaka, &at(23.7286, 90.4106, 1)));
        assert!(!impossible_travel(&dhaka, &at(23.75, 90.43, 0)));
    }

    /// Beyond the horizon no two accepted positions are impossible travel, so the stores
    /// may leave older (and later) scans unread; an hour less would not do.
    #[test]
    fn no_two_accepted_positions_are_impossible_beyond_the_horizon() {
        let (lat, lon) = (crate::checkpoint::LAT_RANGE, crate::checkpoint::LON_RANGE);
        let corners = [(lat.0, lon.0), (lat.0, lon.1), (lat.1, lon.0), (lat.1, lon.1)];
        let horizon = TRAVEL_HORIZON.whole_minutes();
        let mut needed = false;
        for (a_lat, a_lon) in corners {
            for (b_lat, b_lon) in corners {
                assert!(!impossible_travel(&at(a_lat, a_lon, 0), &at(b_lat, b_lon, horizon)));
                needed |= impossible_travel(&at(a_lat, a_lon, 0), &at(b_lat, b_lon, horizon - 60));
            }
        }
        assert!(needed, "the horizon could be an hour shorter");
    }

    #[test]
    fn first_impossible_finds_the_scan_that_cannot_be_reconciled() {
        let here = at(23.7286, 90.4106, 60);
        let near = TravelPoint {
            scan: ScanId::new(),
            point: at(23.75, 90.43, 50),
        };
        let far = TravelPoint {
            scan: ScanId::new(),
            point: at(22.3350, 91.8325, 30),
        };
        assert_eq!(first_impossible(&here, &[near, far]), Some(&far));
        assert_eq!(first_impossible(&here, &[near]), None);
        assert_eq!(first_impossible(&here, &[]), None);
    }

    proptest::proptest! {
        /// Symmetric in its two scans, never flags one place twice, and more time between
        /// two scans never turns a possible trip into an impossible one.
        #[test]
        fn travel_is_symmetric_and_time_only_helps(
            lat1 in 20.5f64..26.5, lon1 in 88.0f64..92.5, lat2 in 20.5f64..26.5, lon2 in 88.0f64..92.5,
            minutes in 0i64..600, extra in 0i64..600,
        ) {
            let (a, b) = (at(lat1, lon1, 0), at(lat2, lon2, minutes));
            proptest::prop_assert_eq!(impossible_travel(&a, &b), impossible_travel(&b, &a));
            proptest::prop_assert!(!impossible_travel(&a, &at(lat1, lon1, minutes)));
            if !impossible_travel(&a, &b) {
                proptest::prop_assert!(!impossible_travel(&a, &at(lat2, lon2, minutes + extra)));
            }
        }
    }

    #[test]
    fn adding_a_reason_drops_valid_and_keeps_the_worst_colour() {
        let mut reasons = vec![ReasonCode::Valid];
        let c = with_reason(VerdictColour::Green, &mut reasons, ReasonCode::ImpossibleTravel);
        assert_eq!(
            (c, reasons.clone()),
            (VerdictColour::Amber, vec![ReasonCode::ImpossibleTravel])
        );
        let c = with_reason(c, &mut reasons, ReasonCode::Revoked);
        assert_eq!(c, VerdictColour::Red);
        let c = with_reason(c, &mut reasons, ReasonCode::Revoked);
        assert_eq!((c, reasons.len()), (VerdictColour::Red, 2));
    }

    /// The bounds decide a pair only as the exact distance would: over pairs spread over
    /// the country and beyond, near and far in time, and pairs placed at the limit.
    #[test]
    fn travel_bounds_agree_with_the_great_circle_distance() {
        let exact = |a: &ScanPoint, b: &ScanPoint| {
            let hours = (b.at() - a.at()).abs().as_seconds_f64() / 3600.0;
            distance_km(a.lat, a.lon, b.lat, b.lon) > TRAVEL_ALLOWANCE_KM + MAX_TRAVEL_KMH * hours
        };
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mut seed = 12_345u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut impossible, mut possible) = (0, 0);
        for i in 0..200_000 {
            let spread = [0.01, 0.1, 1.0, 10.0, 90.0][i % 5];
            let a = ScanPoint::new(20.0 + next() * 7.0, 88.0 + next() * 5.0, t0);
            let b = ScanPoint::new(
                (a.lat + (next() - 0.5) * spread).clamp(-90.0, 90.0),
                a.lon + (next() - 0.5) * spread,
                t0 + time::Duration::seconds((next() * 20_000.0) as i64),
            );
            assert_eq!(impossible_travel(&a, &b), exact(&a, &b), "{a:?} {b:?}");
            if exact(&a, &b) {
                impossible += 1;
            } else {
                possible += 1;
            }
        }
        assert!(impossible > 10_000 && possible > 10_000, "{impossible} {possible}");
        // At the limit: 10 km allowed at once, along a meridian and along a parallel.
        let a = ScanPoint::new(23.0, 90.0, t0);
        for km in [9.999, 10.0, 10.001] {
            let degrees = km / (EARTH_RADIUS_KM * std::f64::consts::PI / 180.0);
            let north = ScanPoint {
                lat: 23.0 + degrees,
                ..a
            };
            assert_eq!(impossible_travel(&a, &north), exact(&a, &north), "{km} km north");
            let east = ScanPoint {
                lon: 90.0 + degrees / 23f64.to_radians().cos(),
                ..a
            };
            assert_eq!(impossible_travel(&a, &east), exact(&a, &east), "{km} km east");
        }
    }
}
