-- Leasing (jobs.rs `lease`) walked the due index from the oldest job past every job leased
-- and not yet done (the NATS relay keeps up to 10,000 in flight), reading each one's row
-- to see its lease running: about 10 ms a round under load. The jobs not leased now have
-- indexes of their own, and the leased ones one by the lease's end, for leases that run
-- out (handed back before each lease).
DROP INDEX jobs_due;
DROP INDEX jobs_kind_due;
CREATE INDEX jobs_free ON jobs (run_at) WHERE locked_until = 0;
CREATE INDEX jobs_free_kind ON jobs (kind, run_at) WHERE locked_until = 0;
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE locked_until > 0;
