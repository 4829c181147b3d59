//! `VerificationStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{CheckpointId, PassId, ScanId};
use mpass_domain::ports::*;
use mpass_domain::scan::{Scan, ScanRecorded, TravelPoint};
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, fresh, from_ms, in_tx, ms, verification};

#[async_trait]
impl VerificationStore for PostgresStore {
    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| verification::bulk_insert_scans(&tx, &batch))?)
    }

    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| verification::checkpoint_create(
            &tx,
            checkpoint,
            actor.clone()
        ))?)
    }

    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        let c = self.reader().await?;
        Ok(verification::checkpoints(&c).await?)
    }

    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>> {
        Ok(fresh!(self, |c| verification::checkpoint(&c, id).await?))
    }

    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>> {
        let c = self.reader().await?;
        let rows = verification::checkpoints_with_deleted(&c).await?;
        Ok(rows.into_iter().map(|(cp, at)| (cp, at.map(from_ms))).collect())
    }

    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| verification::checkpoint_delete(
            &tx,
            id,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded> {
        self.scans.call(scan.clone()).await
    }

    async fn pass_check(&self, key: PassKey, travel_at: Option<OffsetDateTime>) -> StoreResult<PassCheck> {
        match key {
            // A QR text's check: with the others waiting at that moment.
            PassKey::Id(id) => {
                let known = self.passes.call((id, travel_at)).await?;
                if known.pass.is_some() || self.replica.is_none() {
                    return Ok(known);
                }
                // Not on the replica: maybe issued a moment ago (`fresh!`).
                let c = self.primary().await?;
                Ok(verification::pass_check_batch(&c, &[(id, travel_at)])
                    .await?
                    .pop()
                    .unwrap_or_default())
            }
            PassKey::ShortCode(code) => Ok(fresh!(self, |c| {
                let known = verification::pass_check_by_code(&c, &code, travel_at).await?;
                known.pass.is_some().then_some(known)
            })
            .unwrap_or_default()),
        }
    }

    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>> {
        // The primary: the scan logged a moment ago at the other checkpoint must be seen.
        let c = self.primary().await?;
        Ok(verification::travel_points(&c, pass, at).await?)
    }

    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>> {
        let c = self.reader().await?;
        Ok(verification::scans_list(&c, flagged_only, before, limit).await?)
    }
}
