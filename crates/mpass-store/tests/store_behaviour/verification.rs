//! Stories: police checkpoints and the scan log (SPEC §8, issue 6).

use std::sync::Arc;

use mpass_domain::audit::{Actor, action, verify_chain};
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::ports::*;
use mpass_domain::scan::{Scan, ScanRecorded, ScanSource, TRAVEL_HISTORY, TRAVEL_HORIZON, TravelPoint};

use super::fixtures::*;

pub(crate) fn checkpoint(name: &str, secs: i64) -> Checkpoint {
    Checkpoint {
        id: CheckpointId::new(),
        name: name.into(),
        lat: 23.7286,
        lon: 90.4106,
        area: "30260014".into(),
        created_at: t(secs),
    }
}

/// Checkpoints are listed by name, found by id, deleted once; creating and deleting are
/// audited with the admin as actor and the chain stays intact.
pub(crate) async fn checkpoints_create_list_delete_audited(store: Arc<dyn Store>) {
    let admin = user(&store, 1).await;
    let (b, a) = (checkpoint("Mohakhali gate", 1), checkpoint("Gabtoli bridge", 2));
    store.checkpoint_create(&b, Actor::user(admin.id)).await.unwrap();
    store.checkpoint_create(&a, Actor::user(admin.id)).await.unwrap();
    assert_eq!(store.checkpoints().await.unwrap(), [a.clone(), b.clone()]);
    assert_eq!(store.checkpoint(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.checkpoint(CheckpointId::new()).await.unwrap(), None);

    assert!(
        store
            .checkpoint_delete(b.id, Actor::user(admin.id), t(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .checkpoint_delete(b.id, Actor::user(admin.id), t(11))
            .await
            .unwrap()
    );
    assert!(
        !store
            .checkpoint_delete(CheckpointId::new(), Actor::user(admin.id), t(11))
            .await
            .unwrap()
    );
    assert_eq!(store.checkpoint(b.id).await.unwrap(), None);
    assert_eq!(store.checkpoints().await.unwrap(), std::slice::from_ref(&a));

    let log = store.audit_list(0, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            action::CHECKPOINT_CREATED,
            action::CHECKPOINT_CREATED,
            action::CHECKPOINT_DELETED
        ]
    );
    assert_eq!(log[0].subject, format!("checkpoint:{}", b.id));
    assert_eq!(log[0].data["name"], "Mohakhali gate");
    assert_eq!(log[2].actor, admin.id.to_string());
    assert_eq!(verify_chain(&log), Ok(()));
}

fn scan(officer: UserId, pass: Option<PassId>, client: Option<uuid::Uuid>, secs: i64) -> Scan {
    Scan {
        id: ScanId::new(),
        client_id: client,
        pass_id: pass,
        officer,
        checkpoint_id: Some(CheckpointId::new()),
        area: Some("30260014".into()),
        lat: Some(23.7),
        lon: Some(90.4),
        result: VerdictColour::Amber,
        reasons: vec![ReasonCode::ImpossibleTravel, ReasonCode::CheckpointOffRoute],
        device_result: client.map(|_| VerdictColour::Green),
        scanned_at: t(secs),
        received_at: t(secs + 5),
        source: if client.is_some() {
            ScanSource::Offline
        } else {
            ScanSource::Online
        },
        flagged: client.is_none(),
    }
}

/// Scans round-trip every field; an upload is idempotent per officer and client id (the
/// first scan comes back), another officer may use the same client id; a pass's scans
/// come newest scan time first; the list pages newest first and filters flagged ones.
pub(crate) async fn scans_log_idempotent_uploads_and_lists(store: Arc<dyn Store>) {
    let (officer, other) = (user(&store, 1).await, user(&store, 2).await);
    let pass = PassId::new();
    let online = scan(officer.id, Some(pass), None, 100);
    assert!(matches!(
        store.scan_record(&online).await.unwrap(),
        ScanRecorded::Inserted
    ));

    let client = uuid::Uuid::now_v7();
    let offline = scan(officer.id, Some(pass), Some(client), 50);
    assert!(matches!(
        store.scan_record(&offline).await.unwrap(),
        ScanRecorded::Inserted
    ));
    let again = Scan {
        id: ScanId::new(),
        result: VerdictColour::Red,
        ..offline.clone()
    };
    match store.scan_record(&again).await.unwrap() {
        ScanRecorded::Duplicate(first) => assert_eq!(*first, offline),
        other => panic!("expected the first upload back, got {other:?}"),
    }
    let others = scan(other.id, None, Some(client), 60);
    assert!(matches!(
        store.scan_record(&others).await.unwrap(),
        ScanRecorded::Inserted
    ));

    // What impossible travel compares with: by scan time, not arrival (the offline scan,
    // t=50, is older than the online one); a scan without a position is not among them.
    let unplaced = Scan {
        id: ScanId::new(),
        lat: None,
        lon: None,
        scanned_at: t(120),
        flagged: false,
        ..online.clone()
    };
    assert!(matches!(
        store.scan_record(&unplaced).await.unwrap(),
        ScanRecorded::Inserted
    ));
    let point = |s: &Scan| TravelPoint {
        scan: s.id,
        point: s.point().expect("a scan with a position"),
    };
    assert_eq!(
        store.travel_points(pass, t(100)).await.unwrap(),
        [point(&online), point(&offline)]
    );
    // Only within the horizon of the check, before or after it.
    let horizon = TRAVEL_HORIZON.whole_seconds();
    assert_eq!(
        store.travel_points(pass, t(60 + horizon)).await.unwrap(),
        [point(&online)]
    );
    assert_eq!(
        store.travel_points(pass, t(90 - horizon)).await.unwrap(),
        [point(&offline)]
    );
    assert!(store.travel_points(pass, t(101 + horizon)).await.unwrap().is_empty());
    assert!(store.travel_points(PassId::new(), t(100)).await.unwrap().is_empty());

    let all = store.scans_list(false, None, 10).await.unwrap();
    assert_eq!(all, [unplaced.clone(), others.clone(), offline.clone(), online.clone()]);
    let page = store.scans_list(false, Some(offline.id), 10).await.unwrap();
    assert_eq!(page, std::slice::from_ref(&online));
    assert_eq!(
        store.scans_list(true, None, 10).await.unwrap(),
        std::slice::from_ref(&online)
    );
    assert_eq!(store.scans_list(false, None, 1).await.unwrap(), [unplaced]);
}

/// Impossible travel reads at most `TRAVEL_HISTORY` scans of a pass, the latest first.
pub(crate) async fn travel_points_are_the_latest_few(store: Arc<dyn Store>) {
    let officer = user(&store, 1).await;
    let pass = PassId::new();
    let n = i64::from(TRAVEL_HISTORY) + 3;
    for secs in 0..n {
        store
            .scan_record(&scan(officer.id, Some(pass), None, secs))
            .await
            .unwrap();
    }
    let got = store.travel_points(pass, t(n)).await.unwrap();
    let times: Vec<_> = got.iter().map(|p| p.point.at()).collect();
    let want: Vec<_> = (3..n).rev().map(t).collect();
    assert_eq!(times, want);
    // An online check reads the same points (PostgreSQL reads them in the pass's query),
    // and none without a position.
    let check = store.pass_check(PassKey::Id(pass), Some(t(n))).await.unwrap();
    assert_eq!(check.earlier, got);
    let check = store.pass_check(PassKey::Id(pass), None).await.unwrap();
    assert!(check.earlier.is_empty());
}

/// Many officers' scans at once, each offline upload sent twice at the same moment (a
/// device retrying): every scan is logged once (PostgreSQL logs concurrent scans in
/// batches, so a retry may share a batch with its first upload), the retry gets the first
/// upload back, and the counters count each logged scan once.
pub(crate) async fn concurrent_scans_log_once_and_count_each(store: Arc<dyn Store>) {
    let officer = user(&store, 1).await;
    let mut tasks = Vec::new();
    for i in 0..120i64 {
        let client = (i % 3 != 0).then(uuid::Uuid::now_v7);
        let first = scan(officer.id, Some(PassId::new()), client, i);
        let copies = if client.is_some() { 2 } else { 1 };
        for _ in 0..copies {
            let (store, sent) = (
                store.clone(),
                Scan {
                    id: ScanId::new(),
                    ..first.clone()
                },
            );
            tasks.push(tokio::spawn(async move {
                let recorded = store.scan_record(&sent).await.unwrap();
                (sent, recorded)
            }));
        }
    }
    let mut logged = std::collections::HashMap::new();
    let mut repeats = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (sent, ScanRecorded::Inserted) => {
                let key = sent.client_id.unwrap_or(sent.id.0);
                assert!(logged.insert(key, sent).is_none(), "one upload of each is logged");
            }
            (sent, ScanRecorded::Duplicate(first)) => repeats.push((sent, *first)),
        }
    }
    assert_eq!((logged.len(), repeats.len()), (120, 80));
    for (sent, first) in repeats {
        assert_eq!(
            Some(&first),
            logged.get(&sent.client_id.unwrap()),
            "the retry gets the first upload"
        );
        assert_ne!(first.id, sent.id);
    }
    let listed = store.scans_list(false, None, 500).await.unwrap();
    assert_eq!(listed.len(), 120);
    let q = mpass_domain::stats::scans::ScanQuery {
        from_hour: None,
        to_hour: None,
        area: None,
        within: None,
        group: vec![],
    };
    let counted = store.stats_scans(&q).await.unwrap();
    assert_eq!(counted.iter().map(|r| r.n).sum::<i64>(), 120);
    assert_eq!(counted, store.stats_scans_direct(&q).await.unwrap());
}

/// Many online checks' reads at once (PostgreSQL answers the reads waiting at one moment
/// with one read): each gets what a read of its own pass gets, whatever it shares the
/// moment with — the same pass twice, a pass not stored, reads with and without a
/// position, a pass revoked, a pass whose scans fall outside the window.
pub(crate) async fn concurrent_pass_checks_each_get_their_own_pass(store: Arc<dyn Store>) {
    use mpass_domain::application::Status;
    let (holder, admin, officer) = (user(&store, 1).await, user(&store, 2).await, user(&store, 3).await);
    let mut passes = Vec::new();
    for i in 0..4 {
        let app = submit(&store, holder.id, t(10 + i), t(3600)).await;
        passes.push(approve(&store, &app).await);
    }
    store
        .revoke_pass(passes[3].id, "forged documents", Actor::user(admin.id), vec![], t(30))
        .await
        .unwrap();
    // Pass 0 scanned often, pass 1 once, pass 2 never; the scan of a pass not stored counts too.
    let unknown = PassId::new();
    let scanned = [
        (0, 100),
        (0, 200),
        (0, 300),
        (0, 400),
        (0, 500),
        (0, 600),
        (0, 700),
        (1, 150),
    ];
    for (p, secs) in scanned {
        store
            .scan_record(&scan(officer.id, Some(passes[p].id), None, secs))
            .await
            .unwrap();
    }
    store
        .scan_record(&scan(officer.id, Some(unknown), None, 250))
        .await
        .unwrap();
    let mut reads = Vec::new();
    for round in 0..30i64 {
        for (i, p) in passes.iter().enumerate() {
            let at = (i as i64 + round) % 3;
            // With a position at several times (one after every scan, one long after them
            // all), or without one.
            let travel_at = match at {
                0 => None,
                1 => Some(t(650)),
                _ => Some(t(800) + TRAVEL_HORIZON * 2),
            };
            reads.push((p.id, travel_at));
        }
        reads.push((unknown, Some(t(300))));
        reads.push((PassId::new(), None));
    }
    let tasks: Vec<_> = reads
        .iter()
        .map(|&(id, at)| {
            let store = store.clone();
            tokio::spawn(async move { store.pass_check(PassKey::Id(id), at).await.unwrap() })
        })
        .collect();
    let mut seen = 0;
    for (task, (id, at)) in tasks.into_iter().zip(reads) {
        let got = task.await.unwrap();
        let stored = passes.iter().find(|p| p.id == id);
        assert_eq!(got.pass.as_ref(), stored, "the pass read is the one named");
        let status = stored.map(|p| {
            if p.id == passes[3].id {
                Status::Revoked
            } else {
                Status::Approved
            }
        });
        assert_eq!(got.status, status);
        let want = match at {
            Some(at) => store.travel_points(id, at).await.unwrap(),
            None => Vec::new(),
        };
        assert_eq!(got.earlier, want, "the travel points of {id} at {at:?}");
        seen += got.earlier.len();
    }
    // Thirty rounds: pass 0's seven scans and pass 1's one (all within the window around
    // t(650)) in a third of them each, and the scan of the pass not stored in every one.
    assert_eq!(seen, 10 * 7 + 10 + 30);
}

/// An online check's step: `decide` gets what the store knows of the pass (nothing without
/// a key: no read) and the scan it makes is logged; `None` logs nothing; a panic in
/// `decide` fails the step and the store keeps working.
pub(crate) async fn check_and_log_decides_on_what_the_store_knows(store: Arc<dyn Store>) {
    let officer = user(&store, 1).await;
    let pass = PassId::new();
    let earlier = scan(officer.id, Some(pass), None, 10);
    store.scan_record(&earlier).await.unwrap();

    // With a key and a scan time: the earlier scan is among what `decide` sees.
    let logged = scan(officer.id, Some(pass), None, 20);
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let to_log = logged.clone();
    let recorded = store
        .check_and_log(
            Some(PassKey::Id(pass)),
            Some(t(20)),
            Box::new(move |known: PassCheck| {
                seen_tx.send((known.pass.is_some(), known.earlier)).unwrap();
                Some(to_log)
            }),
        )
        .await
        .unwrap();
    assert!(matches!(recorded, Some(ScanRecorded::Inserted)));
    let (has_pass, seen) = seen_rx.recv().unwrap();
    assert!(!has_pass, "no such pass is stored");
    assert_eq!(seen.iter().map(|p| p.scan).collect::<Vec<_>>(), [earlier.id]);

    // `None`: nothing logged. Without a key nothing is read.
    let recorded = store
        .check_and_log(
            None,
            None,
            Box::new(|known: PassCheck| {
                assert!(known.pass.is_none() && known.earlier.is_empty());
                None
            }),
        )
        .await
        .unwrap();
    assert!(recorded.is_none());

    // A panic in `decide` is an error of this step only.
    let failed = store
        .check_and_log(None, None, Box::new(|_| panic!("a decision that panics")))
        .await;
    assert!(failed.is_err());

    let after = scan(officer.id, None, None, 30);
    assert!(matches!(
        store.scan_record(&after).await.unwrap(),
        ScanRecorded::Inserted
    ));
    let ids: Vec<_> = store
        .scans_list(false, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [after.id, logged.id, earlier.id]);
}

/// What a check reads of a pass is its application's status now, found by id or by short
/// code: approved, then cancelled by the holder; another approved, then revoked.
pub(crate) async fn check_and_log_reads_the_status_now(store: Arc<dyn Store>) {
    use mpass_domain::application::Status;
    let (holder, admin) = (user(&store, 1).await, user(&store, 2).await);
    let status = |key: PassKey| {
        let store = store.clone();
        async move {
            let (tx, rx) = std::sync::mpsc::channel();
            let logged = store
                .check_and_log(
                    Some(key),
                    None,
                    Box::new(move |known: PassCheck| {
                        tx.send((known.pass.map(|p| p.id), known.status)).unwrap();
                        None
                    }),
                )
                .await
                .unwrap();
            assert!(logged.is_none());
            rx.recv().unwrap()
        }
    };

    let a = submit(&store, holder.id, t(10), t(3600)).await;
    let pass = approve(&store, &a).await;
    let by_code = PassKey::ShortCode(pass.short_code.clone());
    assert_eq!(
        status(PassKey::Id(pass.id)).await,
        (Some(pass.id), Some(Status::Approved))
    );
    assert_eq!(status(by_code.clone()).await, (Some(pass.id), Some(Status::Approved)));
    store.cancel_application(a.id, holder.id, t(20)).await.unwrap().unwrap();
    assert_eq!(
        status(PassKey::Id(pass.id)).await,
        (Some(pass.id), Some(Status::Cancelled))
    );
    assert_eq!(status(by_code).await, (Some(pass.id), Some(Status::Cancelled)));

    let b = submit(&store, holder.id, t(11), t(3600)).await;
    let other = approve(&store, &b).await;
    assert_eq!(
        status(PassKey::Id(other.id)).await,
        (Some(other.id), Some(Status::Approved))
    );
    store
        .revoke_pass(other.id, "forged documents", Actor::user(admin.id), vec![], t(30))
        .await
        .unwrap();
    assert_eq!(
        status(PassKey::Id(other.id)).await,
        (Some(other.id), Some(Status::Revoked))
    );

    assert_eq!(status(PassKey::Id(PassId::new())).await, (None, None));
}
