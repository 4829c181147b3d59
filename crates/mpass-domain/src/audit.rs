//! The audit log of SPEC §10: hash-chained entries and the pure functions that seal and
//! verify them. The stores append entries in the same transaction as the change they
//! record; `mpass audit verify` replays the chain through [`ChainVerifier`].
//!
//! Each entry's hash is SHA-256 over a canonical encoding of every field, including the
//! previous entry's hash, so editing an entry breaks its own hash, and removing or
//! reordering entries breaks the sequence numbers and the links. Truncating the newest
//! entries cannot be detected from the chain alone (compare the last hash with a copy kept
//! elsewhere for that).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::policy::Decision;
use crate::ports::RoleGrant;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Stable action names.
pub mod action {
    pub const APPLICATION_DECIDED: &str = "application.decided";
    pub const APPLICATION_CANCELLED: &str = "application.cancelled";
    pub const ROLE_GRANTED: &str = "role.granted";
    pub const PASS_REVOKED: &str = "pass.revoked";
    pub const REVIEW_CLAIMED: &str = "review.claimed";
    pub const APPLICATION_REVIEWED: &str = "application.reviewed";
    pub const INFO_REQUESTED: &str = "application.info_requested";
    pub const INFO_PROVIDED: &str = "application.info_provided";
    pub const POLICY_CHANGED: &str = "policy.changed";
    pub const DLQ_REPLAYED: &str = "dlq.replayed";
    pub const CHECKPOINT_CREATED: &str = "checkpoint.created";
    pub const CHECKPOINT_DELETED: &str = "checkpoint.deleted";
    pub const ROLE_REVOKED: &str = "role.revoked";
    pub const ADMIN_SEARCH: &str = "admin.search";
}

/// Who did it: a user id, `system` (the worker, the policy) or `cli` (an operator at the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    pub fn user(id: UserId) -> Actor {
        Actor(id.to_string())
    }
    pub fn system() -> Actor {
        Actor("system".into())
    }
    pub fn cli() -> Actor {
        Actor("cli".into())
    }
    /// An actor as a store kept it (`as_str`'s text), for an event queued before sealing.
    pub fn stored(text: String) -> Actor {
        Actor(text)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Something to append; the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub action: String,
    /// What it happened to, as `kind:id` (`application:…`, `user:…`, `pass:…`).
    pub subject: String,
    pub data: Value,
}

impl AuditEvent {
    pub fn new(at: OffsetDateTime, actor: Actor, action: &str, subject: String, data: Value) -> AuditEvent {
        AuditEvent {
            at,
            actor,
            action: action.into(),
            subject,
            data,
        }
    }

    /// A decision on an application (by the policy or a reviewer).
    pub fn decided(
        at: OffsetDateTime,
        actor: Actor,
        application: impl std::fmt::Display,
        status: &str,
        decision: &Decision,
        pass: Option<String>,
    ) -> AuditEvent {
        let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
        AuditEvent::new(
            at,
            actor,
            action::APPLICATION_DECIDED,
            format!("application:{application}"),
            serde_json::json!({
                "status": status,
                "reasons": codes,
                "policy_version": decision.policy_version,
                "pass_id": pass,
            }),
        )
    }

    /// A reviewer's decision (`pending_pass`: approved, its pass still to be signed).
    pub fn reviewed(
        at: OffsetDateTime,
        reviewer: UserId,
        application: impl std::fmt::Display,
        decision: &Decision,
        pass: Option<String>,
        pending_pass: bool,
    ) -> AuditEvent {
        let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
        AuditEvent::new(
            at,
            Actor::user(reviewer),
            action::APPLICATION_REVIEWED,
            format!("application:{application}"),
            serde_json::json!({
                "outcome": decision.outcome.as_str(),
                "reasons": codes,
                "pass_id": pass,
                "pass_pending": pending_pass,
            }),
        )
    }

    /// A reviewer's claim on an application.
    pub fn review_claimed(
        at: OffsetDateTime,
        reviewer: UserId,
        application: impl std::fmt::Display,
        lease_until: OffsetDateTime,
    ) -> AuditEvent {
        AuditEvent::new(
            at,
            Actor::user(reviewer),
            action::REVIEW_CLAIMED,
            format!("application:{application}"),
            serde_json::json!({ "lease_until_ms": unix_ms(lease_until) }),
        )
    }

    /// A reviewer asked the applicant for information (message `message`).
    pub fn info_requested(
        at: OffsetDateTime,
        reviewer: UserId,
        application: impl std::fmt::Display,
        message: impl std::fmt::Display,
    ) -> AuditEvent {
        AuditEvent::new(
            at,
            Actor::user(reviewer),
            action::INFO_REQUESTED,
            format!("application:{application}"),
            serde_json::json!({ "message_id": message.to_string() }),
        )
    }

    /// The applicant answered; the application is back in the review queue.
    pub fn info_provided(
        at: OffsetDateTime,
        applicant: UserId,
        application: impl std::fmt::Display,
        message: impl std::fmt::Display,
    ) -> AuditEvent {
        AuditEvent::new(
            at,
            Actor::user(applicant),
            action::INFO_PROVIDED,
            format!("application:{application}"),
            serde_json::json!({ "message_id": message.to_string() }),
        )
    }

    /// A policy put in force: its version, its place in the policy history and the
    /// SHA-256 of its text (the text itself is kept in the policy history).
    pub fn policy_changed(at: OffsetDateTime, actor: Actor, seq: i64, version: &str, source: &str) -> AuditEvent {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(source.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        AuditEvent::new(
            at,
            actor,
            action::POLICY_CHANGED,
            format!("policy:{seq}"),
            serde_json::json!({ "version": version, "sha256": hex }),
        )
    }

    /// A role granted to a user.
    pub fn role_granted(at: OffsetDateTime, actor: Actor, user: UserId, grant: &RoleGrant) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::ROLE_GRANTED,
            format!("user:{user}"),
            serde_json::json!({ "role": grant.role.as_str(), "districts": grant.districts }),
        )
    }

    /// A role taken away from a user.
    pub fn role_revoked(at: OffsetDateTime, actor: Actor, user: UserId, role: crate::ports::Role) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::ROLE_REVOKED,
            format!("user:{user}"),
            serde_json::json!({ "role": role.as_str() }),
        )
    }

    /// An admin's application search. The value is kept in clear: an auditor looking for
    /// misuse (who looked up this person?) needs it, and the audit log is readable only by
    /// admins and analysts, who can see the same data through the search anyway.
    pub fn admin_search(at: OffsetDateTime, actor: Actor, field: &str, value: &str, hits: usize) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::ADMIN_SEARCH,
            format!("search:{field}"),
            serde_json::json!({ "field": field, "value": value, "hits": hits }),
        )
    }

    /// A pass revoked by an admin or a police supervisor.
    pub fn pass_revoked(
        at: OffsetDateTime,
        actor: Actor,
        pass: impl std::fmt::Display,
        application: impl std::fmt::Display,
        reason: &str,
    ) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::PASS_REVOKED,
            format!("pass:{pass}"),
            serde_json::json!({ "reason": reason, "application_id": application.to_string() }),
        )
    }

    /// A dead job put back in the queue as job `replayed_as`.
    pub fn dlq_replayed(
        at: OffsetDateTime,
        actor: Actor,
        dead: impl std::fmt::Display,
        replayed_as: impl std::fmt::Display,
        kind: &str,
    ) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::DLQ_REPLAYED,
            format!("job:{dead}"),
            serde_json::json!({ "kind": kind, "replayed_as": replayed_as.to_string() }),
        )
    }

    /// A checkpoint created by an admin.
    pub fn checkpoint_created(actor: Actor, checkpoint: &crate::checkpoint::Checkpoint) -> AuditEvent {
        AuditEvent::new(
            checkpoint.created_at,
            actor,
            action::CHECKPOINT_CREATED,
            format!("checkpoint:{}", checkpoint.id),
            serde_json::json!({
                "name": checkpoint.name,
                "area": checkpoint.area,
                // Text, not JSON numbers: every backend stores it digit for digit.
                "position": format!("{:.6},{:.6}", checkpoint.lat, checkpoint.lon),
            }),
        )
    }

    /// A checkpoint deleted by an admin.
    pub fn checkpoint_deleted(at: OffsetDateTime, actor: Actor, checkpoint: impl std::fmt::Display) -> AuditEvent {
        AuditEvent::new(
            at,
            actor,
            action::CHECKPOINT_DELETED,
            format!("checkpoint:{checkpoint}"),
            serde_json::json!({}),
        )
    }

    /// The entry with sequence number `seq` after the entry whose hash is `prev_hash`.
    /// The instant is kept to the millisecond, as stored.
    pub fn seal(self, seq: i64, prev_hash: &str) -> AuditEntry {
        let at_ms = unix_ms(self.at);
        let hash = entry_hash(
            seq,
            at_ms,
            self.actor.as_str(),
            &self.action,
            &self.subject,
            &self.data,
            prev_hash,
        );
        AuditEntry {
            seq,
            at: from_unix_ms(at_ms),
            actor: self.actor.0,
            action: self.action,
            subject: self.subject,
            data: self.data,
            prev_hash: prev_hash.into(),
            hash,
        }
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub data: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Unix milliseconds, the unit of `at` in the hash.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The hash of an entry, lowercase hex SHA-256 over: the tag `mpass-audit-v1`, `seq` and
/// `at_ms` as 8-byte big-endian integers, then actor, action, subject, the canonical JSON
/// of `data` (object keys sorted, no whitespace) and `prev_hash`, each as an 8-byte
/// big-endian length followed by its UTF-8 bytes (so no field can bleed into the next).
pub fn entry_hash(
    seq: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    subject: &str,
    data: &Value,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"mpass-audit-v1");
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    let data = canonical_json(data);
    for field in [actor, action, subject, data.as_str(), prev_hash] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level and no insignificant whitespace, whatever
/// key order the value was built or stored with.
pub fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// What is wrong with the chain at an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {problem}")]
pub struct ChainError {
    /// The first entry that does not verify (for a gap: the sequence number expected).
    pub seq: i64,
    pub problem: ChainProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    /// An entry is missing or out of order.
    #[error("expected seq {expected}, found {found} (an entry was removed or reordered)")]
    Sequence { expected: i64, found: i64 },
    /// The entry does not point at the hash of the one before it.
    #[error("prev_hash does not match the previous entry (an entry was removed, reordered or replaced)")]
    Link,
    /// The entry's content does not match its hash.
    #[error("hash does not match the entry's content (the entry was edited)")]
    Content,
}

/// Checks entries one by one, in order, from seq 1: for a chain read in pages.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            prev_hash: GENESIS_HASH.into(),
        }
    }
}

impl ChainVerifier {
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// Entries verified so far.
    pub fn count(&self) -> i64 {
        self.next_seq - 1
    }

    /// The hash of the last verified entry.
    pub fn last_hash(&self) -> &str {
        &self.prev_hash
    }

    /// Checks the next entry of the chain.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainError> {
        let fail = |problem| Err(ChainError { seq: e.seq, problem });
        if e.seq != self.next_seq {
            return Err(ChainError {
                seq: self.next_seq,
                problem: ChainProblem::Sequence {
                    expected: self.next_seq,
                    found: e.seq,
                },
            });
        }
        if e.prev_hash != self.prev_hash {
            return fail(ChainProblem::Link);
        }
        let expected = entry_hash(
            e.seq,
            unix_ms(e.at),
            &e.actor,
            &e.action,
            &e.subject,
            &e.data,
            &e.prev_hash,
        );
        if expected != e.hash {
            return fail(ChainProblem::Content);
        }
        self.next_seq += 1;
        self.prev_hash = e.hash.clone();
        Ok(())
    }
}

/// Verifies a whole chain, from seq 1, in order.
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<(), ChainError> {
    let mut v = ChainVerifier::new();
    entries.into_iter().try_for_each(|e| v.push(e))
}

#[cfg(test)]
mod tests;
