//! Tests of the SQLite store's own machinery: the writer's batches, the syncer, the readers.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::{Op, SqliteStore, commit_batch};

/// An operation for `commit_batch` that runs `sql` (if it is run at all) and records
/// whether it ran and what its caller was told.
fn op(sql: &'static str, savepoint: bool, log: &Arc<Mutex<Vec<String>>>) -> Op {
    let log = log.clone();
    Op {
        run: Box::new(move |conn| {
            let ran = conn.map(|c| c.execute_batch(sql).is_ok());
            let ok = ran == Some(true);
            let deliver: super::Deliver = Box::new(move |err| {
                log.lock()
                    .unwrap()
                    .push(format!("{sql}: ran {ran:?}, failed {}", err.is_some()));
            });
            (ok, deliver)
        }),
        savepoint,
    }
}

fn answer_now(answers: Vec<super::Deliver>) {
    for d in answers {
        d(None);
    }
}

/// When SQLite rolls back the whole transaction mid-batch (as a disk-full or I/O error
/// does; here an operation ends it itself), nothing of the batch is committed, the
/// operations after it are not run (they would commit one statement at a time), and
/// every caller is told the batch failed.
#[test]
fn a_batch_whose_transaction_is_rolled_back_commits_nothing() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let batch = vec![
        op("INSERT INTO t VALUES (1)", true, &log),
        op("ROLLBACK", false, &log),
        op("INSERT INTO t VALUES (3)", false, &log),
        op("INSERT INTO t VALUES (4)", true, &log),
    ];
    commit_batch(&conn, batch, answer_now);
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "INSERT INTO t VALUES (1): ran Some(true), failed true",
            "ROLLBACK: ran Some(true), failed true",
            "INSERT INTO t VALUES (3): ran None, failed true",
            "INSERT INTO t VALUES (4): ran None, failed true",
        ]
    );
    // The next batch runs and commits as usual.
    commit_batch(&conn, vec![op("INSERT INTO t VALUES (5)", true, &log)], answer_now);
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

/// A sync that fails is an error for every caller of the batches it covered: what they
/// wrote may not be on disk.
#[test]
fn callers_are_told_when_the_wal_cannot_be_synced() {
    let told = Arc::new(Mutex::new(Vec::new()));
    let answers: Vec<super::Deliver> = (0..3)
        .map(|_| {
            let told = told.clone();
            let d: super::Deliver = Box::new(move |err| told.lock().unwrap().push(err.is_some()));
            d
        })
        .collect();
    let missing = std::env::temp_dir().join(format!("mpass-no-such-{}.db-wal", uuid::Uuid::now_v7()));
    let meter = super::sync_meter::SyncMeter::default();
    super::syncer::sync_then_answer(&mut None, &missing, answers, &meter);
    assert_eq!(*told.lock().unwrap(), [true, true, true]);
    // A failed sync is still one the answers waited on.
    assert_eq!(meter.snapshot().count, 1);
}

/// Under writes that never pause, the WAL still starts over: the checkpointer copies
/// frames back while the writer commits, and the writer finishes the last few itself.
/// Without that the WAL would hold every one of the 160 MiB written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_starts_over_under_steady_writes() {
    let dir = std::env::temp_dir().join(format!("mpass-wal-{}", uuid::Uuid::now_v7()));
    let db = dir.join("wal.db");
    let store = SqliteStore::open(&db).unwrap();
    store
        .write(|c| c.execute_batch("CREATE TABLE filler (b BLOB)"))
        .await
        .unwrap();
    let mut largest = 0;
    for _ in 0..80 {
        // 2 MiB a commit, about 520 WAL frames.
        store
            .write(|c| {
                c.execute("INSERT INTO filler (b) SELECT randomblob(2097152)", [])
                    .map(|_| ())
            })
            .await
            .unwrap();
        let wal = std::fs::metadata(dir.join("wal.db-wal")).map(|m| m.len()).unwrap_or(0);
        largest = largest.max(wal);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let rows: i64 = store
        .read(|c| c.query_row("SELECT count(*) FROM filler", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(rows, 80);
    assert!(
        largest < 100 * 1024 * 1024,
        "the WAL grew to {largest} bytes while 160 MiB were written"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An operation that panics fails alone: its caller gets an error, its savepoint is
/// rolled back, and the writer goes on committing the writes after it (a panic once
/// stopped the writer thread, and every write until a restart with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_fails_alone() {
    use mpass_domain::ports::Store;

    let dir = std::env::temp_dir().join(format!("mpass-panic-{}", uuid::Uuid::now_v7()));
    let store = SqliteStore::open(&dir.join("p.db")).unwrap();
    store
        .write(|c| c.execute_batch("CREATE TABLE t (x INTEGER)"))
        .await
        .unwrap();
    let panicked = store
        .write(|c| -> rusqlite::Result<()> {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            panic!("an overflow deep in an operation");
        })
        .await;
    let Err(mpass_domain::ports::StoreError::Backend(e)) = panicked else {
        panic!("{panicked:?}");
    };
    assert!(e.contains("an overflow deep in an operation"), "{e}");
    store
        .write(|c| c.execute("INSERT INTO t VALUES (2)", []).map(|_| ()))
        .await
        .expect("the writer goes on");
    let rows: Vec<i64> = store
        .read(|c| {
            c.prepare("SELECT x FROM t")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .await
        .unwrap();
    assert_eq!(rows, [2], "the panicking operation's insert is rolled back");
    assert!(store.ping().await.is_ok());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// No statement binds its `LIMIT` directly (see the module documentation): every
/// source file of this module and its submodules is read, so a new one is held to it too.
#[test]
fn no_bound_limit() {
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sqlite")];
    let mut read = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            // The module documentation names the pattern it forbids.
            if path.ends_with("sqlite/mod.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains(concat!("LIMIT", " ?")),
                "a bound LIMIT in {}",
                path.display()
            );
            read += 1;
        }
    }
    assert!(read > 15, "only {read} files read");
}
