-- Login codes are leased before other jobs (jobs.rs `lease`): they need an index by kind.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at);
