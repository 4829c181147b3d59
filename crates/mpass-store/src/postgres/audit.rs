//! The audit log on PostgreSQL: one hash chain for every node, sealed by whichever node
//! holds the chain's advisory lock.
//!
//! An audited change (a decision, a revocation, a grant) queues its entry in
//! `audit_queue`, inside its own transaction: the entry commits with the change or not at
//! all, and the transaction takes no lock that other nodes wait on. The sealer
//! ([`seal`], run every few hundred milliseconds by every node and before every read of
//! the chain) takes the lock, chains queued entries in queue order after the last entry
//! (seq + 1, the previous entry's hash) and moves them into `audit_log` in one transaction.
//!
//! Before (schema version 11 and earlier), each audited transaction took the lock itself
//! and held it through its commit, so the decisions of every worker node waited for one
//! another's commit: the distributed layout's decisions queued behind that one lock
//! (docs/BENCHMARKS-HISTORY.md, twenty-sixth round).

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{Actor, AuditEntry, AuditEvent, GENESIS_HASH, canonical_json};

use super::{PgError, big, exec, from_json, from_ms, ms, query, query_opt};

/// First key of the advisory lock that serialises sealing; the second is the schema.
const AUDIT_LOCK: i32 = 0x6175_6469; // "audi"

/// Queued entries chained in one transaction.
pub(super) const SEAL_BATCH: u32 = 1000;

/// Queues `event` for the chain, inside the caller's transaction: it commits with the
/// change it records. Takes no lock.
pub(super) async fn append(c: &impl GenericClient, event: AuditEvent) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO audit_queue (at, actor, action, subject, data) VALUES ($1, $2, $3, $4, $5)",
        &[
            &ms(event.at),
            &event.actor.as_str(),
            &event.action,
            &event.subject,
            &canonical_json(&event.data),
        ],
    )
    .await?;
    Ok(())
}

/// The end of the chain: the last entry's seq and hash (0 and the genesis hash when empty).
type Tip = (i64, String);

/// Takes the chain's lock until the transaction ends, and reads its tip. Must run in a
/// transaction; READ COMMITTED, so what follows sees every seal committed before the lock.
async fn lock_chain(c: &impl GenericClient) -> Result<Tip, PgError> {
    exec(
        c,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&AUDIT_LOCK],
    )
    .await?;
    let last = query_opt(c, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[]).await?;
    Ok(match last {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, GENESIS_HASH.to_string()),
    })
}

/// Chains up to [`SEAL_BATCH`] queued entries after `tip`, in queue order, and moves them
/// into `audit_log`. Needs the lock ([`lock_chain`]). Answers the new tip and how many.
async fn seal_queued(c: &impl GenericClient, mut tip: Tip) -> Result<(Tip, usize), PgError> {
    let rows = query(
        c,
        "SELECT id, at, actor, action, subject, data FROM audit_queue ORDER BY id LIMIT $1",
        &[&big(SEAL_BATCH)],
    )
    .await?;
    if rows.is_empty() {
        return Ok((tip, 0));
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut sealed = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.try_get::<_, i64>(0)?);
        let event = AuditEvent::new(
            from_ms(r.try_get(1)?),
            Actor::stored(r.try_get(2)?),
            r.try_get::<_, &str>(3)?,
            r.try_get(4)?,
            from_json(r.try_get(5)?, "queued audit data")?,
        );
        let e = event.seal(tip.0 + 1, &tip.1);
        tip = (e.seq, e.hash.clone());
        sealed.push(e);
    }
    insert(c, &sealed).await?;
    exec(c, "DELETE FROM audit_queue WHERE id = ANY($1)", &[&ids]).await?;
    Ok((tip, sealed.len()))
}

/// Writes sealed entries into the chain, in one statement.
async fn insert(c: &impl GenericClient, entries: &[AuditEntry]) -> Result<(), PgError> {
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    let ats: Vec<i64> = entries.iter().map(|e| ms(e.at)).collect();
    let text = |f: fn(&AuditEntry) -> String| entries.iter().map(f).collect::<Vec<String>>();
    exec(
        c,
        "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[])",
        &[
            &seqs,
            &ats,
            &text(|e| e.actor.clone()),
            &text(|e| e.action.clone()),
            &text(|e| e.subject.clone()),
            &text(|e| canonical_json(&e.data)),
            &text(|e| e.prev_hash.clone()),
            &text(|e| e.hash.clone()),
        ],
    )
    .await?;
    Ok(())
}

/// Seals one batch of queued entries (in the caller's transaction): how many.
pub(super) async fn seal(c: &impl GenericClient) -> Result<usize, PgError> {
    let tip = lock_chain(c).await?;
    Ok(seal_queued(c, tip).await?.1)
}

/// Whether entries wait in the queue (no lock: a cheap look before [`seal`]).
pub(super) async fn queued(c: &impl GenericClient) -> Result<bool, PgError> {
    let row = query_opt(c, "SELECT 1 FROM audit_queue LIMIT 1", &[]).await?;
    Ok(row.is_some())
}

/// Appends `event` at the end of the chain at once, after everything queued before it (in
/// the caller's transaction): the entry as sealed.
pub(super) async fn append_sealed(c: &impl GenericClient, event: AuditEvent) -> Result<AuditEntry, PgError> {
    let mut tip = lock_chain(c).await?;
    loop {
        let (next, n) = seal_queued(c, tip).await?;
        tip = next;
        if n < SEAL_BATCH as usize {
            break;
        }
    }
    let e = event.seal(tip.0 + 1, &tip.1);
    insert(c, std::slice::from_ref(&e)).await?;
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
