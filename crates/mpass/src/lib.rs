//! The `mpass` binary's library: configuration, keys and the composition root, so that
//! integration tests start the same server the binary starts.

pub mod admin;
pub mod audit;
pub mod bench;
pub mod config;
pub mod demo;
pub mod dlq;
pub mod keys;
pub mod limits;
pub mod policy;
pub mod runtime;
pub mod serve;
pub mod stats;
pub mod telemetry;
pub mod verify;

use std::path::PathBuf;

/// Options every command that touches the data shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DataArgs {
    /// Configuration file (default: ./mpass.toml if it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded default (database, keys, photos) [default: ./data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// Backend choices of the distributed layout (`mpass api`, `mpass worker`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BackendArgs {
    /// PostgreSQL URL (default: the embedded SQLite in the data directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// NATS URL (default: the in-process queue in the database).
    #[arg(long)]
    pub queue_url: Option<String>,
    /// S3-compatible object store URL (default: the data directory).
    #[arg(long)]
    pub object_store_url: Option<String>,
}
