-- SPEC §11: the language of a citizen's SMS ('en' or 'bn'); NULL until they choose one,
-- and then messages go out in Bangla. Dead jobs are listed newest failure first.
ALTER TABLE users ADD COLUMN language text;
CREATE INDEX dead_jobs_failed ON dead_jobs (failed_at DESC, id DESC);
