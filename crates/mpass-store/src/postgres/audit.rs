//! The audit log on PostgreSQL: appended inside the caller's transaction, serialised by
//! an advisory transaction lock so that concurrent nodes build one linear chain.

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{AuditEntry, AuditEvent, GENESIS_HASH, canonical_json};

use super::{PgError, big, exec, from_json, from_ms, ms, query, query_opt};

/// First key of the advisory lock that serialises appends; the second is the schema.
const AUDIT_LOCK: i32 = 0x6175_6469; // "audi"

/// Appends `event` after the last entry. Must run in a transaction: the lock is held until
/// it commits, so the next appender reads this entry as the last. Callers take it after
/// every other lock of their transaction, so it is never held while waiting for another.
pub(super) async fn append(c: &impl GenericClient, event: AuditEvent) -> Result<AuditEntry, PgError> {
    exec(
        c,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&AUDIT_LOCK],
    )
    .await?;
    let last = query_opt(c, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[]).await?;
    let (seq, prev) = match last {
        Some(r) => (r.try_get::<_, i64>(0)? + 1, r.try_get::<_, String>(1)?),
        None => (1, GENESIS_HASH.to_string()),
    };
    let e = event.seal(seq, &prev);
    exec(
        c,
        "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &e.seq,
            &ms(e.at),
            &e.actor,
            &e.action,
            &e.subject,
            &canonical_json(&e.data),
            &e.prev_hash,
            &e.hash,
        ],
    )
    .await?;
    Ok(e)
}

pub(super) async fn list(c: &impl GenericClient, after: i64, limit: u32) -> Result<Vec<AuditEntry>, PgError> {
    let rows = query(
        c,
        "SELECT seq, at, actor, action, subject, data, prev_hash, hash FROM audit_log
         WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[&after, &big(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.try_get(0)?,
                at: from_ms(r.try_get(1)?),
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                subject: r.try_get(4)?,
                data: from_json(&r.try_get::<_, String>(5)?, "audit data")?,
                prev_hash: r.try_get(6)?,
                hash: r.try_get(7)?,
            })
        })
        .collect::<Result<Vec<_>, PgError>>()
}
