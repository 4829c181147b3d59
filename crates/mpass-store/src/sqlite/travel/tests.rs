//! Tests of impossible travel's index: the writer's slices, recovery and the recent passes.

use mpass_domain::ids::UserId;
use mpass_domain::pass::VerdictColour;
use mpass_domain::ports::VerificationStore;
use mpass_domain::scan::ScanSource;

use super::*;
use crate::sqlite::verification::scan_record;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    crate::sqlite::schema::migrate(&c).unwrap();
    c
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn scan(pass: PassId, secs: i64, placed: bool) -> Scan {
    Scan {
        id: ScanId::new(),
        client_id: None,
        officer: UserId::new(),
        pass_id: Some(pass),
        checkpoint_id: None,
        area: None,
        lat: placed.then_some(23.0 + secs as f64 / 1e6),
        lon: placed.then_some(90.0),
        result: VerdictColour::Green,
        reasons: Vec::new(),
        device_result: None,
        scanned_at: t0() + time::Duration::seconds(secs),
        received_at: t0() + time::Duration::seconds(secs),
        source: ScanSource::Online,
        flagged: false,
    }
}

/// One writer batch as `commit_batch` runs it: each scan an operation, `fail` the
/// indexes of operations that fail; answers whether it committed.
fn batch(c: &Connection, scans: &[Scan], fail: &[usize], commit: bool) {
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    begin();
    for (i, s) in scans.iter().enumerate() {
        c.execute_batch("SAVEPOINT op").unwrap();
        scan_record(c, s).unwrap();
        let ok = !fail.contains(&i);
        if !ok {
            c.execute_batch("ROLLBACK TO op").unwrap();
        }
        c.execute_batch("RELEASE op").unwrap();
        end_op(ok);
    }
    before_commit(c).unwrap();
    c.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" }).unwrap();
    after_commit(commit);
}

/// What impossible travel must read: the newest `TRAVEL_HISTORY` of `logged` of `pass`
/// within the horizon of `at`.
fn expected<'a>(logged: impl IntoIterator<Item = &'a Scan>, pass: PassId, at: OffsetDateTime) -> Vec<TravelPoint> {
    let mut out: Vec<TravelPoint> = logged
        .into_iter()
        .filter(|s| s.pass_id == Some(pass) && (s.scanned_at - at).abs() <= TRAVEL_HORIZON)
        .filter_map(|s| {
            Some(TravelPoint {
                scan: s.id,
                point: s.point()?,
            })
        })
        .collect();
    out.sort_by(|a, b| b.point.at_ms.cmp(&a.point.at_ms).then(b.scan.0.cmp(&a.scan.0)));
    out.truncate(TRAVEL_HISTORY as usize);
    out
}

fn table_len(c: &Connection) -> usize {
    c.query_row("SELECT count(*) FROM scan_travel", [], |r| r.get(0))
        .unwrap()
}

/// Every scan with a position at or below the mark is in the table.
fn mark_holds(c: &Connection) {
    let missing: i64 = c
        .query_row(
            "SELECT count(*) FROM scans s WHERE s.rowid <= (SELECT last_rowid FROM scan_travel_mark)
               AND s.lat IS NOT NULL AND NOT EXISTS (SELECT 1 FROM scan_travel t WHERE t.scanned_at = s.scanned_at
               AND t.id = unhex(replace(s.id, '-', '')))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missing, 0, "scans at or below the mark missing from scan_travel");
}

/// Through batches that leave points in memory and batches that move them in slices, a
/// read sees what a read of every logged scan would, and the recovery mark stays true.
#[test]
fn reads_see_every_committed_point_while_slices_move() {
    let c = db();
    init_writer();
    let passes: Vec<PassId> = (0..5).map(|_| PassId::new()).collect();
    let mut logged = Vec::new();
    let mut moved_while_pending = false;
    for b in 0..90 {
        let scans: Vec<Scan> = (0..500)
            .map(|i| {
                let n = b * 500 + i;
                scan(passes[n as usize % passes.len()], n, n % 7 != 0)
            })
            .collect();
        let before = table_len(&c);
        batch(&c, &scans, &[], true);
        logged.extend(scans);
        let pending = WRITER.with(|w| w.borrow().as_ref().unwrap().pending.len());
        moved_while_pending |= table_len(&c) > before && pending > 0;
        if b % 10 == 9 {
            mark_holds(&c);
            for (p, pass) in passes.iter().enumerate() {
                let at = t0() + time::Duration::seconds(b * 500 - p as i64 * 3000);
                assert_eq!(
                    points(&c, *pass, at).unwrap(),
                    expected(&logged, *pass, at),
                    "batch {b}"
                );
            }
        }
    }
    assert!(moved_while_pending, "no slice was moved while points waited");
    let placed = logged.iter().filter(|s| s.lat.is_some()).count();
    let pending = WRITER.with(|w| w.borrow().as_ref().unwrap().pending.len());
    assert_eq!(table_len(&c) + pending, placed);
    assert!(pending < FLUSH_AT, "{pending} points left waiting");
}

/// Checks of a few passes again and again, as a check runs them (the read inside the
/// batch, before the scan is logged): some at once, some uploaded hours late, some
/// without a position, some failing, some batches failing to commit. Every read equals
/// a read of every scan logged before it, whether it came from what the writer keeps of
/// the pass, the table or memory.
#[test]
fn reads_of_passes_checked_again_and_again_see_every_earlier_point() {
    let c = db();
    init_writer();
    let passes: Vec<PassId> = (0..3).map(|_| PassId::new()).collect();
    // Enough to move a slice into the table.
    let mut committed: Vec<Scan> = (0..FLUSH_AT as i64 + 10)
        .map(|n| scan(passes[n as usize % 3], n - FLUSH_AT as i64, true))
        .collect();
    batch(&c, &committed, &[], true);
    assert!(table_len(&c) > 0);
    let mut rng = 7u64;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        rng >> 33
    };
    for b in 0..150i64 {
        let commit = b % 37 != 36;
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        begin();
        let mut this_batch: Vec<Scan> = Vec::new();
        for i in 0..30i64 {
            let pass = passes[(next() % 3) as usize];
            let late = if next() % 10 == 0 { (next() % 40_000) as i64 } else { 0 };
            let s = scan(pass, b * 60 + i - late, next() % 8 != 0);
            assert_eq!(
                points(&c, pass, s.scanned_at).unwrap(),
                expected(committed.iter().chain(&this_batch), pass, s.scanned_at),
                "batch {b}, operation {i}"
            );
            c.execute_batch("SAVEPOINT op").unwrap();
            scan_record(&c, &s).unwrap();
            let ok = next() % 20 != 0;
            if !ok {
                c.execute_batch("ROLLBACK TO op").unwrap();
            }
            c.execute_batch("RELEASE op").unwrap();
            end_op(ok);
            if ok {
                this_batch.push(s);
            }
        }
        before_commit(&c).unwrap();
        c.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" }).unwrap();
        after_commit(commit);
        if commit {
            committed.extend(this_batch);
        }
    }
    let kept = WRITER.with(|w| w.borrow().as_ref().unwrap().recent.len());
    assert_eq!(kept, passes.len(), "the writer keeps the points of the passes it read");
}

/// What the writer keeps of a pass answers only when it covers the window.
#[test]
fn kept_points_answer_only_for_windows_they_cover() {
    let p = |at: i64| (at, at as u128, 0.0, 0.0);
    let history = TRAVEL_HISTORY as i64;
    // The newest TRAVEL_HISTORY of more, from 1,000 on: 1,000 + history .. 1,000 + 2 * history.
    let mut r = Recent::new(1_000, (1_000..1_000 + 2 * history).map(p).collect(), false);
    assert!(!r.complete);
    assert_eq!(r.points.first().unwrap().0, 1_000 + 2 * history - 1);
    // A window reaching below the floor, or one whose newest points left out older ones
    // that belong in it, is not answered.
    assert!(r.read(999, i64::MAX, std::iter::empty()).is_none());
    assert!(r.read(1_000, 1_000 + 2 * history - 2, std::iter::empty()).is_none());
    // A window the kept points fill is.
    let all = r.read(1_000, i64::MAX, std::iter::empty()).unwrap();
    assert_eq!(all.len(), history as usize);
    // One that starts above the oldest kept: nothing older can be in it.
    let some = r.read(1_000 + history + 5, i64::MAX, std::iter::empty()).unwrap();
    assert_eq!(some.len(), history as usize - 5);
    // A new point joins in order, and the oldest leaves.
    r.add(p(1_000 + 2 * history - 1 - 3));
    assert_eq!(r.points.len(), history as usize);
    assert!(r.points.windows(2).all(|w| newest_first(&w[0], &w[1]).is_le()));
    // Points below the floor are not kept; a complete set stays complete.
    let mut few = Recent::new(5_000, vec![p(5_001), p(5_003)], false);
    few.add(p(4_000));
    few.add(p(5_002));
    assert!(few.complete);
    assert_eq!(
        few.points.iter().map(|q| q.0).collect::<Vec<_>>(),
        vec![5_003, 5_002, 5_001]
    );
    assert_eq!(few.read(5_000, 5_002, [p(5_000)].into_iter()).unwrap().len(), 3);
}

/// A failed operation's point is never read; a batch whose commit fails takes its
/// points away and gives back the slice it had moved.
#[test]
fn failed_operations_and_commits_leave_what_was_committed() {
    let c = db();
    init_writer();
    let pass = PassId::new();
    let mut logged = Vec::new();
    let first: Vec<Scan> = (0..FLUSH_AT as i64 + 10).map(|n| scan(pass, n, true)).collect();
    batch(&c, &first, &[], true);
    logged.extend(first);
    let failing: Vec<Scan> = (0..3).map(|n| scan(pass, 100_000 + n, true)).collect();
    batch(&c, &failing, &[1], true);
    logged.push(failing[0].clone());
    logged.push(failing[2].clone());
    let at = t0() + time::Duration::seconds(100_000);
    assert_eq!(points(&c, pass, at).unwrap(), expected(&logged, pass, at));

    let in_table = table_len(&c);
    let lost: Vec<Scan> = (0..FLUSH_AT as i64).map(|n| scan(pass, 200_000 + n, true)).collect();
    batch(&c, &lost, &[], false);
    assert_eq!(table_len(&c), in_table);
    let at = t0() + time::Duration::seconds(200_000);
    assert_eq!(points(&c, pass, at).unwrap(), expected(&logged, pass, at));
    let at = t0() + time::Duration::seconds(100_000);
    assert_eq!(points(&c, pass, at).unwrap(), expected(&logged, pass, at));
    let pending = WRITER.with(|w| w.borrow().as_ref().unwrap().pending.len());
    assert_eq!(in_table + pending, logged.len());
    mark_holds(&c);
}

/// Each check with a position runs the read: it must keep its plan (a bound `LIMIT` would
/// prepare it again per value) and find the pass's points by the table's key.
#[test]
fn the_read_is_prepared_once_and_searches_by_key() {
    let c = db();
    for _ in 0..3 {
        points(&c, PassId::new(), t0()).unwrap();
    }
    let st = c.prepare_cached(TRAVEL_POINTS).unwrap();
    assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
    let plan: String = c
        .query_row(
            &format!("EXPLAIN QUERY PLAN {TRAVEL_POINTS}"),
            params![&[0u8; 16][..], 0, 1, 20],
            |r| r.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("USING PRIMARY KEY (pass_id=? AND scanned_at>? AND scanned_at<?)"),
        "{plan}"
    );
}

/// `mpass demo`'s bulk load writes its points at once and moves the mark past them:
/// opening its database reads none of them again.
#[test]
fn a_bulk_load_moves_the_mark_past_its_points() {
    let c = db();
    let pass = PassId::new();
    let scans: Vec<Scan> = (0..50).map(|n| scan(pass, n, n % 2 == 0)).collect();
    crate::sqlite::verification::bulk_insert_scans(&c, &scans).unwrap();
    assert_eq!(table_len(&c), 25);
    mark_holds(&c);
    assert_eq!(recover(&c).unwrap(), 0);
}

/// A database of the build before `scan_travel` (its scans indexed by `scans_travel`)
/// opens with every earlier scan with a position in the new table.
#[test]
fn an_older_database_gets_its_points_on_upgrade() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .unwrap();
    for (version, sql) in crate::sqlite::schema::MIGRATIONS.iter().filter(|(v, _)| *v <= 11) {
        c.execute_batch(sql).unwrap();
        c.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
            [version],
        )
        .unwrap();
    }
    let pass = PassId::new();
    let scans: Vec<Scan> = (0..30).map(|n| scan(pass, n * 60, n % 3 != 0)).collect();
    for s in &scans {
        c.execute(
            "INSERT INTO scans (id, officer, pass_id, lat, lon, result, reasons, scanned_at, received_at, source, flagged)
             VALUES (?1, ?2, ?3, ?4, ?5, 'green', '[]', ?6, ?6, 'online', 0)",
            params![s.id.to_string(), s.officer.to_string(), pass.to_string(), s.lat, s.lon, ms(s.scanned_at)],
        )
        .unwrap();
    }
    crate::sqlite::schema::migrate(&c).unwrap();
    assert_eq!(recover(&c).unwrap(), 20);
    assert_eq!(table_len(&c), 20);
    mark_holds(&c);
    let at = t0() + time::Duration::seconds(900);
    assert_eq!(points(&c, pass, at).unwrap(), expected(&scans, pass, at));
}

/// Points that were only in memory when the writer stopped are in the table once the
/// database is opened again.
#[test]
fn opening_recovers_the_points_held_in_memory() {
    let dir = std::env::temp_dir().join(format!("mpass-travel-{}", Uuid::now_v7().simple()));
    let path = dir.join("mpass.db");
    let pass = PassId::new();
    let scans: Vec<Scan> = (0..3).map(|n| scan(pass, n * 60, true)).collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let store = crate::SqliteStore::open(&path).unwrap();
        for s in &scans {
            store.scan_record(s).await.unwrap();
        }
    });
    let c = Connection::open(&path).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let before = table_len(&c);
    assert!(before < scans.len(), "the points were moved before the writer stopped");
    let recovered = recover(&c).unwrap();
    assert_eq!(recovered, scans.len() - before);
    assert_eq!(table_len(&c), scans.len());
    assert_eq!(recover(&c).unwrap(), 0, "the mark moved past them");
    let at = t0() + time::Duration::seconds(60);
    assert_eq!(points(&c, pass, at).unwrap(), expected(&scans, pass, at));
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}
