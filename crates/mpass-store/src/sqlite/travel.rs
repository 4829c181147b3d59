//! Impossible travel's index of scans by pass (`scan_travel`), written in pass order.
//!
//! Every check with a position reads the pass's latest scans with a position and adds one.
//! Kept as an index of `scans` written with each scan, that addition dirtied its pass's leaf
//! on every check (one 4 KiB WAL frame and a checkpoint copy each): the check with a
//! position ran at 0.44–0.82 of the plain check's rate, and slower as scans accumulated
//! (docs/BENCHMARKS-HISTORY.md, tenth round).
//!
//! Here the writer keeps the points of committed scans that are not yet in `scan_travel`
//! in memory (`pending`, ordered by pass) and moves them into the table a slice at a time,
//! in pass order, sweeping the key space: points of nearby passes land on the same leaf in
//! one commit. A read merges the table with the pending points and with those of the
//! running batch, so a check sees every scan committed before it, as before.
//!
//! A pass checked again and again (a bus pass at every checkpoint, or a copied pass in
//! two places at once) would read its newest points from the table at every check, about
//! 10 µs of the writer's time. The writer keeps the newest points of the passes it read
//! lately (`recent`, [`RECENT_PASSES`] of them), loaded from the table and memory at the
//! first read and brought up to date by every commit, and answers from them when they
//! cover the read's window.
//!
//! Nothing is lost in a crash: the scan itself is in `scans`, committed with its batch.
//! `scan_travel_mark` holds a rowid of `scans` below which every scan with a position is
//! in `scan_travel`; opening the database adds the scans after it ([`recover`]).
//!
//! Outside the writer (migrations, `mpass demo`'s bulk load, tests on a bare connection)
//! a point is written at once.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use mpass_domain::ids::{PassId, ScanId};
use mpass_domain::scan::{Scan, ScanPoint, TRAVEL_HISTORY, TRAVEL_HORIZON, TravelPoint};
use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ms;

mod recent;

use recent::{Recent, newest_first};

/// Pending points at which the writer starts moving them into the table.
const FLUSH_AT: usize = 16_384;
/// Fewest points moved in one batch, once moving.
const MIN_SLICE: usize = 2048;
/// Pending points older than this are moved even below [`FLUSH_AT`] (a quiet server's
/// points reach the table within seconds).
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Passes whose newest points the writer keeps at hand (about 1 KiB each).
const RECENT_PASSES: usize = 4096;

/// A point's place in `scan_travel`'s key order: pass, scan time (ms), scan id. The ids
/// are their 16 bytes read as big-endian integers, which order as the bytes do (as the
/// table's blobs): compared as integers, not by `memcmp` (twenty-ninth round).
type Key = (u128, i64, u128);

/// A point of one pass: scan time (ms), scan id, latitude, longitude.
type Near = (i64, u128, f64, f64);

#[derive(Debug, Clone, Copy)]
struct Point {
    /// The scan's rowid in `scans` (for the recovery mark).
    rowid: i64,
    lat: f64,
    lon: f64,
}

struct Writer {
    /// Committed points not yet in `scan_travel`.
    pending: BTreeMap<Key, Point>,
    /// Rowids of the pending points (the mark is the smallest, less one).
    rowids: BTreeSet<i64>,
    /// Where the next slice starts (after this key); `None` from the start.
    cursor: Option<Key>,
    /// Points of the open batch's operations, in order; the running operation's from `op_start`.
    batch: Vec<(Key, Point)>,
    op_start: usize,
    /// Moved into `pending` by the open batch's commit, and taken out of it by its slice:
    /// undone if the commit fails.
    added: Vec<(Key, Point)>,
    sliced: Vec<(Key, Point)>,
    /// When a slice last moved, or `pending` was last found empty.
    last_move: Instant,
    /// The newest points of passes read lately.
    recent: HashMap<u128, Recent>,
}

thread_local! {
    /// The writer thread's pending points; `None` on every other thread.
    static WRITER: RefCell<Option<Writer>> = const { RefCell::new(None) };
}

/// Makes this thread the writer: points of scans it logs wait in memory from now on.
pub(super) fn init_writer() {
    let writer = Writer {
        pending: BTreeMap::new(),
        rowids: BTreeSet::new(),
        cursor: None,
        batch: Vec::new(),
        op_start: 0,
        added: Vec::new(),
        sliced: Vec::new(),
        last_move: Instant::now(),
        recent: HashMap::new(),
    };
    WRITER.with(|w| *w.borrow_mut() = Some(writer));
}

fn key(pass: PassId, at: OffsetDateTime, scan: ScanId) -> Key {
    (pass.0.as_u128(), ms(at), scan.0.as_u128())
}

fn entry(s: &Scan, rowid: i64) -> Option<(Key, Point)> {
    let (Some(pass), Some(lat), Some(lon)) = (s.pass_id, s.lat, s.lon) else {
        return None;
    };
    Some((key(pass, s.scanned_at, s.id), Point { rowid, lat, lon }))
}

/// Writes the point of a scan just inserted as `rowid` (if it has a pass and a position)
/// into the table at once, wherever it runs (`mpass demo`'s bulk load).
pub(super) fn logged_now(c: &Connection, s: &Scan, rowid: i64) -> rusqlite::Result<()> {
    match entry(s, rowid) {
        Some((k, p)) => {
            // Past the writer's memory: what it keeps of the pass is read again.
            with_writer(|w| {
                w.recent.remove(&k.0);
            });
            insert(c, &k, &p)
        }
        None => Ok(()),
    }
}

/// Records the point of a scan just inserted as `rowid` (if it has a pass and a position):
/// on the writer, with the running operation; elsewhere, into the table at once.
pub(super) fn logged(c: &Connection, s: &Scan, rowid: i64) -> rusqlite::Result<()> {
    let on_writer = WRITER.with(|w| {
        w.borrow_mut()
            .as_mut()
            .map(|w| w.batch.extend(entry(s, rowid)))
            .is_some()
    });
    if on_writer { Ok(()) } else { logged_now(c, s, rowid) }
}

fn insert(c: &Connection, k: &Key, p: &Point) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT OR IGNORE INTO scan_travel (pass_id, scanned_at, id, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        &k.0.to_be_bytes()[..],
        k.1,
        &k.2.to_be_bytes()[..],
        p.lat,
        p.lon
    ])?;
    Ok(())
}

/// Opens the writer's batch.
pub(super) fn begin() {
    with_writer(Writer::clear_batch);
}

/// Ends the running operation: a failed one's points are dropped.
pub(super) fn end_op(ok: bool) {
    with_writer(|w| {
        if !ok {
            w.batch.truncate(w.op_start);
        }
        w.op_start = w.batch.len();
    });
}

/// Just before the batch commits: its points join the pending ones, and a slice of those is
/// moved into the table (in the same transaction), with the recovery mark.
pub(super) fn before_commit(c: &Connection) -> rusqlite::Result<()> {
    let Some((slice, mark)) = WRITER.with(|w| w.borrow_mut().as_mut().map(|w| w.take_slice(Instant::now()))) else {
        return Ok(());
    };
    for (k, p) in &slice {
        insert(c, k, p)?;
    }
    match mark {
        Some(Mark::Below(rowid)) => set_mark(c, rowid - 1),
        Some(Mark::End) => mark_end(c),
        None => Ok(()),
    }
}

/// Where the recovery mark moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Just below this rowid, the lowest of a point still in memory.
    Below(i64),
    /// The last scan: no point waits in memory.
    End,
}

fn set_mark(c: &Connection, rowid: i64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE scan_travel_mark SET last_rowid = ?1 WHERE id = 1")?
        .execute([rowid])?;
    Ok(())
}

fn mark_end(c: &Connection) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE scan_travel_mark SET last_rowid = (SELECT coalesce(max(rowid), 0) FROM scans) WHERE id = 1",
    )?
    .execute([])?;
    Ok(())
}

/// After a bulk load wrote its points at once ([`logged_now`]): the mark moves to the last
/// scan if no point waits in memory, so that opening the database does not read them again.
pub(super) fn bulk_done(c: &Connection) -> rusqlite::Result<()> {
    let waiting = WRITER.with(|w| {
        w.borrow()
            .as_ref()
            .is_some_and(|w| !w.pending.is_empty() || !w.batch.is_empty())
    });
    if waiting { Ok(()) } else { mark_end(c) }
}

/// After the commit (or its failure): a failed batch's points leave `pending` and its slice
/// goes back.
pub(super) fn after_commit(committed: bool) {
    with_writer(|w| {
        if !committed {
            // What was kept of a pass may hold points written past memory in this batch.
            w.recent.clear();
            // The slice back first: it may hold points of this batch, taken out just below.
            for (k, p) in std::mem::take(&mut w.sliced) {
                w.rowids.insert(p.rowid);
                w.pending.insert(k, p);
            }
            for (k, _) in std::mem::take(&mut w.added) {
                if let Some(p) = w.pending.remove(&k) {
                    w.rowids.remove(&p.rowid);
                }
            }
        } else {
            for (k, p) in &w.added {
                if let Some(r) = w.recent.get_mut(&k.0) {
                    r.add((k.1, k.2, p.lat, p.lon));
                }
            }
        }
        w.clear_batch();
    });
}

fn with_writer(f: impl FnOnce(&mut Writer)) {
    WRITER.with(|w| {
        if let Some(w) = w.borrow_mut().as_mut() {
            f(w);
        }
    });
}

impl Writer {
    /// Forgets the open batch's bookkeeping (before it starts and once it has ended).
    fn clear_batch(&mut self) {
        self.batch.clear();
        self.op_start = 0;
        self.added.clear();
        self.sliced.clear();
    }

    /// Moves the batch's points into `pending` and takes the next slice out of it, with the
    /// new mark when the slice moved it.
    fn take_slice(&mut self, now: Instant) -> (Vec<(Key, Point)>, Option<Mark>) {
        let arrived = self.batch.len();
        for (k, p) in std::mem::take(&mut self.batch) {
            self.rowids.insert(p.rowid);
            self.pending.insert(k, p);
            self.added.push((k, p));
        }
        self.op_start = 0;
        let stale = now.duration_since(self.last_move) >= MAX_WAIT;
        if self.pending.is_empty() || (self.pending.len() < FLUSH_AT && !stale) {
            if self.pending.is_empty() {
                self.last_move = now;
            }
            return (Vec::new(), None);
        }
        self.last_move = now;
        let want = MIN_SLICE.max(arrived * 4).max(self.pending.len() / 8);
        let mut keys = Vec::with_capacity(want.min(self.pending.len()));
        let after = self
            .cursor
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        keys.extend(
            self.pending
                .range((after, std::ops::Bound::Unbounded))
                .map(|(k, _)| *k)
                .take(want),
        );
        if keys.len() < want {
            let more = want - keys.len();
            let first = keys.first().copied();
            keys.extend(
                self.pending
                    .keys()
                    .take_while(|k| Some(**k) != first)
                    .copied()
                    .take(more),
            );
        }
        self.cursor = keys.last().copied();
        let mut slice = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(p) = self.pending.remove(&k) {
                self.rowids.remove(&p.rowid);
                slice.push((k, p));
            }
        }
        // Sorted by key, so that neighbouring points go into the same leaf one after another.
        slice.sort_unstable_by_key(|e| e.0);
        self.sliced.extend(slice.iter().copied());
        // Every point with a rowid up to the mark is in the table: below the lowest still
        // pending, or every one when none is.
        let mark = match self.rowids.first() {
            Some(lowest) => Mark::Below(*lowest),
            None => Mark::End,
        };
        (slice, Some(mark))
    }

    /// Points of `pass` in the running batch.
    fn batch_points(&self, pass: u128) -> impl Iterator<Item = Near> + '_ {
        self.batch
            .iter()
            .filter(move |(k, _)| k.0 == pass)
            .map(|(k, p)| (k.1, k.2, p.lat, p.lon))
    }

    /// Points of `pass` at or after `from` (and up to `to`) waiting in `pending`.
    fn pending_points(&self, pass: u128, from: i64, to: i64) -> impl Iterator<Item = Near> + '_ {
        self.pending
            .range((pass, from, 0)..=(pass, to, u128::MAX))
            .map(|(k, p)| (k.1, k.2, p.lat, p.lon))
    }

    /// Keeps `r` as what is known of `pass`, making room when full.
    fn keep(&mut self, pass: u128, r: Recent) {
        if self.recent.len() >= RECENT_PASSES && !self.recent.contains_key(&pass) {
            self.recent.clear();
        }
        self.recent.insert(pass, r);
    }
}

fn point(k: &Key, lat: f64, lon: f64) -> TravelPoint {
    TravelPoint {
        scan: ScanId(Uuid::from_u128(k.2)),
        point: ScanPoint { lat, lon, at_ms: k.1 },
    }
}

const TRAVEL_POINTS: &str = "SELECT scanned_at, id, lat, lon FROM scan_travel
     WHERE pass_id = ?1 AND scanned_at BETWEEN ?2 AND ?3
     ORDER BY scanned_at DESC LIMIT CAST(?4 AS INTEGER)";

/// Impossible travel's scans of a pass around `at`: the latest [`TRAVEL_HISTORY`] with a
/// position within [`TRAVEL_HORIZON`] of it, newest first (`VerificationStore::travel_points`). On the
/// writer, from what it keeps of the pass, or the table with the points still in memory.
pub(super) fn points(c: &Connection, pass: PassId, at: OffsetDateTime) -> rusqlite::Result<Vec<TravelPoint>> {
    let (from, to) = (ms(at - TRAVEL_HORIZON), ms(at + TRAVEL_HORIZON));
    let pass = pass.0.as_u128();
    let found = WRITER.with(|w| -> rusqlite::Result<Option<Vec<Near>>> {
        let mut w = w.borrow_mut();
        let Some(w) = w.as_mut() else {
            return Ok(None);
        };
        if let Some(out) = w.recent.get(&pass).and_then(|r| r.read(from, to, w.batch_points(pass))) {
            return Ok(Some(out));
        }
        // The newest committed points from `from` on, however new (the table, then memory).
        let mut near = table_points(c, pass, from, i64::MAX)?;
        let more = near.len() >= TRAVEL_HISTORY as usize;
        near.extend(w.pending_points(pass, from, i64::MAX));
        let r = Recent::new(from, near, more);
        let out = r.read(from, to, w.batch_points(pass));
        w.keep(pass, r);
        Ok(out)
    })?;
    let near = match found {
        Some(near) => near,
        // Not on the writer, or newer points than the window's crowd those kept.
        None => {
            let mut near = table_points(c, pass, from, to)?;
            WRITER.with(|w| {
                if let Some(w) = w.borrow().as_ref() {
                    near.extend(w.pending_points(pass, from, to));
                    near.extend(w.batch_points(pass).filter(|p| (from..=to).contains(&p.0)));
                }
            });
            near.sort_unstable_by(newest_first);
            near.truncate(TRAVEL_HISTORY as usize);
            near
        }
    };
    Ok(near.iter().map(|p| point(&(pass, p.0, p.1), p.2, p.3)).collect())
}

/// The newest [`TRAVEL_HISTORY`] points of `pass` in `[from, to]` in the table.
fn table_points(c: &Connection, pass: u128, from: i64, to: i64) -> rusqlite::Result<Vec<Near>> {
    let mut st = c.prepare_cached(TRAVEL_POINTS)?;
    let mut rows = st.query(params![&pass.to_be_bytes()[..], from, to, TRAVEL_HISTORY])?;
    let mut out = Vec::with_capacity(TRAVEL_HISTORY as usize);
    while let Some(r) = rows.next()? {
        let id: [u8; 16] = r
            .get_ref(1)?
            .as_blob()?
            .try_into()
            .map_err(|_| super::verification::bad("scan id"))?;
        out.push((r.get(0)?, u128::from_be_bytes(id), r.get(2)?, r.get(3)?));
    }
    Ok(out)
}

/// Adds to `scan_travel` the scans with a position logged after its mark (those whose
/// points were still in memory when the process stopped), and moves the mark to the end.
pub(super) fn recover(c: &Connection) -> rusqlite::Result<usize> {
    let tx = rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
    let mark: i64 = tx.query_row("SELECT last_rowid FROM scan_travel_mark WHERE id = 1", [], |r| r.get(0))?;
    let mut added = 0;
    {
        let mut st = tx.prepare(
            "SELECT rowid, pass_id, scanned_at, id, lat, lon FROM scans
             WHERE rowid > ?1 AND pass_id IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY rowid",
        )?;
        let mut rows = st.query([mark])?;
        while let Some(r) = rows.next()? {
            let pass = Uuid::try_parse(r.get_ref(1)?.as_str()?).map_err(|_| super::verification::bad("pass id"))?;
            let id = Uuid::try_parse(r.get_ref(3)?.as_str()?).map_err(|_| super::verification::bad("scan id"))?;
            let k = (pass.as_u128(), r.get(2)?, id.as_u128());
            insert(
                &tx,
                &k,
                &Point {
                    rowid: r.get(0)?,
                    lat: r.get(4)?,
                    lon: r.get(5)?,
                },
            )?;
            added += 1;
        }
    }
    mark_end(&tx)?;
    tx.commit()?;
    Ok(added)
}

#[cfg(test)]
mod tests;
