//! Counter increments of one writer batch, summed and written once, just before the batch
//! commits (SPEC §9 statistics stay exact and in the same transaction as the changes they
//! count).
//!
//! Every application status change moves a count between two rows of two counter tables,
//! every decision counts in the latency histogram and every scan in the scan counters. Under
//! load a batch holds hundreds of such changes that mostly hit the same few rows (this hour,
//! this area, this status): one upsert per distinct row instead of one per change took about
//! 7% of the writer's time off a submission (docs/BENCHMARKS-HISTORY.md, fourth round).
//!
//! Outside a writer batch (migrations, tests on a bare connection) an increment is written
//! at once. Inside one, the increments of the running operation stay apart until it has
//! succeeded; an operation rolled back to its savepoint takes its increments with it.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::stats_sql::{self, Dialect};

/// A counter table and the statement that adds `n` (the last parameter) to one of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Table {
    /// `stats_thana_hourly` (hour, area, reason, status, has_pass).
    Thana,
    /// `stats_district_hourly` (hour, area, reason, status, has_pass).
    District,
    /// `stats_latency_hourly` (hour, area, bucket).
    Latency,
    /// `stats_scans_hourly` (hour, district, checkpoint, result).
    Scans,
}

impl Table {
    /// The upsert that adds `n`, its last parameter, to one row (the SQL shared with the
    /// rebuild and PostgreSQL, `stats_sql`).
    fn upsert(self) -> String {
        match self {
            Table::Thana => stats_sql::upsert_counts("stats_thana_hourly", 1),
            Table::District => stats_sql::upsert_counts("stats_district_hourly", 1),
            Table::Latency => stats_sql::UPSERT_LATENCY.to_string(),
            Table::Scans => stats_sql::scans::upsert(Dialect::Sqlite, "VALUES (?1, ?2, ?3, ?4, ?5)"),
        }
    }
}

/// One part of a counter row's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Part {
    Int(i64),
    Text(String),
}

impl From<i64> for Part {
    fn from(v: i64) -> Part {
        Part::Int(v)
    }
}

impl From<&str> for Part {
    fn from(v: &str) -> Part {
        Part::Text(v.to_string())
    }
}

impl From<String> for Part {
    fn from(v: String) -> Part {
        Part::Text(v)
    }
}

/// A counter row: its table and its key, in the table's key order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Row {
    pub table: Table,
    pub key: Vec<Part>,
}

#[derive(Default)]
struct Batch {
    /// Sums of the operations of this batch that succeeded.
    done: HashMap<Row, i64>,
    /// Increments of the running operation.
    running: Vec<(Row, i64)>,
    /// Sums written out by the running operation ([`flush`] inside it), given back if it fails.
    flushed: Option<HashMap<Row, i64>>,
}

thread_local! {
    /// The writer thread's open batch; `None` on every other thread and between batches.
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Adds `n` to a counter row: to the open batch's sums on the writer thread, else at once.
pub(super) fn add(c: &Connection, row: Row, n: i64) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let row = BATCH.with(|b| match b.borrow_mut().as_mut() {
        Some(batch) => {
            batch.running.push((row, n));
            None
        }
        None => Some(row),
    });
    match row {
        Some(row) => write(c, &row, n),
        None => Ok(()),
    }
}

fn write(c: &Connection, row: &Row, n: i64) -> rusqlite::Result<()> {
    let args = row
        .key
        .iter()
        .map(|p| match p {
            Part::Int(v) => Value::Integer(*v),
            Part::Text(v) => Value::Text(v.clone()),
        })
        .chain([Value::Integer(n)]);
    c.prepare_cached(&row.table.upsert())?.execute(params_from_iter(args))?;
    Ok(())
}

/// Opens the writer's batch (on the writer thread, before its first operation).
pub(super) fn begin() {
    BATCH.with(|b| *b.borrow_mut() = Some(Batch::default()));
}

/// Ends the running operation: its increments join the batch's sums if it succeeded, and
/// are dropped (with what it flushed given back) if it was rolled back.
pub(super) fn end_op(ok: bool) {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        let Some(batch) = b.as_mut() else { return };
        let running = std::mem::take(&mut batch.running);
        let flushed = batch.flushed.take();
        if ok {
            for (row, n) in running {
                *batch.done.entry(row).or_insert(0) += n;
            }
        } else if let Some(given_back) = flushed {
            batch.done = given_back;
        }
    });
}

/// Writes the sums of the operations so far, inside the running operation: for an
/// operation that reads or rebuilds the counters. Rolled back with it if it fails.
pub(super) fn flush(c: &Connection) -> rusqlite::Result<()> {
    let sums = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        let batch = b.as_mut()?;
        let sums = std::mem::take(&mut batch.done);
        batch.flushed = Some(sums.clone());
        Some(sums)
    });
    write_all(c, sums.unwrap_or_default())
}

/// Closes the batch without writing its sums (its transaction was rolled back).
pub(super) fn discard() {
    BATCH.with(|b| b.borrow_mut().take());
}

/// Closes the batch and writes its sums (on the writer thread, just before the commit).
pub(super) fn finish(c: &Connection) -> rusqlite::Result<()> {
    let sums = BATCH
        .with(|b| b.borrow_mut().take())
        .map(|b| b.done)
        .unwrap_or_default();
    write_all(c, sums)
}

fn write_all(c: &Connection, sums: HashMap<Row, i64>) -> rusqlite::Result<()> {
    for (row, n) in sums {
        if n != 0 {
            write(c, &row, n)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE stats_scans_hourly (hour INTEGER NOT NULL, district TEXT NOT NULL, checkpoint TEXT NOT NULL,
                 result TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, district, checkpoint, result));",
        )
        .unwrap();
        c
    }

    fn scan(result: &str) -> Row {
        Row {
            table: Table::Scans,
            key: vec![7.into(), "3026".into(), "".into(), result.into()],
        }
    }

    fn counts(c: &Connection) -> Vec<(String, i64)> {
        let mut st = c
            .prepare("SELECT result, n FROM stats_scans_hourly ORDER BY result")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn outside_a_batch_an_increment_is_written_at_once() {
        let c = db();
        add(&c, scan("green"), 1).unwrap();
        add(&c, scan("green"), 2).unwrap();
        assert_eq!(counts(&c), vec![("green".into(), 3)]);
    }

    #[test]
    fn a_batch_writes_one_sum_per_row_and_only_of_operations_that_succeeded() {
        let c = db();
        begin();
        add(&c, scan("green"), 1).unwrap();
        add(&c, scan("red"), 1).unwrap();
        end_op(true);
        assert!(counts(&c).is_empty(), "nothing written before the commit");
        add(&c, scan("green"), 5).unwrap();
        end_op(false); // rolled back: its increments go with it
        add(&c, scan("green"), 1).unwrap();
        add(&c, scan("amber"), 1).unwrap();
        add(&c, scan("amber"), -1).unwrap();
        end_op(true);
        finish(&c).unwrap();
        assert_eq!(counts(&c), vec![("green".into(), 2), ("red".into(), 1)]);
        // The batch is closed: the next increment is written at once.
        add(&c, scan("red"), 1).unwrap();
        assert_eq!(counts(&c), vec![("green".into(), 2), ("red".into(), 2)]);
    }

    #[test]
    fn a_flush_inside_an_operation_is_given_back_when_that_operation_fails() {
        let c = db();
        begin();
        add(&c, scan("green"), 1).unwrap();
        end_op(true);
        // An operation that rebuilds the counters flushes first; it fails, and its savepoint
        // rollback undoes the flushed write, so the sums must still be written at the commit.
        c.execute_batch("SAVEPOINT op").unwrap();
        flush(&c).unwrap();
        assert_eq!(counts(&c), vec![("green".into(), 1)]);
        c.execute_batch("ROLLBACK TO op; RELEASE op").unwrap();
        end_op(false);
        // One that flushes and succeeds leaves nothing to write twice.
        flush(&c).unwrap();
        end_op(true);
        add(&c, scan("red"), 1).unwrap();
        end_op(true);
        finish(&c).unwrap();
        assert_eq!(counts(&c), vec![("green".into(), 1), ("red".into(), 1)]);
    }
}
