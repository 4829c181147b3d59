-- SPEC §9 scan statistics (see src/stats_sql/scans.rs): scans by hour, district,
-- checkpoint and result, counted in the transaction that logs each scan. scans.area is the
-- thana where the scan was made (the checkpoint's, else the thana nearest to the position);
-- rows logged before this migration get their checkpoint's, or none. `shard` (0-7, from
-- the scan id) spreads concurrent scans at one busy checkpoint over several rows.
ALTER TABLE scans ADD COLUMN area text;
UPDATE scans s SET area = c.area FROM checkpoints c WHERE c.id = s.checkpoint_id;
CREATE TABLE stats_scans_hourly (
    hour bigint NOT NULL,
    district text NOT NULL,
    checkpoint text NOT NULL,
    result text NOT NULL,
    shard smallint NOT NULL DEFAULT 0,
    n bigint NOT NULL,
    PRIMARY KEY (hour, district, checkpoint, result, shard)
);
-- "Scans near a point" prefilters checkpoints by a latitude/longitude box.
CREATE INDEX checkpoints_position ON checkpoints (lat, lon);
INSERT INTO stats_scans_hourly (hour, district, checkpoint, result, n)
    SELECT scanned_at / 3600000, coalesce(substr(area, 1, 4), ''), coalesce(checkpoint_id::text, ''), result, count(*)
    FROM scans GROUP BY 1, 2, 3, 4;
