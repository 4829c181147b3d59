-- Movement Pass on PostgreSQL, version 5: police checkpoints and the scan log (SPEC §8).
--
-- A deleted checkpoint keeps its row (deleted_at) so old scans still name it. client_id
-- makes offline uploads idempotent per officer; reasons is a JSON array of reason codes;
-- flagged marks impossible travel. Scans are append-mostly and keyed by UUIDv7, so the
-- table partitions by id range (time) when it grows.

CREATE TABLE checkpoints (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    area text NOT NULL,
    created_at bigint NOT NULL,
    deleted_at bigint
);

CREATE TABLE scans (
    id uuid PRIMARY KEY,
    client_id uuid,
    officer uuid NOT NULL,
    pass_id uuid,
    checkpoint_id uuid,
    lat double precision,
    lon double precision,
    result text NOT NULL,
    reasons jsonb NOT NULL,
    device_result text,
    scanned_at bigint NOT NULL,
    received_at bigint NOT NULL,
    source text NOT NULL,
    flagged boolean NOT NULL
);
CREATE UNIQUE INDEX scans_client ON scans (officer, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX scans_pass ON scans (pass_id, scanned_at) WHERE pass_id IS NOT NULL;
CREATE INDEX scans_flagged ON scans (id) WHERE flagged;
