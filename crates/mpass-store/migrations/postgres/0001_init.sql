-- Movement Pass on PostgreSQL, version 1: the same tables as the SQLite store.
--
-- Applied once by PostgresStore::connect inside a transaction that holds an advisory lock,
-- and recorded in schema_migrations. Never edit this file once released: add 0002_*.sql.
--
-- Choices (see src/postgres/mod.rs): ids are native `uuid` (UUIDv7, 16 bytes, byte order
-- = time order, so the primary key index is append-mostly); instants are BIGINT unix
-- milliseconds like SQLite; JSON documents are `jsonb`; no foreign keys, so tables can be
-- partitioned or moved to a distributed PostgreSQL-compatible database independently.

CREATE TABLE users (
    id uuid PRIMARY KEY,
    phone text NOT NULL UNIQUE,
    created_at bigint NOT NULL
);

CREATE TABLE role_grants (
    user_id uuid NOT NULL,
    role text NOT NULL,
    districts jsonb NOT NULL,
    granted_at bigint NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- One row per phone: the live code, and the row that serialises concurrent sends.
CREATE TABLE otp_codes (
    phone text PRIMARY KEY,
    code_hash text NOT NULL,
    expires_at bigint NOT NULL,
    attempts integer NOT NULL
);

CREATE TABLE otp_sends (
    phone text NOT NULL,
    sent_at bigint NOT NULL
);
CREATE INDEX otp_sends_phone ON otp_sends (phone, sent_at);

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL,
    family text NOT NULL,
    expires_at bigint NOT NULL,
    rotated_at bigint,
    revoked_at bigint
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE profiles (
    user_id uuid PRIMARY KEY,
    data jsonb NOT NULL,
    id_type text NOT NULL,
    id_number text NOT NULL,
    photo_key text,
    photo_content_type text,
    updated_at bigint NOT NULL
);
CREATE INDEX profiles_document ON profiles (id_type, id_number);

CREATE TABLE applications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    status text NOT NULL,
    details jsonb NOT NULL,
    start_at bigint NOT NULL,
    end_at bigint NOT NULL,
    decision jsonb,
    pass_id uuid,
    submitted_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX applications_user ON applications (user_id, id);
CREATE INDEX applications_user_status_start ON applications (user_id, status, start_at);

CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL,
    key text NOT NULL,
    body_hash text NOT NULL,
    application_id uuid NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE passes (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL UNIQUE,
    user_id uuid NOT NULL,
    short_code text NOT NULL UNIQUE,
    data jsonb NOT NULL
);

-- seq is handed out and committed in order (writers take an EXCLUSIVE table lock), so a
-- device that synced up to seq N never misses a revocation numbered below N.
CREATE TABLE revocations (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pass_id uuid NOT NULL,
    reason text NOT NULL,
    revoked_at bigint NOT NULL
);

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    payload text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    run_at bigint NOT NULL,
    locked_until bigint NOT NULL DEFAULT 0,
    last_error text,
    created_at bigint NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);

CREATE TABLE dead_jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    payload text NOT NULL,
    attempts integer NOT NULL,
    last_error text NOT NULL,
    failed_at bigint NOT NULL
);

CREATE TABLE sms_outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_phone text NOT NULL,
    body text NOT NULL,
    created_at bigint NOT NULL
);
