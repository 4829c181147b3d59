//! `AuditStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::{AuditEntry, AuditEvent};
use mpass_domain::ports::*;

use crate::postgres::{PgError, PostgresStore, audit, in_tx};

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry> {
        Ok(in_tx!(self, |tx| audit::append_sealed(&tx, event.clone()))?)
    }

    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        // Every entry committed before this call, queued ones sealed first; on the primary:
        // `mpass audit verify` must see the chain up to its end.
        self.audit_seal().await?;
        let c = self.primary().await?;
        Ok(audit::list(&c, after_seq, limit).await?)
    }

    async fn audit_seal(&self) -> StoreResult<usize> {
        let mut sealed = 0;
        loop {
            if !audit::queued(&self.primary().await?).await? {
                return Ok(sealed);
            }
            let n = in_tx!(self, |tx| audit::seal(&tx))?;
            sealed += n;
            if n < audit::SEAL_BATCH as usize {
                return Ok(sealed);
            }
        }
    }
}
