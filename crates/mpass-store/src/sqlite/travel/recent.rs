//! The newest points of the passes the writer read lately (`RECENT_PASSES` of them), so
//! that a pass checked again and again is answered from memory (see the parent module).

use mpass_domain::scan::TRAVEL_HISTORY;

use super::Near;

/// The newest committed points of one pass at or after `floor`, newest first: all of them
/// while `complete`, else the newest [`TRAVEL_HISTORY`] (every point left out is older
/// than the oldest kept).
#[derive(Debug)]
pub(super) struct Recent {
    pub(super) floor: i64,
    pub(super) points: Vec<Near>,
    pub(super) complete: bool,
}

/// Newest first, as [`super::points`] answers.
pub(super) fn newest_first(a: &Near, b: &Near) -> std::cmp::Ordering {
    (b.0, b.1).cmp(&(a.0, a.1))
}

impl Recent {
    /// From the newest points at or after `floor`, as many as [`TRAVEL_HISTORY`] would
    /// have told apart: `more` when others may exist.
    pub(super) fn new(floor: i64, mut points: Vec<Near>, more: bool) -> Recent {
        points.sort_unstable_by(newest_first);
        let complete = !more && points.len() <= TRAVEL_HISTORY as usize;
        points.truncate(TRAVEL_HISTORY as usize);
        // Room for one more: `add` inserts before it drops the oldest.
        points.shrink_to(TRAVEL_HISTORY as usize + 1);
        points.reserve_exact((TRAVEL_HISTORY as usize + 1).saturating_sub(points.len()));
        Recent {
            floor,
            points,
            complete,
        }
    }

    /// A point just committed.
    pub(super) fn add(&mut self, p: Near) {
        if p.0 < self.floor {
            return;
        }
        let at = self.points.partition_point(|q| newest_first(q, &p).is_lt());
        self.points.insert(at, p);
        if self.points.len() > TRAVEL_HISTORY as usize {
            self.points.pop();
            self.complete = false;
        }
    }

    /// The newest [`TRAVEL_HISTORY`] points in `[from, to]` of these and the running
    /// batch's (`batch`), when these cover the window: `None` when a point left out could
    /// be among them.
    pub(super) fn read(&self, from: i64, to: i64, batch: impl Iterator<Item = Near>) -> Option<Vec<Near>> {
        if from < self.floor {
            return None;
        }
        let inside = |p: &Near| (from..=to).contains(&p.0);
        // These are newest first already; the running batch's few (most often none) are
        // put in their places.
        let mut out: Vec<Near> = Vec::with_capacity(TRAVEL_HISTORY as usize + 1);
        out.extend(self.points.iter().copied().filter(inside));
        for p in batch.filter(inside) {
            let at = out.partition_point(|q| newest_first(q, &p).is_lt());
            out.insert(at, p);
        }
        let covered = self.complete
            || self.points.last().is_none_or(|oldest| {
                oldest.0 < from
                    || out.iter().filter(|p| newest_first(p, oldest).is_le()).count() >= TRAVEL_HISTORY as usize
            });
        out.truncate(TRAVEL_HISTORY as usize);
        covered.then_some(out)
    }
}
