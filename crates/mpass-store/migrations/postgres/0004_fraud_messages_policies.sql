-- Movement Pass on PostgreSQL, version 4.
--
-- SPEC §6 fraud checks: vehicle_reg is the registration's letters and digits, upper case
-- (Vehicle::registration_key); only approved passes are looked up by it, so the index is
-- partial and submissions do not pay for it.
ALTER TABLE applications ADD COLUMN vehicle_reg text;
UPDATE applications SET vehicle_reg = upper(replace(replace(details->'vehicle'->>'registration', '-', ''), ' ', ''))
    WHERE details->'vehicle'->>'registration' IS NOT NULL;
CREATE INDEX applications_vehicle_approved ON applications (vehicle_reg, start_at)
    WHERE status = 'approved' AND vehicle_reg IS NOT NULL;

-- SPEC §6 information requests: the thread between reviewers and the applicant.
CREATE TABLE application_messages (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    author_id uuid NOT NULL,
    author_role text NOT NULL,
    body text NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX application_messages_app ON application_messages (application_id, created_at);

-- SPEC §6 policy reload: every policy put in force, newest last; nodes poll the newest.
CREATE TABLE policies (
    seq bigserial PRIMARY KEY,
    version text NOT NULL,
    source text NOT NULL,
    created_at bigint NOT NULL
);
