//! Movement Pass storage: the `Store` port on SQLite (the embedded default) and on
//! PostgreSQL (many stateless nodes), and a local directory object store.
//!
//! Only this crate writes SQL. The SQLite store keeps one writer thread that commits
//! the writes of concurrent requests in one transaction (group commit) and answers each
//! caller only after the commit is durable (`synchronous=FULL`), plus a pool of
//! read-only connections.

mod objects;
mod postgres;
mod sqlite;

pub use objects::LocalObjectStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
