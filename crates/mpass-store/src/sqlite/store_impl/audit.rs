//! `AuditStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::{AuditEntry, AuditEvent};
use mpass_domain::ports::*;

use crate::sqlite::{SqliteStore, audit};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry> {
        self.write(move |c| audit::append(c, event)).await
    }

    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |c| audit::list(c, after_seq, limit)).await
    }
}
