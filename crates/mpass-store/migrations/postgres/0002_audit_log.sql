-- Movement Pass on PostgreSQL, version 2: the hash-chained audit log of SPEC §10.
--
-- seq is assigned as last + 1 under an advisory transaction lock (see src/postgres/audit.rs),
-- not from a sequence: a sequence leaves gaps on rollback, and a gap must mean a removed
-- entry. `data` is text, not jsonb, so the stored bytes are exactly the canonical JSON that
-- was hashed (jsonb would renormalise numbers). The trigger stops accidental edits; the
-- chain is what detects deliberate ones (`mpass audit verify`).

CREATE TABLE audit_log (
    seq bigint PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    data text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
