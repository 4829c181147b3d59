//! The `mpass` binary's library: configuration, keys and the composition root, so that
//! integration tests start the same server the binary starts.

pub mod admin;
pub mod config;
pub mod keys;
pub mod serve;
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
