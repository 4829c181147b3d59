//! Police checkpoints (SPEC §8): named places with a position, so scans carry where they
//! were made and the verifier can check the checkpoint's area against a pass's route.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValidationErrors;
use crate::geo::{self, Area, AreaKind};
use crate::ids::CheckpointId;

/// Longest checkpoint name, in characters.
pub const MAX_CHECKPOINT_NAME_CHARS: usize = 80;

/// Bangladesh's bounding box with a margin: positions outside it are typing errors.
pub(crate) const LAT_RANGE: (f64, f64) = (20.0, 27.0);
pub(crate) const LON_RANGE: (f64, f64) = (87.5, 93.0);

/// Mean Earth radius used for great-circle distances, km.
pub(crate) const EARTH_RADIUS_KM: f64 = 6371.0;

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: CheckpointId,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Geocode of the thana the checkpoint is in (given, or the nearest thana centroid).
    pub area: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What an admin sends to create a checkpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInput {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub area: Option<String>,
}

/// Whether a position is a plausible one in Bangladesh (finite, inside the bounding box).
pub fn valid_position(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (LAT_RANGE.0..=LAT_RANGE.1).contains(&lat)
        && (LON_RANGE.0..=LON_RANGE.1).contains(&lon)
}

/// Adds errors for a position's fields (`{prefix}lat`, `{prefix}lon`) to `errors`.
pub fn check_position(errors: &mut ValidationErrors, prefix: &str, lat: f64, lon: f64) {
    if !lat.is_finite() || !(LAT_RANGE.0..=LAT_RANGE.1).contains(&lat) {
        errors.add(
            format!("{prefix}lat"),
            "out_of_range",
            "The latitude must be inside Bangladesh (20 to 27 degrees north).",
            "অক্ষাংশ বাংলাদেশের ভেতরে হতে হবে (উত্তরে ২০ থেকে ২৭ ডিগ্রি)।",
        );
    }
    if !lon.is_finite() || !(LON_RANGE.0..=LON_RANGE.1).contains(&lon) {
        errors.add(
            format!("{prefix}lon"),
            "out_of_range",
            "The longitude must be inside Bangladesh (87.5 to 93 degrees east).",
            "দ্রাঘিমাংশ বাংলাদেশের ভেতরে হতে হবে (পূর্বে ৮৭.৫ থেকে ৯৩ ডিগ্রি)।",
        );
    }
}

/// Great-circle (haversine) distance between two positions, km.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// A position as a point on the unit sphere: the nearer two positions are along the great
/// circle, the larger the dot product of their vectors (it is the cosine of the angle
/// between them), so the nearest of many needs no trigonometry per candidate.
fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (p, l) = (lat.to_radians(), lon.to_radians());
    [p.cos() * l.cos(), p.cos() * l.sin(), p.sin()]
}

/// The thana whose centroid is nearest to a position (great-circle distance). Every online
/// check with a position asks this: the thanas' centroids are turned into unit vectors
/// once, and each candidate costs a dot product, not two haversines. Inside the accepted
/// box only the few thanas that can be nearest to some point of the position's grid cell
/// are candidates (`ThanaGrid`); the answer is the one a scan of every thana gives.
pub fn nearest_thana(lat: f64, lon: f64) -> Option<&'static Area> {
    static GRID: OnceLock<ThanaGrid> = OnceLock::new();
    GRID.get_or_init(ThanaGrid::new).nearest(lat, lon)
}

/// Side of a cell of [`ThanaGrid`], degrees.
const CELL_DEG: f64 = 0.1;

/// The thanas' unit vectors and, for each cell of a grid over [`LAT_RANGE`] × [`LON_RANGE`],
/// the thanas that may be nearest to a point in it.
///
/// For a cell with centre `c`, let `d0` be the angle from `c` to its nearest thana and `r`
/// the largest angle from `c` to a point of the cell. The thana nearest to a point `p` of
/// the cell is no farther from `p` than that one (at most `d0 + r`), so it is at most
/// `d0 + 2r` from `c` (triangle inequality on the sphere): the cell keeps every thana
/// within that angle of its centre (in the thanas' order, so that ties fall as in a scan of
/// all of them).
struct ThanaGrid {
    thanas: Vec<([f64; 3], &'static Area)>,
    cols: usize,
    rows: usize,
    /// Per cell, row by row: its candidates' range in `candidates`.
    cells: Vec<(u32, u32)>,
    candidates: Vec<u16>,
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The last of the largest dot products with `q`, as `Iterator::max_by` picks it.
fn nearest_of<'a>(q: &[f64; 3], thanas: impl Iterator<Item = &'a ([f64; 3], &'static Area)>) -> Option<&'static Area> {
    thanas
        .map(|(v, a)| (dot(v, q), *a))
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a)| a)
}

impl ThanaGrid {
    fn new() -> ThanaGrid {
        let thanas: Vec<([f64; 3], &'static Area)> = geo::areas()
            .all()
            .iter()
            .filter(|a| a.kind == AreaKind::Thana)
            .map(|a| (unit_vector(a.lat, a.lon), a))
            .collect();
        let rows = ((LAT_RANGE.1 - LAT_RANGE.0) / CELL_DEG).ceil() as usize;
        let cols = ((LON_RANGE.1 - LON_RANGE.0) / CELL_DEG).ceil() as usize;
        let mut cells = Vec::with_capacity(rows * cols);
        let mut candidates = Vec::new();
        let angle = |a: &[f64; 3], b: &[f64; 3]| dot(a, b).clamp(-1.0, 1.0).acos();
        for row in 0..rows {
            for col in 0..cols {
                let (lat0, lon0) = (LAT_RANGE.0 + row as f64 * CELL_DEG, LON_RANGE.0 + col as f64 * CELL_DEG);
                let c = unit_vector(lat0 + CELL_DEG / 2.0, lon0 + CELL_DEG / 2.0);
                // The corners and the edges' midpoints: in a cell this small the farthest
                // point from the centre is a corner; the margin covers rounding.
                let r = [0.0, 0.5, 1.0]
                    .iter()
                    .flat_map(|&i| [0.0, 0.5, 1.0].map(|j| (i, j)))
                    .map(|(i, j)| angle(&c, &unit_vector(lat0 + i * CELL_DEG, lon0 + j * CELL_DEG)))
                    .fold(0.0, f64::max)
                    * 1.01;
                let d0 = thanas
                    .iter()
                    .map(|(v, _)| dot(&c, v))
                    .fold(-1.0, f64::max)
                    .clamp(-1.0, 1.0)
                    .acos();
                let within = (d0 + 2.0 * r + 1e-9).min(std::f64::consts::PI).cos();
                let start = candidates.len() as u32;
                candidates.extend(
                    thanas
                        .iter()
                        .enumerate()
                        .filter(|(_, (v, _))| dot(&c, v) >= within)
                        .map(|(i, _)| i as u16),
                );
                cells.push((start, candidates.len() as u32));
            }
        }
        ThanaGrid {
            thanas,
            cols,
            rows,
            cells,
            candidates,
        }
    }

    fn nearest(&self, lat: f64, lon: f64) -> Option<&'static Area> {
        let q = unit_vector(lat, lon);
        let row = (lat - LAT_RANGE.0) / CELL_DEG;
        let col = (lon - LON_RANGE.0) / CELL_DEG;
        // NaN fails both comparisons too, and goes to the scan of every thana.
        if (0.0..self.rows as f64).contains(&row) && (0.0..self.cols as f64).contains(&col) {
            let (start, end) = self.cells[row as usize * self.cols + col as usize];
            let ids = &self.candidates[start as usize..end as usize];
            return nearest_of(&q, ids.iter().map(|&i| &self.thanas[usize::from(i)]));
        }
        nearest_of(&q, self.thanas.iter())
    }
}

impl CheckpointInput {
    /// Checks every field and builds the checkpoint; the area defaults to the nearest thana.
    pub fn validate(self, id: CheckpointId, now: OffsetDateTime) -> Result<Checkpoint, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.missing("name");
        } else if name.chars().count() > MAX_CHECKPOINT_NAME_CHARS || name.chars().any(char::is_control) {
            errors.add(
                "name",
                "invalid",
                format!("Use 1 to {MAX_CHECKPOINT_NAME_CHARS} characters, no control characters."),
                "১ থেকে ৮০টি অক্ষর ব্যবহার করুন, নিয়ন্ত্রণ-অক্ষর ছাড়া।",
            );
        }
        check_position(&mut errors, "", self.lat, self.lon);
        let area = match self.area.as_deref().map(str::trim) {
            Some(code) => match geo::areas().thana(code) {
                Some(a) => Some(a.code.clone()),
                None => {
                    errors.add(
                        "area",
                        "unknown_area",
                        "Not a known thana code.",
                        "এটি পরিচিত থানা কোড নয়।",
                    );
                    None
                }
            },
            None if valid_position(self.lat, self.lon) => nearest_thana(self.lat, self.lon).map(|a| a.code.clone()),
            None => None,
        };
        errors.into_result(|| Checkpoint {
            id,
            name,
            lat: self.lat,
            lon: self.lon,
            area: area.unwrap_or_default(),
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, lat: f64, lon: f64, area: Option<&str>) -> CheckpointInput {
        CheckpointInput {
            name: name.into(),
            lat,
            lon,
            area: area.map(str::to_string),
        }
    }

    #[test]
    fn distance_is_great_circle() {
        // Dhaka (Zero Point) to Chattogram is about 215 km as the crow flies.
        let d = distance_km(23.7286, 90.4106, 22.3350, 91.8325);
        assert!((200.0..230.0).contains(&d), "{d}");
        assert!(distance_km(23.7, 90.4, 23.7, 90.4).abs() < 1e-9);
    }

    #[test]
    fn area_defaults_to_the_nearest_thana() {
        let areas = geo::areas();
        let thana = areas.all().iter().find(|a| a.kind == AreaKind::Thana).unwrap();
        let cp = input("Gate", thana.lat + 0.001, thana.lon, None)
            .validate(CheckpointId::new(), OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(cp.area, thana.code);
        let given = input(" Gate ", 23.7, 90.4, Some(&thana.code))
            .validate(CheckpointId::new(), OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(
            (given.area.as_str(), given.name.as_str()),
            (thana.code.as_str(), "Gate")
        );
    }

    /// The grid's candidates always hold the thana a scan of every thana picks, across the
    /// accepted box and its cells' edges.
    #[test]
    fn the_grid_answers_as_a_scan_of_every_thana() {
        let grid = ThanaGrid::new();
        let mut lat = LAT_RANGE.0;
        let mut most = 0;
        while lat <= LAT_RANGE.1 {
            let mut lon = LON_RANGE.0;
            while lon <= LON_RANGE.1 {
                let q = unit_vector(lat, lon);
                let all = nearest_of(&q, grid.thanas.iter()).map(|a| &a.code);
                assert_eq!(grid.nearest(lat, lon).map(|a| &a.code), all, "{lat} {lon}");
                lon += CELL_DEG / 7.0;
            }
            lat += CELL_DEG / 7.0;
        }
        for (start, end) in &grid.cells {
            most = most.max(end - start);
        }
        // Few enough to be worth it: a scan of every thana compares over 500.
        assert!(most < 64, "{most} candidates in one cell");
        let began = std::time::Instant::now();
        let _ = ThanaGrid::new();
        println!(
            "grid of {} cells, at most {most} candidates each, built in {:?}",
            grid.cells.len(),
            began.elapsed()
        );
        assert!(nearest_thana(f64::NAN, 90.0).is_some());
    }

    proptest::proptest! {
        /// The dot products pick the thana the haversine distance would: none is nearer.
        #[test]
        fn nearest_thana_is_nearest_by_great_circle(lat in 20.0f64..27.0, lon in 87.5f64..93.0) {
            let got = nearest_thana(lat, lon).unwrap();
            let best = geo::areas()
                .all()
                .iter()
                .filter(|a| a.kind == AreaKind::Thana)
                .map(|a| distance_km(lat, lon, a.lat, a.lon))
                .fold(f64::INFINITY, f64::min);
            proptest::prop_assert!(distance_km(lat, lon, got.lat, got.lon) - best < 1e-6);
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let e = input("", 0.0, f64::NAN, Some("99"))
            .validate(CheckpointId::new(), OffsetDateTime::UNIX_EPOCH)
            .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "lat", "lon", "area"]);
        assert!(
            input(&"x".repeat(81), 23.7, 90.4, None)
                .validate(CheckpointId::new(), OffsetDateTime::UNIX_EPOCH)
                .is_err()
        );
    }
}
