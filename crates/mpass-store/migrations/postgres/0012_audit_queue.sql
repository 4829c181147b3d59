-- Movement Pass on PostgreSQL, version 12: audited changes queue their entry, and a sealer
-- chains the queue (see src/postgres/audit.rs).
--
-- Until now each audited transaction (a decision, a revocation, a grant) took the chain's
-- advisory lock to read the last entry, and held it through its commit: every decision of
-- every worker waited for the commit of the one before it. Now it inserts its entry here,
-- with no lock, and commits it with the change it records; whichever node holds the lock
-- next moves queued entries into audit_log in queue order, each chained to the one before.
-- `data` is the canonical JSON text, as in audit_log.

CREATE TABLE audit_queue (
    id bigserial PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    data text NOT NULL
);
