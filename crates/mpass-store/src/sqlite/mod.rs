//! The `Store` port on SQLite in WAL mode: one group-committing writer, pooled readers.
//!
//! Statements are prepared once per connection (`prepare_cached`) and must stay prepared:
//! SQLite prepares a statement again each time a bound value could change its plan, which
//! costs more than most of our statements take to run. A bound `LIMIT ?n` is such a value,
//! so limits are written `LIMIT CAST(?n AS INTEGER)` (the test `no_bound_limit` holds every
//! file to it).

mod admin;
mod applications;
mod audit;
mod counters;
mod identity;
mod jobs;
mod legacy;
mod notify;
mod readers;
mod schema;
mod stats;
mod store_impl;
mod sync_meter;
mod syncer;
mod threads;
mod travel;
mod verification;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, mpsc};

// Unix milliseconds, the stored form of every instant, and back.
pub(crate) use mpass_domain::instant::{from_unix_ms as from_ms, unix_ms as ms};
use mpass_domain::ports::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 512;
/// Under load (the last batch held 2 writes or more, fewer than [`BATCH_WITHOUT_DELAY`]), how long the
/// writer waits for more writes before it starts the next transaction: fewer, larger commits.
const COMMIT_DELAY: std::time::Duration = std::time::Duration::from_micros(COMMIT_DELAY_US);
const COMMIT_DELAY_US: u64 = 300;
/// A batch this large means writes arrive faster than the writer commits them: the next
/// one starts at once, for the delay would only leave the writer idle.
const BATCH_WITHOUT_DELAY: usize = 32;
/// Read connections, all kept open: reads beyond this many wait for one to come free
/// instead of opening (and parsing the schema on) a new connection.
const MAX_READERS: usize = 8;
/// Prepared statements kept per connection (the store has about a hundred distinct ones).
const STATEMENT_CACHE: usize = 256;
/// How often the checkpointer copies committed WAL frames back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// WAL size kept on disk after a checkpoint has emptied it (bytes).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// WAL length (frames, 4 KiB each) at which the writer finishes a checkpoint itself, between
/// two batches: under steady writes the checkpointer never catches the last frames, and the
/// WAL starts again from its beginning only after a checkpoint that did.
const WAL_RESTART_FRAMES: i64 = 8192;

type Deliver = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// Runs a write (or is told the batch failed to start), and hands back whether it
/// succeeded plus how to answer its caller once the batch commits.
type Run = Box<dyn FnOnce(Option<&Connection>) -> (bool, Deliver) + Send>;
/// A write operation.
struct Op {
    run: Run,
    /// Run inside a savepoint of its own, rolled back if it fails. Only an operation whose
    /// one fallible change is a single statement goes without ([`SqliteStore::write_single`]):
    /// SQLite undoes a failed statement itself.
    savepoint: bool,
}

/// SQLite store. Cheap to clone; all clones share the writer and the reader pool.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::SyncSender<Op>,
    readers: Arc<readers::ReaderPool>,
    syncs: Arc<sync_meter::SyncMeter>,
    /// False once the writer thread has stopped: every write would fail (`/readyz`).
    writer_alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.readers.path).finish()
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DatabaseBusy => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    // FULL: a commit survives power loss. Group commit, not weaker durability, buys speed.
    // The writer's connection is set to NORMAL after this: its commits are made durable by
    // the syncer thread before anyone is answered (`syncer_loop`).
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;
         PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, applies migrations and starts
    /// the writer thread.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(backend)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!("SQLite refused WAL mode (got {mode})")));
        }
        configure(&conn, false).map_err(backend)?;
        schema::migrate(&conn).map_err(backend)?;
        // Points of scans logged after impossible travel's index last moved (travel.rs).
        let recovered = travel::recover(&conn).map_err(backend)?;
        if recovered > 0 {
            tracing::info!(points = recovered, "store.travel_recovered");
        }
        // Checkpoints run on a thread of their own, never inside a commit: a commit that
        // also copied the WAL back into the database held every write waiting behind it.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))
        .map_err(backend)?;
        // The writer's commits do not sync: the syncer does, for every batch committed since
        // its last sync, and only then are the batch's callers answered (`syncer_loop`).
        conn.execute_batch("PRAGMA synchronous = NORMAL;").map_err(backend)?;
        let checkpointer = Connection::open(path).map_err(backend)?;
        configure(&checkpointer, false).map_err(backend)?;
        let (tx, rx) = mpsc::sync_channel::<Op>(8192);
        let (alive, stopped) = mpsc::channel::<()>();
        let wal_frames = Arc::new(AtomicI64::new(0));
        let frames = wal_frames.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || syncer::checkpoint_loop(checkpointer, &frames, stopped))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let (committed, to_sync) = mpsc::channel::<Vec<Deliver>>();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let syncs = Arc::new(sync_meter::SyncMeter::default());
        let meter = syncs.clone();
        std::thread::Builder::new()
            .name("sqlite-syncer".into())
            .spawn(move || syncer::syncer_loop(PathBuf::from(wal), to_sync, &meter))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let writer_alive = Arc::new(AtomicBool::new(true));
        let running = WriterRunning(writer_alive.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let _running = running;
                writer_loop(conn, rx, committed, &wal_frames, alive);
            })
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(SqliteStore {
            writer: tx,
            readers: Arc::new(readers::ReaderPool::new(path, MAX_READERS)),
            syncs,
            writer_alive,
        })
    }

    /// The same database and writer with `readers` read connections of its own: the
    /// worker's handle, so that a flood of page loads queueing for a read connection cannot
    /// starve the decisions (a bulkhead).
    pub fn with_own_readers(&self, readers: usize) -> SqliteStore {
        SqliteStore {
            writer: self.writer.clone(),
            readers: Arc::new(readers::ReaderPool::new(&self.readers.path, readers.max(1))),
            syncs: self.syncs.clone(),
            writer_alive: self.writer_alive.clone(),
        }
    }

    /// Whether the writer thread still runs (it stops only when every handle is gone, or
    /// if something outside any one operation panicked in it).
    pub(crate) fn writer_running(&self) -> bool {
        self.writer_alive.load(Ordering::Relaxed)
    }

    /// Runs `f` in the writer's next batch, in a savepoint of its own; answers after that
    /// batch has committed.
    pub(crate) async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.submit(f, true).await
    }

    /// [`SqliteStore::write`] for an operation that changes the database with at most one
    /// statement, after which nothing can fail (reads and counter increments may come
    /// before or after it): it needs no savepoint, because SQLite rolls a failed statement
    /// back by itself. A savepoint costs a copy of every page the operation touches (the
    /// scan log's random index leaf among them).
    pub(crate) async fn write_single<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.submit(f, false).await
    }

    async fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
        savepoint: bool,
    ) -> StoreResult<R> {
        let (tx, rx) = oneshot::channel::<StoreResult<R>>();
        let run: Run = Box::new(move |conn: Option<&Connection>| {
            let result = match conn {
                // A panic fails this operation (rolled back with its savepoint, if it has
                // one), not the writer thread and every write after it.
                Some(c) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(c))) {
                    Ok(r) => r.map_err(backend),
                    Err(panic) => Err(StoreError::Backend(format!(
                        "the write operation panicked: {}",
                        mpass_domain::error::panic_message(&*panic)
                    ))),
                },
                None => Err(StoreError::Unavailable("write batch could not start".into())),
            };
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |commit_error| {
                let _ = tx.send(match commit_error {
                    Some(e) => Err(e),
                    None => result,
                });
            });
            (ok, deliver)
        });
        let op = Op { run, savepoint };
        let writer = self.writer.clone();
        // The channel is bounded: when the writer is saturated, wait without blocking the runtime.
        match writer.try_send(op) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(op)) => {
                tokio::task::spawn_blocking(move || writer.send(op))
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?
                    .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(StoreError::Unavailable("writer stopped".into())),
        }
        rx.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// Runs `f` on a read-only connection off the async runtime.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> StoreResult<R> {
        let pool = self.readers.clone();
        let permit = pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.get()?;
            let r = f(&conn);
            pool.put(conn);
            r
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .map_err(backend)
    }

    /// A read of a few index lookups (tens of microseconds) on the calling thread: handing
    /// it to the blocking pool and back costs more than the read. Runs on the blocking pool
    /// like [`SqliteStore::read`] when no read connection is free, rather than waiting on
    /// the async runtime. Only for reads bounded by their keys, never for scans.
    pub(crate) async fn read_point<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> StoreResult<R> {
        let Ok(permit) = self.readers.permits.clone().try_acquire_owned() else {
            return self.read(f).await;
        };
        let conn = self.readers.get().map_err(backend)?;
        let r = f(&conn);
        self.readers.put(conn);
        drop(permit);
        r.map_err(backend)
    }
}

/// Clears the store's writer flag when the writer thread ends, however it ends.
struct WriterRunning(Arc<AtomicBool>);

impl Drop for WriterRunning {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
        if std::thread::panicking() {
            tracing::error!("store.writer_stopped");
        }
    }
}

/// Runs `batch` in one transaction, each operation in its own savepoint unless it needs
/// none. After the commit the callers' answers go to `committed`, which answers them once
/// the batch is on disk; when the batch fails, every caller is told at once.
fn commit_batch(conn: &Connection, batch: Vec<Op>, committed: impl FnOnce(Vec<Deliver>)) {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "store.begin_failed");
        for op in batch {
            let (_, d) = (op.run)(None);
            d(None);
        }
        return;
    }
    counters::begin();
    travel::begin();
    let mut delivers = Vec::with_capacity(batch.len());
    // A disk-full or I/O error makes SQLite roll back the whole transaction, savepoints and
    // all. What ran before it is gone, and what follows would commit a statement at a time:
    // the rest of the batch is not run, and every caller is told the batch failed.
    let mut rolled_back = false;
    for op in batch {
        if rolled_back {
            let (_, d) = (op.run)(None);
            delivers.push(d);
            continue;
        }
        let (ok, d) = if op.savepoint {
            let _ = control(conn, "SAVEPOINT op");
            let (ok, d) = (op.run)(Some(conn));
            if !ok {
                let _ = control(conn, "ROLLBACK TO op");
            }
            let _ = control(conn, "RELEASE op");
            (ok, d)
        } else {
            (op.run)(Some(conn))
        };
        counters::end_op(ok);
        travel::end_op(ok);
        delivers.push(d);
        rolled_back = conn.is_autocommit();
    }
    let commit_error = if rolled_back {
        counters::discard();
        tracing::error!("store.batch_rolled_back");
        Some(StoreError::Unavailable("the write batch was rolled back".into()))
    } else {
        // The batch's counter sums, one upsert per row, in the same transaction.
        counters::finish(conn)
            .and_then(|()| travel::before_commit(conn))
            .and_then(|()| control(conn, "COMMIT"))
            .err()
            .map(|e| {
                tracing::error!(error = %e, "store.commit_failed");
                let _ = conn.execute_batch("ROLLBACK");
                backend(e)
            })
    };
    travel::after_commit(commit_error.is_none());
    match commit_error {
        None => committed(delivers),
        Some(e) => {
            for d in delivers {
                d(Some(e.clone()));
            }
        }
    }
}

/// Commits batches of writes until every [`SqliteStore`] handle is gone; holding `_alive`
/// keeps the checkpointer running for as long as this loop does.
fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Op>,
    committed: mpsc::Sender<Vec<Deliver>>,
    wal_frames: &AtomicI64,
    _alive: mpsc::Sender<()>,
) {
    travel::init_writer();
    let mut last = 0;
    while let Ok(first) = rx.recv() {
        if (2..BATCH_WITHOUT_DELAY).contains(&last) {
            std::thread::sleep(COMMIT_DELAY);
        }
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        last = batch.len();
        commit_batch(&conn, batch, |answers| {
            // The syncer stops only after the writer, unless it panicked.
            if let Err(mpsc::SendError(answers)) = committed.send(answers) {
                for d in answers {
                    d(Some(StoreError::Unavailable("the WAL syncer stopped".into())));
                }
            }
        });
        // The batch is committed (its answers wait for the syncer); the checkpointer has
        // copied all but the newest frames, so this one is short (it syncs the WAL before
        // copying, as every checkpoint does), and the next batch starts the WAL again.
        if wal_frames.load(Ordering::Relaxed) >= WAL_RESTART_FRAMES {
            match syncer::checkpoint(&conn) {
                Ok(_) => wal_frames.store(0, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "store.checkpoint_failed"),
            }
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

pub(crate) fn in_read_tx<R>(c: &Connection, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> rusqlite::Result<R> {
    control(c, "BEGIN")?;
    let r = f(c);
    // Never hand a connection back to the pool inside a transaction.
    control(c, "COMMIT")?;
    r
}

/// A transaction-control statement, prepared once per connection.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Decodes a JSON column, reporting corruption as a SQLite conversion error.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Encodes a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values serialise")
}

#[cfg(test)]
mod tests;
