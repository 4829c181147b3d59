-- SPEC §12 legacy /v1 API: pre-signed upload names already used (one PUT per URL), and
-- the legacy numbers and photo URL of users who registered through /v1.
CREATE TABLE legacy_uploads (
    name text PRIMARY KEY,
    used_at bigint NOT NULL
);
CREATE TABLE legacy_registrations (
    user_id uuid PRIMARY KEY,
    district integer NOT NULL,
    thana integer NOT NULL,
    photo_url text NOT NULL,
    created_at bigint NOT NULL
);
