//! Scan statistics (SPEC §9): how many verifications, with which result, at which
//! checkpoint, in which district and hour; and the "scans near a point" question.
//!
//! A scan is counted once, under `(hour of scanning, district, checkpoint, result)`, in the
//! transaction that writes its row to the scan log. The district is that of the scan's
//! thana (`Scan::area`: the checkpoint's, or the thana nearest to the position), `""` when
//! the scan had no place; the checkpoint is its id, `""` for a scan made elsewhere.

use serde::{Deserialize, Serialize};

use crate::checkpoint::distance_km;
use crate::pass::VerdictColour;

/// Largest radius of a "near a point" question, km: a district is at most about 100 km
/// across, and a bigger circle is better asked by district.
pub const MAX_RADIUS_KM: f64 = 100.0;

/// The three results, in the order answers list them.
pub const RESULTS: [VerdictColour; 3] = [VerdictColour::Green, VerdictColour::Amber, VerdictColour::Red];

/// The stored text of a result.
pub fn result_str(c: VerdictColour) -> &'static str {
    match c {
        VerdictColour::Green => "green",
        VerdictColour::Amber => "amber",
        VerdictColour::Red => "red",
    }
}

/// A result from its stored text.
pub fn parse_result(s: &str) -> Option<VerdictColour> {
    RESULTS.into_iter().find(|c| result_str(*c) == s)
}

/// A dimension to group scan counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanDim {
    Hour,
    District,
    Checkpoint,
    Result,
}

/// Which scan counts to sum; hours are `[from_hour, to_hour)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanQuery {
    pub from_hour: Option<i64>,
    pub to_hour: Option<i64>,
    /// A division (2 digits) or district (4) code.
    pub area: Option<String>,
    /// Only scans at checkpoints whose position is inside this box.
    pub within: Option<BoundingBox>,
    /// Dimensions of the answer's rows, in this order; none: one row with the total.
    pub group: Vec<ScanDim>,
}

/// One row of a scan count answer: the grouped dimensions (others `None`) and the sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanCountRow {
    pub hour: Option<i64>,
    /// District code, `""` for scans without a place.
    pub district: Option<String>,
    /// Checkpoint id (hyphenated), `""` for scans not made at a checkpoint.
    pub checkpoint: Option<String>,
    pub result: Option<VerdictColour>,
    pub n: i64,
}

/// A latitude/longitude box (degrees, inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub lat_min: f64,
    pub lat_max: f64,
    pub lon_min: f64,
    pub lon_max: f64,
}

impl BoundingBox {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.lat_min..=self.lat_max).contains(&lat) && (self.lon_min..=self.lon_max).contains(&lon)
    }
}

/// Why a "near a point" question was refused; `code` is the API's stable error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearError {
    pub code: &'static str,
    pub message: &'static str,
}

const POINT_ERROR: NearError = NearError {
    code: "invalid_point",
    message: "near must be lat,lon in decimal degrees inside Bangladesh (latitude 20 to 27, longitude 87.5 to 93), e.g. 23.7286,90.4106.",
};
const RADIUS_ERROR: NearError = NearError {
    code: "invalid_radius",
    message: "radius_km must be a decimal number of kilometres above 0 and at most 100, e.g. 5 or 2.5.",
};

/// "Scans near a point": a position in Bangladesh and a radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearPoint {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}

/// A plain decimal: optional minus, 1 to 3 integer digits, optional 1 to 7 decimals.
/// Refuses what `f64::from_str` would also take (`inf`, `NaN`, `1e2`, `+1`, spaces).
fn decimal(s: &str, allow_minus: bool) -> Option<f64> {
    let digits = match s.strip_prefix('-') {
        Some(rest) if allow_minus => rest,
        Some(_) => return None,
        None => s,
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let ok_int = (1..=3).contains(&int.len()) && int.bytes().all(|b| b.is_ascii_digit());
    let ok_frac = frac.is_none_or(|f| (1..=7).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    if !(ok_int && ok_frac) {
        return None;
    }
    s.parse().ok().filter(|v: &f64| v.is_finite())
}

impl NearPoint {
    /// Parses `near=lat,lon` and `radius_km=R` strictly.
    pub fn parse(near: &str, radius_km: &str) -> Result<NearPoint, NearError> {
        let (lat, lon) = near.split_once(',').ok_or(POINT_ERROR)?;
        NearPoint::from_parts(lat, lon, radius_km)
    }

    /// The same from separate latitude and longitude texts (the dashboard's form).
    pub fn from_parts(lat: &str, lon: &str, radius_km: &str) -> Result<NearPoint, NearError> {
        let lat = decimal(lat, true).ok_or(POINT_ERROR)?;
        let lon = decimal(lon, true).ok_or(POINT_ERROR)?;
        if !crate::checkpoint::valid_position(lat, lon) {
            return Err(POINT_ERROR);
        }
        let radius_km = decimal(radius_km, false)
            .filter(|r| *r > 0.0 && *r <= MAX_RADIUS_KM)
            .ok_or(RADIUS_ERROR)?;
        Ok(NearPoint { lat, lon, radius_km })
    }

    /// Great-circle distance from the point, km.
    pub fn distance_km(&self, lat: f64, lon: f64) -> f64 {
        distance_km(self.lat, self.lon, lat, lon)
    }

    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.distance_km(lat, lon) <= self.radius_km
    }

    /// A box holding every position within the radius (a little more), for an index-
    /// friendly prefilter; [`NearPoint::contains`] then decides exactly.
    pub fn bounding_box(&self) -> BoundingBox {
        // 6371 km × π / 180: km per degree of latitude (and of longitude at the equator).
        const KM_PER_DEG: f64 = 111.194_93;
        let margin = 1.01;
        let dlat = self.radius_km / KM_PER_DEG * margin;
        let lat_min = self.lat - dlat;
        let lat_max = self.lat + dlat;
        // Longitude degrees shrink towards the poles: use the box's edge furthest from the
        // equator, so the box is wide enough everywhere in it.
        let widest = lat_min.abs().max(lat_max.abs()).min(89.0).to_radians().cos();
        let dlon = self.radius_km / (KM_PER_DEG * widest) * margin;
        BoundingBox {
            lat_min,
            lat_max,
            lon_min: self.lon - dlon,
            lon_max: self.lon + dlon,
        }
    }
}

/// Scans by result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCounts {
    pub green: i64,
    pub amber: i64,
    pub red: i64,
}

impl ResultCounts {
    pub fn add(&mut self, result: VerdictColour, n: i64) {
        match result {
            VerdictColour::Green => self.green += n,
            VerdictColour::Amber => self.amber += n,
            VerdictColour::Red => self.red += n,
        }
    }

    pub fn get(&self, result: VerdictColour) -> i64 {
        match result {
            VerdictColour::Green => self.green,
            VerdictColour::Amber => self.amber,
            VerdictColour::Red => self.red,
        }
    }

    pub fn total(&self) -> i64 {
        self.green + self.amber + self.red
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_is_parsed_strictly() {
        let p = NearPoint::parse("23.7286,90.4106", "5").unwrap();
        assert_eq!((p.lat, p.lon, p.radius_km), (23.7286, 90.4106, 5.0));
        assert_eq!(NearPoint::parse("23,90", "100").unwrap().radius_km, 100.0);
        for (near, code) in [
            ("23.7", "invalid_point"),
            ("23.7,", "invalid_point"),
            (",90.4", "invalid_point"),
            ("23.7,90.4,1", "invalid_point"),
            (" 23.7,90.4", "invalid_point"),
            ("+23.7,90.4", "invalid_point"),
            ("2.37e1,90.4", "invalid_point"),
            ("NaN,90.4", "invalid_point"),
            ("inf,90.4", "invalid_point"),
            ("23.12345678,90.4", "invalid_point"),
            ("51.5,-0.12", "invalid_point"),
            ("-23.7,90.4", "invalid_point"),
            ("23.7,190", "invalid_point"),
        ] {
            assert_eq!(NearPoint::parse(near, "5").unwrap_err().code, code, "{near}");
        }
        for r in ["0", "0.0", "-1", "100.001", "101", "1e1", "", "5 ", "inf", "5km"] {
            assert_eq!(
                NearPoint::parse("23.7,90.4", r).unwrap_err().code,
                "invalid_radius",
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_radius_is_great_circle() {
        let p = NearPoint::parse("23.7286,90.4106", "10").unwrap();
        // About 8.9 km north: inside; about 11.1 km north: outside.
        assert!(p.contains(23.8086, 90.4106));
        assert!(!p.contains(23.8286, 90.4106));
    }

    proptest::proptest! {
        /// Every position within the radius is inside the prefilter box.
        #[test]
        fn the_box_holds_the_circle(
            lat in 20.0f64..27.0, lon in 87.5f64..93.0, r in 0.01f64..100.0,
            bearing in 0.0f64..360.0, frac in 0.0f64..1.0,
        ) {
            let p = NearPoint { lat, lon, radius_km: r };
            // A point at distance frac × r in direction `bearing` (spherical destination formula).
            let d = frac * r / 6371.0;
            let (phi, lambda, theta) = (lat.to_radians(), lon.to_radians(), bearing.to_radians());
            let phi2 = (phi.sin() * d.cos() + phi.cos() * d.sin() * theta.cos()).asin();
            let lambda2 = lambda + (theta.sin() * d.sin() * phi.cos()).atan2(d.cos() - phi.sin() * phi2.sin());
            let (lat2, lon2) = (phi2.to_degrees(), lambda2.to_degrees());
            proptest::prop_assert!(p.distance_km(lat2, lon2) <= r * (1.0 + 1e-9) + 1e-9);
            proptest::prop_assert!(p.bounding_box().contains(lat2, lon2), "{lat2},{lon2} outside {:?}", p.bounding_box());
        }
    }

    #[test]
    fn results_round_trip() {
        for c in RESULTS {
            assert_eq!(parse_result(result_str(c)), Some(c));
        }
        assert_eq!(parse_result("blue"), None);
        let mut r = ResultCounts::default();
        r.add(VerdictColour::Red, 2);
        r.add(VerdictColour::Green, 5);
        assert_eq!((r.total(), r.get(VerdictColour::Red)), (7, 2));
    }
}
