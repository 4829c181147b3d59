//! Movement Pass storage: the `Store` port on SQLite (the embedded default) and on
//! PostgreSQL (many stateless nodes), and object stores for photos: a local directory
//! (the default) or any S3-compatible service.
//!
//! Only this crate writes SQL. The SQLite store keeps one writer thread that commits
//! the writes of concurrent requests in one transaction (group commit) and answers each
//! caller only after the commit is durable (`synchronous=FULL`), plus a pool of
//! read-only connections.

mod objects;
mod postgres;
mod s3;
mod sqlite;
mod stats_sql;

pub use objects::LocalObjectStore;
pub use postgres::PostgresStore;
pub use s3::S3ObjectStore;
pub use sqlite::SqliteStore;

/// The district whose reviewers work an application: the district of its from-thana.
pub(crate) fn review_district(app: &mpass_domain::application::Application) -> Option<String> {
    mpass_domain::geo::areas()
        .district_of(&app.details.from.area)
        .map(|d| d.code.clone())
}
