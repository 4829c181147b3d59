//! `VerificationStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId};
use mpass_domain::ports::*;
use mpass_domain::scan::{Scan, ScanRecorded, TravelPoint};
use rusqlite::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sqlite::applications::PassColumn;
use crate::sqlite::{SqliteStore, applications as apps, from_ms, ms, verification};

#[async_trait]
impl VerificationStore for SqliteStore {
    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()> {
        self.write(move |c| verification::bulk_insert_scans(c, &batch)).await
    }

    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()> {
        let cp = checkpoint.clone();
        self.write(move |c| verification::checkpoint_create(c, &cp, actor))
            .await
    }

    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        self.read(verification::checkpoints).await
    }

    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>> {
        self.read(move |c| verification::checkpoint(c, id)).await
    }

    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>> {
        let rows = self.read(verification::checkpoints_with_deleted).await?;
        Ok(rows.into_iter().map(|(cp, at)| (cp, at.map(from_ms))).collect())
    }

    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |c| verification::checkpoint_delete(c, id, actor, ms(now)))
            .await
    }

    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded> {
        let scan = scan.clone();
        // One INSERT; the rest is a read or a counter increment.
        self.write_single(move |c| verification::scan_record(c, &scan)).await
    }

    async fn check_and_log(
        &self,
        key: Option<PassKey>,
        travel_at: Option<OffsetDateTime>,
        decide: ScanDecider,
    ) -> StoreResult<Option<ScanRecorded>> {
        // All on the writer, inside its batch: its page cache stays warm across commits
        // (a reader's is emptied by every commit, and the pages read again), and no read
        // transaction is begun. One INSERT, so no savepoint (`write_single`). A panic in
        // `decide` fails this operation, not the writer thread (`SqliteStore::submit`).
        self.write_single(move |c| {
            let known = match &key {
                Some(key) => pass_check(c, key, travel_at)?,
                None => PassCheck::default(),
            };
            decide(known)
                .map(|scan| verification::scan_record(c, &scan))
                .transpose()
        })
        .await
    }

    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>> {
        // On the writer: the points of the latest scans wait in its memory (travel.rs).
        self.write_single(move |c| crate::sqlite::travel::points(c, pass, at))
            .await
    }

    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>> {
        self.read(move |c| verification::scans_list(c, flagged_only, before, limit))
            .await
    }
}

fn pass_check(c: &Connection, key: &PassKey, travel_at: Option<OffsetDateTime>) -> rusqlite::Result<PassCheck> {
    let (pass, status) = match key {
        PassKey::Id(id) => apps::pass_and_status(
            c,
            PassColumn::Id,
            id.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
        )?,
        PassKey::ShortCode(code) => apps::pass_and_status(c, PassColumn::ShortCode, code)?,
    };
    let id = match key {
        PassKey::Id(id) => Some(*id),
        PassKey::ShortCode(_) => pass.as_ref().map(|p| p.id),
    };
    let earlier = match (id, travel_at) {
        (Some(id), Some(at)) => crate::sqlite::travel::points(c, id, at)?,
        _ => Vec::new(),
    };
    Ok(PassCheck { pass, status, earlier })
}
