-- Application and latency counter changes, waiting to be folded into the counters
-- (src/postgres/stats.rs). A status change used to upsert its counter rows in its own
-- transaction, so concurrent changes under one key (the same hour, thana, reason and
-- status: a launch day's busiest thana) queued on those rows' locks until each committed.
-- Now it appends its changes here, which locks nothing another writer needs, and every
-- node folds them into the counters a few times a second. Reads sum both tables, so every
-- answer counts every committed change, folded or not.
CREATE TABLE stats_thana_pending (
    hour bigint NOT NULL,
    area text NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    has_pass smallint NOT NULL,
    n bigint NOT NULL
);
CREATE TABLE stats_district_pending (
    hour bigint NOT NULL,
    area text NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    has_pass smallint NOT NULL,
    n bigint NOT NULL
);
CREATE TABLE stats_latency_pending (
    hour bigint NOT NULL,
    area text NOT NULL,
    bucket smallint NOT NULL,
    n bigint NOT NULL
);
