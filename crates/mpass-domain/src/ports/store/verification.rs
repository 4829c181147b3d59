//! Police verification's store: checkpoints, the scan log and what an online check reads (SPEC §8).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::checkpoint::Checkpoint;
use crate::ids::{CheckpointId, PassId, ScanId};
use crate::ports::*;
use crate::scan::{Scan, ScanRecorded, TravelPoint};

/// Checkpoints, the scan log and what an online check reads.
#[async_trait]
pub trait VerificationStore: PassStore + ApplicationStore {
    /// Stores a new checkpoint, audited `checkpoint.created` with `actor`.
    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()>;
    /// Every checkpoint not deleted, by name.
    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;
    /// Every checkpoint ever created, with when it was deleted if it was (so statistics
    /// can name the checkpoints of old scans).
    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>>;
    /// One checkpoint, unless deleted.
    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>>;
    /// Deletes a checkpoint (scans keep its id), audited `checkpoint.deleted`; false if it
    /// did not exist or was already deleted.
    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool>;
    /// Logs a scan and counts it in the scan statistics, in one transaction. A scan with a
    /// `client_id` the same officer uploaded before is not logged (nor counted) again: the
    /// first one is returned.
    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded>;
    /// The pass named by `key`, its application's status and (when `travel_at` is given,
    /// the time of a scan with a position) its scans that impossible travel compares with
    /// one made then ([`VerificationStore::travel_points`]): what an online check reads. The default
    /// asks the other methods; a backend may answer from one read transaction.
    async fn pass_check(&self, key: PassKey, travel_at: Option<OffsetDateTime>) -> StoreResult<PassCheck> {
        let pass = match &key {
            PassKey::Id(id) => self.pass(*id).await?,
            PassKey::ShortCode(code) => self.pass_by_short_code(code).await?,
        };
        let status = match &pass {
            Some(p) => self.application(p.application_id).await?.map(|a| a.status),
            None => None,
        };
        let id = match key {
            PassKey::Id(id) => Some(id),
            PassKey::ShortCode(_) => pass.as_ref().map(|p| p.id),
        };
        let earlier = match (id, travel_at) {
            (Some(id), Some(at)) => self.travel_points(id, at).await?,
            _ => Vec::new(),
        };
        Ok(PassCheck { pass, status, earlier })
    }
    /// An online check's read and its scan log in one step: reads what
    /// [`VerificationStore::pass_check`] reads for `key` (nothing without one), hands it to `decide`,
    /// and logs the scan `decide` makes as [`VerificationStore::scan_record`] does; `None`, logging
    /// nothing, when `decide` makes none; a panic in `decide` is an error of this step. The
    /// default does these in turn; the embedded store runs all of it as one operation of
    /// its writer.
    async fn check_and_log(
        &self,
        key: Option<PassKey>,
        travel_at: Option<OffsetDateTime>,
        decide: ScanDecider,
    ) -> StoreResult<Option<ScanRecorded>> {
        let known = match key {
            Some(key) => self.pass_check(key, travel_at).await?,
            None => PassCheck::default(),
        };
        // As on the embedded store's writer: a panic in `decide` fails this step only.
        let scan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(known)))
            .map_err(|_| StoreError::Backend("the scan decision panicked".into()))?;
        match scan {
            Some(scan) => self.scan_record(&scan).await.map(Some),
            None => Ok(None),
        }
    }
    /// The scans of a pass that impossible travel compares with one made at `at`: those
    /// with a position, made within [`crate::scan::TRAVEL_HORIZON`] of `at`, the latest
    /// first, at most [`crate::scan::TRAVEL_HISTORY`]. The stores keep an index of only
    /// these (pass, scan time, position): a scan without a position is logged without
    /// touching it.
    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>>;
    /// Scans newest first (by id), only flagged ones if asked, strictly older than `before`.
    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>>;
    /// Stores synthetic scans as they are, in one transaction, without moving the counters
    /// (`mpass demo` rebuilds them afterwards).
    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()>;
}
