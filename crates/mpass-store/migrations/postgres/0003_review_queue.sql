-- Movement Pass on PostgreSQL, version 3: the review queue of SPEC §6.
--
-- review_district is set when the policy sends an application to review (the district of
-- its from-thana); a claim is review_claimed_by + review_lease_until (unix ms), taken by a
-- single conditional UPDATE so two reviewers never both hold it; review_outcome is
-- 'approve' while a reviewer's approval waits for a worker to sign its pass.

ALTER TABLE applications ADD COLUMN review_district text;
ALTER TABLE applications ADD COLUMN review_claimed_by uuid;
ALTER TABLE applications ADD COLUMN review_lease_until bigint;
ALTER TABLE applications ADD COLUMN review_outcome text;
CREATE INDEX applications_review ON applications (status, review_district, submitted_at, id);
