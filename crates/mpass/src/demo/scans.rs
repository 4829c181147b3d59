//! The demo's police checkpoints and scans: a few checkpoints per district (more in the
//! big cities), and the passes of the day checked at them while they are valid.
//!
//! Shape: about 55% of passes whose trip has started are checked, some twice or three
//! times; most at a checkpoint of the district the trip starts or ends in (green), a few
//! elsewhere (amber, off route), now and then a revoked or cancelled pass (red), a pass
//! checked just after it expired (red), a text that is no pass at all (red), a pass seen
//! too far away too soon (amber, flagged). One scan in twelve is made away from any
//! checkpoint, with the officer's position; one in seven was made offline and uploaded later.

use std::collections::HashMap;

use mpass_domain::application::Status;
use mpass_domain::audit::Actor;
use mpass_domain::checkpoint::{Checkpoint, nearest_thana};
use mpass_domain::geo::areas;
use mpass_domain::ids::{CheckpointId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::ports::Store;
use mpass_domain::scan::{Scan, ScanSource};
use mpass_domain::stats::BulkApplication;
use time::{Duration, OffsetDateTime};

use super::Rng;

/// Kinds of place a checkpoint is named after.
const PLACES: [&str; 6] = [
    "bridge",
    "bus stand",
    "crossing",
    "highway post",
    "ferry ghat",
    "toll plaza",
];

/// Officers who scan (synthetic ids: the scan log names an officer, not a person).
const OFFICERS: usize = 400;

/// The checkpoints and officers of the demo.
pub(super) struct Police {
    by_district: HashMap<String, Vec<Checkpoint>>,
    all: Vec<Checkpoint>,
    officers: Vec<UserId>,
}

impl Police {
    /// Creates the checkpoints through the store, as an admin would (audited, actor `cli`):
    /// two per district plus more where more people live.
    pub(super) async fn create(
        store: &dyn Store,
        rng: &mut Rng,
        districts: &[(&str, u32)],
        now: OffsetDateTime,
    ) -> anyhow::Result<Police> {
        let mut by_district: HashMap<String, Vec<Checkpoint>> = HashMap::new();
        let mut all = Vec::new();
        for (district, weight) in districts {
            let thanas: Vec<_> = areas().thanas_of(district).collect();
            if thanas.is_empty() {
                continue;
            }
            let count = 2 + (weight - 1) / 3;
            for i in 0..count {
                let thana = thanas[rng.below(thanas.len() as u32) as usize];
                let place = PLACES[rng.below(PLACES.len() as u32) as usize];
                // Within about a kilometre of the thana's centre.
                let jitter = |rng: &mut Rng| (f64::from(rng.below(2001)) - 1000.0) / 100_000.0;
                let cp = Checkpoint {
                    id: CheckpointId::new(),
                    name: format!("{} {place} {}", thana.name_en, i + 1),
                    lat: thana.lat + jitter(rng),
                    lon: thana.lon + jitter(rng),
                    area: thana.code.clone(),
                    created_at: now - Duration::days(1),
                };
                store.checkpoint_create(&cp, Actor::cli()).await?;
                by_district.entry(district.to_string()).or_default().push(cp.clone());
                all.push(cp);
            }
        }
        let officers = (0..OFFICERS).map(|_| UserId::new()).collect();
        Ok(Police {
            by_district,
            all,
            officers,
        })
    }

    pub(super) fn checkpoints(&self) -> usize {
        self.all.len()
    }

    fn in_district(&self, rng: &mut Rng, district: &str) -> &Checkpoint {
        match self.by_district.get(district) {
            Some(list) if !list.is_empty() => &list[rng.below(list.len() as u32) as usize],
            _ => self.anywhere(rng),
        }
    }

    fn anywhere(&self, rng: &mut Rng) -> &Checkpoint {
        &self.all[rng.below(self.all.len() as u32) as usize]
    }

    /// The scans of one application's pass (none when it has no pass or its trip has not
    /// started by `now`).
    pub(super) fn scans_of(&self, rng: &mut Rng, b: &BulkApplication, now: OffsetDateTime) -> Vec<Scan> {
        let (Some(pass), true) = (&b.pass, !self.all.is_empty()) else {
            return Vec::new();
        };
        let start = pass.valid_from;
        let end = pass.valid_until.min(now);
        if start >= end || rng.chance(450) {
            return Vec::new();
        }
        let times = match rng.below(100) {
            0..70 => 1,
            70..92 => 2,
            _ => 3,
        };
        let from = &b.app.details.from.area[..4];
        let to = &b.app.details.to.area[..4];
        let span = (end - start).whole_seconds().max(1);
        let mut out = Vec::with_capacity(times);
        for _ in 0..times {
            let mut at = start + Duration::seconds(i64::from(rng.below(span.min(u32::MAX as i64) as u32)));
            let mut reasons = vec![ReasonCode::Valid];
            let mut result = VerdictColour::Green;
            let mut flagged = false;
            // Where: mostly on the route's ends, sometimes elsewhere (off route).
            let off_route = rng.chance(40);
            let cp = if off_route {
                self.anywhere(rng)
            } else if rng.chance(600) {
                self.in_district(rng, from)
            } else {
                self.in_district(rng, to)
            };
            let cp_district = &cp.area[..4];
            if cp_district != from && cp_district != to {
                result = VerdictColour::Amber;
                reasons = vec![ReasonCode::CheckpointOffRoute];
            }
            if matches!(b.app.status, Status::Revoked | Status::Cancelled) && rng.chance(500) {
                result = VerdictColour::Red;
                reasons = vec![ReasonCode::Revoked];
            } else if rng.chance(8) {
                // Checked a little after the pass ran out.
                at = pass.valid_until + Duration::minutes(i64::from(1 + rng.below(50)));
                result = VerdictColour::Red;
                reasons = vec![ReasonCode::Expired];
            } else if rng.chance(3) {
                result = result.max(VerdictColour::Amber);
                reasons.retain(|r| *r != ReasonCode::Valid);
                reasons.push(ReasonCode::ImpossibleTravel);
                flagged = true;
            }
            if at >= now {
                continue;
            }
            let mut scan = self.scan(rng, at, now, result, reasons, flagged);
            scan.pass_id = Some(pass.id);
            if rng.chance(85) {
                // Away from any checkpoint: the officer's position near the checkpoint's area.
                let jitter = |rng: &mut Rng| (f64::from(rng.below(6001)) - 3000.0) / 100_000.0;
                let (lat, lon) = (cp.lat + jitter(rng), cp.lon + jitter(rng));
                scan.checkpoint_id = None;
                scan.lat = Some(lat);
                scan.lon = Some(lon);
                scan.area = nearest_thana(lat, lon).map(|t| t.code.clone());
            } else {
                scan.checkpoint_id = Some(cp.id);
                scan.lat = Some(cp.lat);
                scan.lon = Some(cp.lon);
                scan.area = Some(cp.area.clone());
            }
            out.push(scan);
        }
        // Now and then a text that is no pass at all, or a forgery.
        if rng.chance(6) {
            let at = start + Duration::seconds(i64::from(rng.below(span.min(u32::MAX as i64) as u32)));
            if at < now {
                let reason = if rng.chance(500) {
                    ReasonCode::Malformed
                } else {
                    ReasonCode::BadSignature
                };
                let cp = self.in_district(rng, from);
                let mut scan = self.scan(rng, at, now, VerdictColour::Red, vec![reason], false);
                scan.checkpoint_id = Some(cp.id);
                scan.lat = Some(cp.lat);
                scan.lon = Some(cp.lon);
                scan.area = Some(cp.area.clone());
                out.push(scan);
            }
        }
        out
    }

    fn scan(
        &self,
        rng: &mut Rng,
        at: OffsetDateTime,
        now: OffsetDateTime,
        result: VerdictColour,
        reasons: Vec<ReasonCode>,
        flagged: bool,
    ) -> Scan {
        let offline = rng.chance(140);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.unix_timestamp() as u64, at.nanosecond());
        let received_at = if offline {
            (at + Duration::minutes(i64::from(5 + rng.below(240)))).min(now)
        } else {
            at
        };
        Scan {
            id: ScanId(uuid::Uuid::new_v7(ts)),
            client_id: offline.then(uuid::Uuid::now_v7),
            pass_id: None,
            officer: self.officers[rng.below(self.officers.len() as u32) as usize],
            checkpoint_id: None,
            area: None,
            lat: None,
            lon: None,
            result,
            reasons,
            device_result: offline.then_some(result),
            scanned_at: at,
            received_at,
            source: if offline {
                ScanSource::Offline
            } else {
                ScanSource::Online
            },
            flagged,
        }
    }
}
