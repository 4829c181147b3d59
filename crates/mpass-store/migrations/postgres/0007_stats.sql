-- SPEC §9 statistics (see src/stats_sql.rs): counters moved in the transaction of every
-- status change. `shard` (0-7, from the application id) spreads concurrent updates of one
-- hot key (same hour, district, reason, status) over several rows; sums ignore it.
-- decided_at is when the policy's first decision was recorded (latency histogram).
ALTER TABLE applications ADD COLUMN decided_at bigint;
CREATE TABLE stats_thana_hourly (
    hour bigint NOT NULL,
    area text NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    has_pass smallint NOT NULL,
    shard smallint NOT NULL DEFAULT 0,
    n bigint NOT NULL,
    PRIMARY KEY (hour, area, reason, status, has_pass, shard)
);
CREATE TABLE stats_district_hourly (
    hour bigint NOT NULL,
    area text NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    has_pass smallint NOT NULL,
    shard smallint NOT NULL DEFAULT 0,
    n bigint NOT NULL,
    PRIMARY KEY (hour, area, reason, status, has_pass, shard)
);
CREATE TABLE stats_latency_hourly (
    hour bigint NOT NULL,
    area text NOT NULL,
    bucket smallint NOT NULL,
    shard smallint NOT NULL DEFAULT 0,
    n bigint NOT NULL,
    PRIMARY KEY (hour, area, bucket, shard)
);
-- Count what is already there, so an upgraded database starts with true counters.
INSERT INTO stats_thana_hourly (hour, area, reason, status, has_pass, n)
    SELECT submitted_at / 3600000, details->'from'->>'area', details->>'reason', status,
           CASE WHEN pass_id IS NULL THEN 0 ELSE 1 END, count(*)
    FROM applications GROUP BY 1, 2, 3, 4, 5;
INSERT INTO stats_district_hourly (hour, area, reason, status, has_pass, n)
    SELECT hour, substr(area, 1, 4), reason, status, has_pass, sum(n) FROM stats_thana_hourly GROUP BY 1, 2, 3, 4, 5;
