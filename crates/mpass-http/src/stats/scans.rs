//! Scan statistics (SPEC §9): scans by result, per checkpoint, and near a point, from the
//! scan counters (`StatsStore::stats_scans`), never the scan log. Counts and checkpoint names
//! only: no officer, pass or holder appears in any answer.

use std::collections::HashMap;

use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::geo::areas;
use mpass_domain::ports::Store;
use mpass_domain::stats::scans::{NearPoint, RESULTS, ResultCounts, ScanDim, ScanQuery, result_str};
use serde_json::{Value, json};

use super::{Filters, StatsParams, bad, csv_field};
use crate::error::ApiError;

impl StatsParams {
    /// `near=lat,lon&radius_km=R`, both or neither (API).
    pub fn near(&self) -> Result<Option<NearPoint>, ApiError> {
        match (self.near.as_deref(), self.radius_km.as_deref()) {
            (None, None) => Ok(None),
            (Some(near), Some(r)) => NearPoint::parse(near, r).map(Some).map_err(near_error),
            (Some(_), None) => Err(bad("invalid_radius", "radius_km is required with near.")),
            (None, Some(_)) => Err(bad("invalid_point", "near is required with radius_km.")),
        }
    }

    /// The dashboard form's `lat`, `lon` and `radius_km`: all empty is no question.
    pub fn near_form(&self) -> Result<Option<NearPoint>, ApiError> {
        let field = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
        let (lat, lon, r) = (field(&self.lat), field(&self.lon), field(&self.radius_km));
        if lat.is_empty() && lon.is_empty() && r.is_empty() {
            return Ok(None);
        }
        NearPoint::from_parts(&lat, &lon, &r).map(Some).map_err(near_error)
    }
}

fn near_error(e: mpass_domain::stats::scans::NearError) -> ApiError {
    bad(e.code, e.message)
}

impl Filters {
    fn scans(&self, group: Vec<ScanDim>) -> ScanQuery {
        ScanQuery {
            from_hour: Some(self.from_hour),
            to_hour: Some(self.to_hour),
            area: self.district.clone(),
            within: None,
            group,
        }
    }
}

/// Scans in the range (and district) by result.
pub async fn totals(store: &dyn Store, f: &Filters) -> Result<ResultCounts, ApiError> {
    let rows = store.stats_scans(&f.scans(vec![ScanDim::Result])).await?;
    let mut out = ResultCounts::default();
    for r in rows {
        if let Some(result) = r.result {
            out.add(result, r.n);
        }
    }
    Ok(out)
}

/// One checkpoint's scans (or, without a checkpoint, those made elsewhere in a district).
#[derive(Debug, Clone)]
pub struct CheckpointScans {
    /// `None` for scans not made at a checkpoint.
    pub checkpoint: Option<Checkpoint>,
    pub deleted: bool,
    /// District code; empty when the scan had no place.
    pub district: String,
    pub distance_km: Option<f64>,
    pub counts: ResultCounts,
}

impl CheckpointScans {
    pub fn district_names(&self) -> (&str, &str) {
        areas()
            .district(&self.district)
            .map_or(("", ""), |a| (a.name_en.as_str(), a.name_bn.as_str()))
    }
}

/// Scans per checkpoint in the range and district, busiest first; with `near`, only the
/// checkpoints within the radius (a box in SQL, then the great-circle distance), nearest
/// first.
pub async fn checkpoints(
    store: &dyn Store,
    f: &Filters,
    near: Option<NearPoint>,
) -> Result<Vec<CheckpointScans>, ApiError> {
    let mut q = f.scans(vec![ScanDim::Checkpoint, ScanDim::District, ScanDim::Result]);
    q.within = near.map(|p| p.bounding_box());
    let rows = store.stats_scans(&q).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let known: HashMap<String, (Checkpoint, bool)> = store
        .checkpoints_with_deleted()
        .await?
        .into_iter()
        .map(|(cp, deleted)| (cp.id.to_string(), (cp, deleted.is_some())))
        .collect();
    let mut out: Vec<CheckpointScans> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for r in rows {
        let (Some(cp), Some(district), Some(result)) = (r.checkpoint, r.district, r.result) else {
            continue;
        };
        let i = *index.entry((cp.clone(), district.clone())).or_insert_with(|| {
            let found = known.get(&cp);
            out.push(CheckpointScans {
                checkpoint: found.map(|(c, _)| c.clone()),
                deleted: found.is_some_and(|(_, d)| *d),
                district,
                distance_km: None,
                counts: ResultCounts::default(),
            });
            out.len() - 1
        });
        out[i].counts.add(result, r.n);
    }
    match near {
        Some(p) => {
            out.retain_mut(|c| match &c.checkpoint {
                Some(cp) if p.contains(cp.lat, cp.lon) => {
                    c.distance_km = Some(p.distance_km(cp.lat, cp.lon));
                    true
                }
                _ => false,
            });
            out.sort_by(|a, b| a.distance_km.unwrap_or(0.0).total_cmp(&b.distance_km.unwrap_or(0.0)));
        }
        None => out.sort_by(|a, b| {
            b.counts
                .total()
                .cmp(&a.counts.total())
                .then_with(|| a.checkpoint.is_none().cmp(&b.checkpoint.is_none()))
                .then_with(|| a.district.cmp(&b.district))
        }),
    }
    Ok(out)
}

fn totals_of(items: &[CheckpointScans]) -> ResultCounts {
    let mut t = ResultCounts::default();
    for i in items {
        for r in RESULTS {
            t.add(r, i.counts.get(r));
        }
    }
    t
}

/// `{total, by_result: {green, amber, red}}`.
pub fn counts_json(c: &ResultCounts) -> Value {
    let by_result: serde_json::Map<String, Value> = RESULTS
        .iter()
        .map(|r| (result_str(*r).to_string(), json!(c.get(*r))))
        .collect();
    json!({ "total": c.total(), "by_result": by_result })
}

/// Rounds to 6 decimals (about 10 cm): enough for a position or a distance.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

pub fn checkpoints_json(f: &Filters, near: Option<NearPoint>, items: &[CheckpointScans]) -> Value {
    let mut filters = f.echo();
    filters["near"] = near.map_or(
        Value::Null,
        |p| json!({ "lat": p.lat, "lon": p.lon, "radius_km": p.radius_km }),
    );
    let rows: Vec<Value> = items
        .iter()
        .map(|c| {
            let (name_en, name_bn) = c.district_names();
            let mut v = json!({
                "checkpoint_id": c.checkpoint.as_ref().map(|cp| cp.id.to_string()),
                "name": c.checkpoint.as_ref().map(|cp| cp.name.clone()),
                "deleted": c.deleted,
                "district": (!c.district.is_empty()).then_some(&c.district),
                "district_name_en": (!name_en.is_empty()).then_some(name_en),
                "district_name_bn": (!name_bn.is_empty()).then_some(name_bn),
                "lat": c.checkpoint.as_ref().map(|cp| cp.lat),
                "lon": c.checkpoint.as_ref().map(|cp| cp.lon),
                "scans": counts_json(&c.counts),
            });
            if let Some(d) = c.distance_km {
                v["distance_km"] = json!(round6(d));
            }
            v
        })
        .collect();
    json!({ "filters": filters, "scans": counts_json(&totals_of(items)), "items": rows })
}

pub fn checkpoints_csv(items: &[CheckpointScans]) -> String {
    let mut out = String::from("checkpoint_id,name,district,lat,lon,distance_km,scans,green,amber,red\n");
    for c in items {
        let (id, name, lat, lon) = match &c.checkpoint {
            Some(cp) => (
                cp.id.to_string(),
                csv_field(&cp.name),
                cp.lat.to_string(),
                cp.lon.to_string(),
            ),
            None => Default::default(),
        };
        let distance = c.distance_km.map(|d| format!("{:.3}", d)).unwrap_or_default();
        out.push_str(&format!(
            "{id},{name},{},{lat},{lon},{distance},{},{},{},{}\n",
            c.district,
            c.counts.total(),
            c.counts.green,
            c.counts.amber,
            c.counts.red
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_needs_both_parameters_and_names_the_bad_one() {
        let p = |near: Option<&str>, r: Option<&str>| StatsParams {
            near: near.map(str::to_string),
            radius_km: r.map(str::to_string),
            ..StatsParams::default()
        };
        let code = |p: StatsParams| match p.near() {
            Err(ApiError::BadRequest { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert!(p(None, None).near().unwrap().is_none());
        assert_eq!(p(Some("23.7,90.4"), Some("3")).near().unwrap().unwrap().radius_km, 3.0);
        assert_eq!(code(p(Some("23.7,90.4"), None)), "invalid_radius");
        assert_eq!(code(p(None, Some("3"))), "invalid_point");
        assert_eq!(code(p(Some("91,90.4"), Some("3"))), "invalid_point");
        assert_eq!(code(p(Some("23.7,90.4"), Some("0"))), "invalid_radius");
        let form = StatsParams {
            lat: Some(" ".into()),
            lon: Some(String::new()),
            radius_km: Some(String::new()),
            ..StatsParams::default()
        };
        assert!(form.near_form().unwrap().is_none(), "an empty form asks nothing");
    }

    #[test]
    fn checkpoint_names_are_defused_in_csv() {
        let cp = Checkpoint {
            id: mpass_domain::ids::CheckpointId::new(),
            name: "=HYPERLINK(\"x\")".into(),
            lat: 23.7,
            lon: 90.4,
            area: "30260014".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let csv = checkpoints_csv(&[CheckpointScans {
            checkpoint: Some(cp),
            deleted: false,
            district: "3026".into(),
            distance_km: Some(1.23456),
            counts: ResultCounts {
                green: 3,
                amber: 1,
                red: 0,
            },
        }]);
        let line = csv.lines().nth(1).unwrap();
        assert!(
            line.contains(",\"'=HYPERLINK(\"\"x\"\")\",3026,23.7,90.4,1.235,4,3,1,0"),
            "{line}"
        );
    }
}
