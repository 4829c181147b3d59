//! Scan statistics (SPEC §9): scans counted by hour, district, checkpoint and result in the
//! transaction that logs them equal a direct count of the scan log and a rebuild; a
//! repeated offline upload counts nothing; "near a point" prefilters by checkpoint position.

use std::sync::Arc;

use mpass_domain::audit::Actor;
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::ports::*;
use mpass_domain::scan::{Scan, ScanRecorded, ScanSource};
use mpass_domain::stats::hour_of;
use mpass_domain::stats::scans::{NearPoint, ScanCountRow, ScanDim, ScanQuery};

use super::fixtures::*;

fn checkpoint(name: &str, lat: f64, lon: f64, area: &str) -> Checkpoint {
    Checkpoint {
        id: CheckpointId::new(),
        name: name.into(),
        lat,
        lon,
        area: area.into(),
        created_at: t(0),
    }
}

/// A scan at `cp` (or at a position in `area`, or nowhere) at `secs`.
fn scan_at(officer: UserId, cp: Option<&Checkpoint>, area: Option<&str>, secs: i64, result: VerdictColour) -> Scan {
    Scan {
        id: ScanId::new(),
        client_id: None,
        pass_id: Some(PassId::new()),
        officer,
        checkpoint_id: cp.map(|c| c.id),
        area: cp.map(|c| c.area.clone()).or(area.map(str::to_string)),
        lat: cp.map(|c| c.lat).or(area.map(|_| 23.75)),
        lon: cp.map(|c| c.lon).or(area.map(|_| 90.39)),
        result,
        reasons: vec![match result {
            VerdictColour::Green => ReasonCode::Valid,
            VerdictColour::Amber => ReasonCode::CheckpointOffRoute,
            VerdictColour::Red => ReasonCode::Revoked,
        }],
        device_result: None,
        scanned_at: t(secs),
        received_at: t(secs + 1),
        source: ScanSource::Online,
        flagged: false,
    }
}

/// Every way the API groups and filters scans.
fn questions(near: &NearPoint) -> Vec<ScanQuery> {
    use ScanDim::*;
    let groups = [
        vec![],
        vec![Result],
        vec![Hour, Result],
        vec![District, Result],
        vec![Checkpoint, District, Result],
        vec![Hour, District, Checkpoint, Result],
    ];
    let mut qs = Vec::new();
    for g in groups {
        for (area, within, hours) in [
            (None, None, None),
            (Some("30"), None, None),
            (Some("1004"), None, Some((hour_of(t(0)), hour_of(t(2 * 3600))))),
            (None, Some(near.bounding_box()), None),
        ] {
            qs.push(ScanQuery {
                from_hour: hours.map(|h| h.0),
                to_hour: hours.map(|h| h.1),
                area: area.map(str::to_string),
                within,
                group: g.clone(),
            });
        }
    }
    qs
}

async fn assert_agree(store: &Arc<dyn Store>, near: &NearPoint, when: &str) -> Vec<Vec<ScanCountRow>> {
    let mut answers = Vec::new();
    for q in questions(near) {
        let kept = store.stats_scans(&q).await.unwrap();
        let direct = store.stats_scans_direct(&q).await.unwrap();
        assert_eq!(kept, direct, "{when}: counters and the scan log differ for {q:?}");
        answers.push(kept);
    }
    answers
}

pub(crate) async fn scan_counters_match_the_scan_log_and_rebuild(store: Arc<dyn Store>) {
    let admin = user(&store, 1).await;
    let officer = user(&store, 2).await.id;
    // Two checkpoints in Dhaka about 5 km apart, one in Barguna.
    let gate = checkpoint("Mohakhali gate", 23.7786, 90.4006, "30260014");
    let bridge = checkpoint("Gabtoli bridge", 23.7836, 90.3496, "30260002");
    let barguna = checkpoint("Barguna ghat", 22.1591, 90.1261, "10040009");
    for cp in [&gate, &bridge, &barguna] {
        store.checkpoint_create(cp, Actor::user(admin.id)).await.unwrap();
    }
    use VerdictColour::{Amber, Green, Red};
    let plan: [(Option<&Checkpoint>, Option<&str>, i64, VerdictColour); 12] = [
        (Some(&gate), None, 0, Green),
        (Some(&gate), None, 10, Green),
        (Some(&gate), None, 3_600, Amber),
        (Some(&bridge), None, 20, Red),
        (Some(&bridge), None, 7_200, Green),
        (Some(&barguna), None, 30, Green),
        (Some(&barguna), None, 3_700, Red),
        (Some(&barguna), None, 3_800, Red),
        // At a position (no checkpoint), in Dhaka; and with no place at all.
        (None, Some("30260002"), 40, Amber),
        (None, Some("30260002"), 50, Green),
        (None, None, 60, Red),
        (None, None, 7_300, Green),
    ];
    for (cp, area, secs, result) in plan {
        let s = scan_at(officer, cp, area, secs, result);
        assert!(matches!(store.scan_record(&s).await.unwrap(), ScanRecorded::Inserted));
    }
    // An offline upload counts once, however often the device sends it.
    let mut offline = scan_at(officer, Some(&gate), None, 90, Green);
    offline.client_id = Some(uuid::Uuid::now_v7());
    offline.source = ScanSource::Offline;
    assert!(matches!(
        store.scan_record(&offline).await.unwrap(),
        ScanRecorded::Inserted
    ));
    let again = Scan {
        id: ScanId::new(),
        result: Red,
        ..offline.clone()
    };
    assert!(matches!(
        store.scan_record(&again).await.unwrap(),
        ScanRecorded::Duplicate(_)
    ));
    // A deleted checkpoint keeps its scans.
    assert!(
        store
            .checkpoint_delete(barguna.id, Actor::user(admin.id), t(9_000))
            .await
            .unwrap()
    );

    let near = NearPoint::parse("23.7786,90.4006", "6").unwrap();
    let before = assert_agree(&store, &near, "maintained").await;

    // Known totals, counted by hand from the plan above.
    let by = |group: Vec<ScanDim>, area: Option<&str>| {
        let store = store.clone();
        let area = area.map(str::to_string);
        async move {
            store
                .stats_scans(&ScanQuery {
                    area,
                    group,
                    ..ScanQuery::default()
                })
                .await
                .unwrap()
        }
    };
    let results = by(vec![ScanDim::Result], None).await;
    let n = |rows: &[ScanCountRow], c: VerdictColour| rows.iter().find(|r| r.result == Some(c)).map_or(0, |r| r.n);
    assert_eq!(
        (n(&results, Green), n(&results, Amber), n(&results, Red)),
        (7, 2, 4),
        "the repeated upload is not counted"
    );
    let dhaka = by(vec![ScanDim::Result], Some("3026")).await;
    assert_eq!(
        dhaka.iter().map(|r| r.n).sum::<i64>(),
        8,
        "gate 4, bridge 2, positions 2"
    );
    let per_checkpoint = by(vec![ScanDim::Checkpoint], None).await;
    let at = |id: &str| {
        per_checkpoint
            .iter()
            .find(|r| r.checkpoint.as_deref() == Some(id))
            .map_or(0, |r| r.n)
    };
    assert_eq!(at(&gate.id.to_string()), 4);
    assert_eq!(at(&barguna.id.to_string()), 3, "the deleted checkpoint keeps its scans");
    assert_eq!(at(""), 4, "scans away from a checkpoint");
    let nowhere = by(vec![ScanDim::District], None).await;
    assert_eq!(
        nowhere.iter().find(|r| r.district.as_deref() == Some("")).map(|r| r.n),
        Some(2),
        "scans without a place have no district"
    );
    // Near the gate: the gate and the bridge (5 km) are in the box, Barguna is not.
    let within = store
        .stats_scans(&ScanQuery {
            within: Some(near.bounding_box()),
            group: vec![ScanDim::Checkpoint],
            ..ScanQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = within.iter().filter_map(|r| r.checkpoint.as_deref()).collect();
    let mut want = vec![gate.id.to_string(), bridge.id.to_string()];
    want.sort();
    assert_eq!(ids, want);

    // The deleted checkpoint is still named.
    let all = store.checkpoints_with_deleted().await.unwrap();
    assert_eq!(all.len(), 3);
    let (cp, deleted) = all.iter().find(|(c, _)| c.id == barguna.id).unwrap();
    assert_eq!((cp.name.as_str(), *deleted), ("Barguna ghat", Some(t(9_000))));

    let report = store.stats_rebuild().await.unwrap();
    assert_eq!(report.scans, 13);
    let after = assert_agree(&store, &near, "rebuilt").await;
    assert_eq!(before, after, "a rebuild changes no answer");

    // And scans keep counting after a rebuild.
    let late = scan_at(officer, Some(&bridge), None, 7_400, Amber);
    assert!(matches!(
        store.scan_record(&late).await.unwrap(),
        ScanRecorded::Inserted
    ));
    assert_agree(&store, &near, "after rebuild").await;
}
