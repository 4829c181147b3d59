//! The audit log's store (SPEC §10).

use async_trait::async_trait;

use crate::audit::{AuditEntry, AuditEvent};
use crate::ports::*;

/// The hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends an event at the end of the hash chain, in its own transaction. Changes that
    /// are audited (decisions, cancellations, grants) append inside their own transaction;
    /// a store shared by many nodes may queue those entries there and chain them later
    /// ([`AuditStore::audit_seal`]), but never loses one that committed.
    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry>;
    /// Entries with `seq > after_seq`, in chain order: every entry committed before the
    /// call, queued ones sealed first.
    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Chains the entries audited changes queued (how many). Each node calls it every few
    /// hundred milliseconds. A store that chains every entry in the transaction that
    /// makes it (the embedded one, with its single writer) has nothing to do.
    async fn audit_seal(&self) -> StoreResult<usize> {
        Ok(0)
    }
}
