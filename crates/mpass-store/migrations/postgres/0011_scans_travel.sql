-- Impossible travel reads only scans with a position (verification.rs `travel_points`):
-- index only those, with what it reads (a covering index). A scan without a position no
-- longer inserts into an index keyed by pass, whose leaf is a random page per scan.
DROP INDEX scans_pass;
CREATE INDEX scans_travel ON scans (pass_id, scanned_at) INCLUDE (lat, lon, id)
    WHERE pass_id IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL;
