//! `Store` for `SqliteStore`: one file per resource's trait, and the store's own
//! health and upkeep here. Every method runs its SQL on the writer or on a reader.

mod admin;
mod applications;
mod audit;
mod identity;
mod jobs;
mod legacy;
mod passes;
mod policy;
mod review;
mod stats;
mod verification;

use async_trait::async_trait;
use mpass_domain::ports::*;

use crate::sqlite::SqliteStore;

#[async_trait]
impl Store for SqliteStore {
    fn sync_times(&self) -> Option<mpass_domain::ports::SyncTimes> {
        Some(self.syncs.snapshot())
    }

    async fn ping(&self) -> StoreResult<()> {
        if !self.writer_running() {
            return Err(StoreError::Unavailable("the SQLite writer has stopped".into()));
        }
        self.read(|c| c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(())))
            .await
    }
}
