//! The `Store` port on PostgreSQL, for many stateless `mpass api` / `mpass worker` nodes
//! sharing one database: pooled connections, an optional read replica, and row locks
//! wherever a transaction reads and then writes.
//!
//! Design choices, all made so that the semantics match the SQLite store exactly while any
//! number of nodes write concurrently:
//! - **Ids** are native `uuid` columns holding UUIDv7: 16 bytes instead of 36 characters of
//!   text, and PostgreSQL compares `uuid` bytewise, so key order is time order (the primary
//!   key index grows at its right edge, and "newest first" is `ORDER BY id DESC`).
//! - **Instants** are BIGINT unix milliseconds, as in SQLite: the same arithmetic in both
//!   backends (OTP windows, leases), no time-zone conversions, no extra driver feature.
//! - **Documents** (details, decisions, passes) are `jsonb`, so operators can query them.
//! - **Isolation** is READ COMMITTED with explicit locks: `SELECT ... FOR UPDATE` before a
//!   read-then-write, `INSERT ... ON CONFLICT` for first-writer-wins, `UPDATE ... WHERE
//!   status = 'submitted'` row counts for decisions, `FOR UPDATE SKIP LOCKED` for leasing.
//!   Transactions that fail with a serialization failure or deadlock are retried.
//! - **No foreign keys**, so tables can be partitioned or moved independently.
//! - **No TLS yet**: connections are plain TCP (`NoTls`); add a TLS connector before the
//!   database leaves a private network.

mod admin;
mod applications;
mod audit;
mod batch;
mod identity;
mod jobs;
mod legacy;
mod notify;
mod schema;
mod stats;
mod store_impl;
mod threads;
mod verification;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
// Unix milliseconds, the stored form of every instant, and back.
use mpass_domain::instant::{from_unix_ms as from_ms, unix_ms as ms};
use mpass_domain::ports::{PassCheck, StoreError, StoreResult};
use mpass_domain::scan::{Scan, ScanRecorded};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// How long to wait for a new connection, or for a free one from the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one transaction that hit a serialization failure or a deadlock.
const MAX_TX_TRIES: u32 = 4;

/// PostgreSQL store. Cheap to clone; clones share the pools.
#[derive(Clone)]
pub struct PostgresStore {
    primary: Pool,
    /// Read-only queries go here when a replica is configured.
    replica: Option<Pool>,
    /// Scans are logged in batches, one transaction each (`batch.rs`).
    scans: batch::Batcher<Scan, ScanRecorded>,
    /// Online checks by QR text read their passes in batches, one round trip each.
    passes: batch::Batcher<verification::PassRead, PassCheck>,
    /// When this node last vacuumed the queue-like tables (`Store::tidy`).
    tidied: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for PostgresStore {
    // The URLs may hold passwords: show only the shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool_size", &self.primary.status().max_size)
            .field("replica", &self.replica.is_some())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` with at most `pool_size` connections (and as many to
    /// `replica_url` when given), then applies pending migrations on the primary.
    /// Fails if either database cannot be reached.
    pub async fn connect(url: &str, pool_size: usize, replica_url: Option<&str>) -> StoreResult<PostgresStore> {
        let primary = pool(url, pool_size)?;
        let replica = replica_url.map(|u| pool(u, pool_size)).transpose()?;
        let scans = verification::scan_log(Primary(primary.clone()));
        let passes = verification::pass_reads(replica.as_ref().unwrap_or(&primary).clone());
        let store = PostgresStore {
            primary,
            replica,
            scans,
            passes,
            tidied: Arc::default(),
        };
        {
            let mut conn = store.primary().await?;
            schema::migrate(&mut conn).await?;
        }
        if store.replica.is_some() {
            let conn = store.reader().await?;
            conn.batch_execute("SELECT 1").await.map_err(PgError::from)?;
        }
        Ok(store)
    }

    /// A connection to the primary, for writes and reads that must see them.
    async fn primary(&self) -> Result<Object, PgError> {
        Ok(self.primary.get().await?)
    }

    /// A connection for read-only queries: the replica when there is one.
    async fn reader(&self) -> Result<Object, PgError> {
        Ok(self.replica.as_ref().unwrap_or(&self.primary).get().await?)
    }
}

/// Reads `$read` (an expression of `Option<_>` using the connection `$c`) on the reader
/// and, when a replica is configured and has nothing, again on the primary. A row a
/// client wrote a moment ago (an application it just submitted, a pass just issued, a
/// checkpoint just made) may not have reached the replica yet: its lag may make a
/// read late, never "not found".
macro_rules! fresh {
    ($store:expr, |$c:ident| $read:expr) => {{
        let found = {
            let $c = $store.reader().await?;
            $read
        };
        match found {
            None if $store.replica.is_some() => {
                let $c = $store.primary().await?;
                $read
            }
            found => found,
        }
    }};
}
pub(super) use fresh;

/// The primary pool alone, as `in_tx!` expects a store to offer it: what a batcher's task
/// holds (not the store, whose handle on the batcher would keep it running forever).
#[derive(Clone)]
struct Primary(Pool);

impl Primary {
    async fn primary(&self) -> Result<Object, PgError> {
        Ok(self.0.get().await?)
    }
}

fn pool(url: &str, size: usize) -> StoreResult<Pool> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(CONNECT_TIMEOUT);
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("mpass");
    }
    let manager = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(CONNECT_TIMEOUT))
        .wait_timeout(Some(WAIT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Unavailable(format!("PostgreSQL pool: {e}")))
}

/// Errors inside the backend, turned into `StoreError` at the port.
#[derive(Debug)]
pub(crate) enum PgError {
    Db(tokio_postgres::Error),
    Pool(PoolError),
    Corrupt(String),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<PoolError> for PgError {
    fn from(e: PoolError) -> Self {
        PgError::Pool(e)
    }
}

impl PgError {
    /// Whether running the whole transaction again may succeed.
    fn retryable(&self) -> bool {
        matches!(self, PgError::Db(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Pool(e) => StoreError::Unavailable(format!("PostgreSQL pool: {e}")),
            PgError::Corrupt(what) => StoreError::Corrupt(what),
            PgError::Db(e) => {
                let detail = match e.as_db_error() {
                    Some(db) => format!("{}: {}", db.code().code(), db.message()),
                    None => match std::error::Error::source(&e) {
                        Some(src) => format!("{e}: {src}"),
                        None => e.to_string(),
                    },
                };
                // Class 08 connection, 53 resources, 57 operator intervention, 40 rollback:
                // the request may succeed later or on another node.
                let transient = match e.code() {
                    Some(code) => ["08", "53", "57", "40"].iter().any(|c| code.code().starts_with(c)),
                    None => e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()),
                };
                if transient {
                    StoreError::Unavailable(detail)
                } else {
                    StoreError::Backend(detail)
                }
            }
        }
    }
}

/// Runs `$body` (an expression using the transaction `$tx`, evaluating to a future of
/// `Result<T, PgError>`) in a transaction on the primary and commits it; the whole
/// transaction is tried again after a serialization failure or a deadlock.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut tries = 0u32;
        loop {
            tries += 1;
            let mut conn = $store.primary().await?;
            let $tx = conn.transaction().await.map_err(PgError::from)?;
            let result: Result<_, PgError> = match $body.await {
                Ok(v) => $tx.commit().await.map(|()| v).map_err(PgError::from),
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.retryable() && tries < crate::postgres::MAX_TX_TRIES => {
                    tracing::debug!(attempt = tries, error = ?e, "store.tx_retry");
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use in_tx;

/// A prepared statement from the connection's cache: one round trip per query after the first.
async fn stmt(c: &impl GenericClient, sql: &str) -> Result<tokio_postgres::Statement, PgError> {
    Ok(c.prepare_cached(sql).await?)
}

/// Runs a cached statement, returning the affected row count.
async fn exec(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
    let st = stmt(c, sql).await?;
    Ok(c.execute(&st, params).await?)
}

/// Runs a cached query returning at most one row.
async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<tokio_postgres::Row>, PgError> {
    let st = stmt(c, sql).await?;
    Ok(c.query_opt(&st, params).await?)
}

/// Runs a cached query returning exactly one row.
async fn query_one(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<tokio_postgres::Row, PgError> {
    let st = stmt(c, sql).await?;
    Ok(c.query_one(&st, params).await?)
}

/// Runs a cached query returning any number of rows.
async fn query(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, PgError> {
    let st = stmt(c, sql).await?;
    Ok(c.query(&st, params).await?)
}

/// Decodes a `jsonb` column read as text.
fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, PgError> {
    serde_json::from_str(s).map_err(|e| PgError::Corrupt(format!("{what}: {e}")))
}

/// Encodes a value for a `jsonb` column (bound as text, cast with `$n::text::jsonb`).
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values serialise")
}

/// A `u32` count or limit as the `bigint` PostgreSQL expects.
fn big(n: u32) -> i64 {
    i64::from(n)
}

/// A `count(*)` as an unsigned number.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
