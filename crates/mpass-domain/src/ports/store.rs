//! The system of record's port: the `Store` trait, every method durable before it returns.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::application::{Application, Status};
use crate::audit::{Actor, AuditEntry, AuditEvent};
use crate::checkpoint::Checkpoint;
use crate::ids::{ApplicationId, CheckpointId, JobId, MessageId, PassId, ScanId, UserId};
use crate::language::Language;
use crate::phone::Phone;
use crate::profile::Profile;
use crate::scan::{Scan, ScanRecorded, TravelPoint};
use crate::stats::scans::{ScanCountRow, ScanQuery};
use crate::stats::{BulkApplication, CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

/// How long a store's durable commits waited for the disk: one observation per sync that
/// acknowledgements wait on, as a cumulative histogram (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncTimes {
    /// Upper bounds of the buckets, seconds, increasing.
    pub le_secs: &'static [f64],
    /// Syncs that took at most the bound of the same index.
    pub cumulative: Vec<u64>,
    /// Every sync.
    pub count: u64,
    /// Their total time, seconds.
    pub sum_secs: f64,
}

/// The system of record. Every write is durable (committed) before the call returns.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the backend answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// The disk syncs this process's acknowledgements waited on, where the store makes
    /// them itself (the embedded store's WAL); `None` where the database server does.
    fn sync_times(&self) -> Option<SyncTimes> {
        None
    }

    // --- identity
    /// Records an OTP send if the per-phone limits allow, and enqueues its SMS job.
    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>>;
    /// Checks a code, counting the attempt; a valid code is consumed.
    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck>;
    /// The user with this phone, created on first login.
    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>>;
    /// Grants a role (replacing the districts of an earlier grant of it), audited as `actor`.
    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()>;
    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()>;
    /// Consumes a live refresh token and stores its successor; `None` if it was not live.
    /// Reuse of an already rotated token revokes the whole family (theft detection).
    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>>;
    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()>;

    // --- profile
    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>>;
    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()>;
    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()>;

    // --- applications
    /// Stores an application and its decision job in one transaction.
    async fn submit_application(&self, app: NewApplication) -> StoreResult<SubmitOutcome>;
    async fn application(&self, id: ApplicationId) -> StoreResult<Option<Application>>;
    /// The user's applications, newest first, strictly older than `before` when given.
    async fn applications_of(
        &self,
        user: UserId,
        before: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>>;
    /// Cancels if the owner matches and the status allows. Returns the application as it now
    /// is and whether this call cancelled it; `None` if it is not the owner's (or absent).
    /// A cancellation is audited with the owner as actor.
    async fn cancel_application(
        &self,
        id: ApplicationId,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Application, bool)>>;
    async fn applicant_facts(&self, app: &Application, window_start: OffsetDateTime) -> StoreResult<ApplicantFacts>;
    /// Everything the decision of application `id` needs, read together: the application
    /// and, while it is still `submitted`, the applicant's profile, user, notification
    /// language and the policy facts (the weekly window ending at the trip's start). Each
    /// backend reads them in one place (one connection, on the primary where there is a
    /// replica), so it has no default made of the other methods.
    async fn decision_inputs(&self, id: ApplicationId, weekly_window: time::Duration) -> StoreResult<DecisionInputs>;

    /// Records a decision only if the application is still `submitted`: duplicate or
    /// late deliveries of a decision job change nothing. Returns whether it was recorded.
    /// A recorded decision is audited (actor `system`) in the same transaction.
    async fn record_decision(&self, d: DecisionRecord) -> StoreResult<bool>;

    // --- review queue (SPEC §6)
    /// Applications `in_review` whose district is in `districts` and that no reviewer has
    /// approved yet, oldest first.
    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>>;
    /// Claims an application for `reviewer` for `lease_secs`, in one conditional update: it
    /// succeeds only while the application is in review, not yet approved, and unclaimed,
    /// its lease expired, or already held by `reviewer` (a renewal). Audited.
    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome>;
    /// Records a reviewer's decision, only for the holder of an unexpired lease, with the
    /// pass (if any), the jobs and the audit entry (`application.reviewed`) in one
    /// transaction.
    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome>;
    /// Attaches a worker-signed pass to an application a reviewer approved without one: it
    /// becomes `approved`. Idempotent: returns false (changing nothing) unless the
    /// application is still in review with that approval pending.
    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool>;

    // --- passes
    async fn pass(&self, id: PassId) -> StoreResult<Option<PassRecord>>;
    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>>;
    /// The pass named by `key`, its application's status and (when `travel_at` is given,
    /// the time of a scan with a position) its scans that impossible travel compares with
    /// one made then ([`Store::travel_points`]): what an online check reads. The default
    /// asks the other methods; a backend may answer from one read transaction.
    async fn pass_check(&self, key: PassKey, travel_at: Option<OffsetDateTime>) -> StoreResult<PassCheck> {
        let pass = match &key {
            PassKey::Id(id) => self.pass(*id).await?,
            PassKey::ShortCode(code) => self.pass_by_short_code(code).await?,
        };
        let status = match &pass {
            Some(p) => self.application(p.application_id).await?.map(|a| a.status),
            None => None,
        };
        let id = match key {
            PassKey::Id(id) => Some(id),
            PassKey::ShortCode(_) => pass.as_ref().map(|p| p.id),
        };
        let earlier = match (id, travel_at) {
            (Some(id), Some(at)) => self.travel_points(id, at).await?,
            _ => Vec::new(),
        };
        Ok(PassCheck { pass, status, earlier })
    }
    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)>;
    /// Revokes a pass (admin or police supervisor), in one transaction: the application
    /// becomes `revoked`, the pass joins the revocation list with `reason`, `jobs` (the
    /// holder's SMS) are enqueued and `pass.revoked` is audited with `actor` as its actor.
    /// A cancelled or already revoked application changes nothing.
    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome>;

    // --- audit log (SPEC §10)
    /// Appends an event at the end of the hash chain, in its own transaction. Changes that
    /// are audited (decisions, cancellations, grants) append inside their own transaction;
    /// a store shared by many nodes may queue those entries there and chain them later
    /// ([`Store::audit_seal`]), but never loses one that committed.
    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry>;
    /// Entries with `seq > after_seq`, in chain order: every entry committed before the
    /// call, queued ones sealed first.
    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Chains the entries audited changes queued (how many). Each node calls it every few
    /// hundred milliseconds. A store that chains every entry in the transaction that
    /// makes it (the embedded one, with its single writer) has nothing to do.
    async fn audit_seal(&self) -> StoreResult<usize> {
        Ok(0)
    }

    // --- dev SMS outbox
    async fn outbox_push(&self, to: &str, body: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// The newest `limit` messages, newest first; with `to` (E.164), only those sent to it.
    async fn outbox_list(&self, to: Option<&str>, limit: u32) -> StoreResult<Vec<OutboxMessage>>;

    // --- job table (the embedded queue and the outbox relay read it)
    /// Leases up to `max` due jobs for `lease_secs`.
    async fn jobs_lease(&self, max: u32, now: OffsetDateTime, lease_secs: i64) -> StoreResult<Vec<Job>>;
    async fn job_done(&self, id: JobId) -> StoreResult<()>;
    async fn job_retry(&self, id: JobId, run_at: OffsetDateTime, error: &str) -> StoreResult<()>;
    async fn job_dead(&self, id: JobId, error: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn jobs_depth(&self) -> StoreResult<(u64, u64)>;
    /// Counts of applications by status, for metrics: read from the statistics counters
    /// (kept in the same transactions as the applications), so a scrape costs the same at
    /// any number of applications. `stats_counts_direct` counts the table itself.
    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>>;

    // --- information requests (SPEC §6)
    /// The lease holder asks the applicant a question: the application becomes
    /// `info_requested` and leaves the queue (its claim released); the question is the
    /// thread's next message; jobs and the audit entry go in the same transaction.
    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome>;
    /// The applicant answers: the message is stored and the application returns to the
    /// review queue (`in_review`, unclaimed, at its original place), audited.
    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome>;
    /// The thread of an application, oldest first.
    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>>;

    // --- policy history (SPEC §6 reload without restart)
    /// Puts a policy in force for every node (they poll [`Store::policy_latest`]); audited
    /// as `policy.changed`. Returns its sequence number, or `None` (writing nothing) when
    /// the newest policy already has this version: nodes and operators that adopt the same
    /// file at once record it once.
    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>>;
    /// The newest policy put in force, if its sequence number is above `after_seq`.
    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>>;
    /// Applications submitted in `[from, to)`, in id order after `after`, for replays
    /// (`mpass policy test`). A scan: for the console, not for requests.
    async fn applications_submitted_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>>;
    // --- notifications: the citizen's language and the dead-letter tools (SPEC §11)
    /// The language the user chose for messages; `None` until they choose one.
    async fn user_language(&self, user: UserId) -> StoreResult<Option<Language>>;
    /// Remembers the user's language for messages (nothing happens for an unknown user).
    async fn set_user_language(&self, user: UserId, language: Language) -> StoreResult<()>;
    /// Dead jobs (of `kind` when given), most recently failed first.
    async fn dead_jobs(&self, kind: Option<&str>, limit: u32) -> StoreResult<Vec<DeadJob>>;
    /// Moves a dead job back into the job table, in one transaction with its audit entry
    /// (`dlq.replayed`, by `actor`): a new job with the same kind and payload, a new id and
    /// no attempts, due at `now`, so every queue backend runs it again (on NATS the relay
    /// publishes it; a new id keeps the stream's duplicate window from dropping it).
    /// Returns the new job's id; `None` when there is no such dead job.
    async fn dead_job_replay(&self, id: JobId, actor: Actor, now: OffsetDateTime) -> StoreResult<Option<JobId>>;

    // --- statistics (issue 7, SPEC §9): counters moved in the transaction of every status
    // change (submit, decisions, reviews, information requests, cancel, revoke), so they
    // always agree with the rows; reads never touch the applications table.
    /// Sums of the counters for `q`.
    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>>;
    /// The same answer counted directly from the applications table: a scan, for checks
    /// (`mpass stats check`, tests), never for requests.
    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>>;
    /// First-decision latencies for `q`, from the histogram counters.
    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram>;
    /// The same histogram computed from the applications table (a scan, for checks).
    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram>;
    /// Recomputes every counter from the source tables, in one transaction.
    async fn stats_rebuild(&self) -> StoreResult<RebuildReport>;
    /// Moves counter changes that status changes left pending into the counters (how
    /// many), without changing any answer: a store shared by many nodes may let changes
    /// wait there so that concurrent changes do not queue on a counter row's lock; every
    /// node calls it every few hundred milliseconds. A store that counts into the counters
    /// directly (the embedded one, with its single writer) has nothing to do.
    async fn stats_fold(&self) -> StoreResult<u64> {
        Ok(0)
    }
    /// Reclaims the dead rows a store shared by many nodes leaves in its queue-like tables
    /// (jobs, queued audit entries, pending counter changes, login codes), which every
    /// lease, seal and fold would otherwise read past. Every node calls it every few
    /// hundred milliseconds; the store decides how often it works. The embedded store
    /// reuses freed pages as it goes and has nothing to do.
    async fn tidy(&self) -> StoreResult<()> {
        Ok(())
    }
    /// Stores synthetic applications (with their users and passes) as they are, in one
    /// transaction, without moving the counters: `mpass demo` rebuilds them afterwards.
    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()>;
    /// Sums of the scan counters for `q` (moved in the transaction of `scan_record`).
    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>>;
    /// The same answer counted directly from the scan log (a scan of the table, for checks).
    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>>;
    /// Stores synthetic scans as they are, in one transaction, without moving the counters
    /// (`mpass demo` rebuilds them afterwards).
    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()>;
    // --- police verification: checkpoints and scans (SPEC §8, issue 6)
    /// Stores a new checkpoint, audited `checkpoint.created` with `actor`.
    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()>;
    /// Every checkpoint not deleted, by name.
    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;
    /// Every checkpoint ever created, with when it was deleted if it was (so statistics
    /// can name the checkpoints of old scans).
    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>>;
    /// One checkpoint, unless deleted.
    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>>;
    /// Deletes a checkpoint (scans keep its id), audited `checkpoint.deleted`; false if it
    /// did not exist or was already deleted.
    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool>;
    /// Logs a scan and counts it in the scan statistics, in one transaction. A scan with a
    /// `client_id` the same officer uploaded before is not logged (nor counted) again: the
    /// first one is returned.
    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded>;
    /// An online check's read and its scan log in one step: reads what
    /// [`Store::pass_check`] reads for `key` (nothing without one), hands it to `decide`,
    /// and logs the scan `decide` makes as [`Store::scan_record`] does; `None`, logging
    /// nothing, when `decide` makes none; a panic in `decide` is an error of this step. The
    /// default does these in turn; the embedded store runs all of it as one operation of
    /// its writer.
    async fn check_and_log(
        &self,
        key: Option<PassKey>,
        travel_at: Option<OffsetDateTime>,
        decide: ScanDecider,
    ) -> StoreResult<Option<ScanRecorded>> {
        let known = match key {
            Some(key) => self.pass_check(key, travel_at).await?,
            None => PassCheck::default(),
        };
        // As on the embedded store's writer: a panic in `decide` fails this step only.
        let scan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(known)))
            .map_err(|_| StoreError::Backend("the scan decision panicked".into()))?;
        match scan {
            Some(scan) => self.scan_record(&scan).await.map(Some),
            None => Ok(None),
        }
    }
    /// The scans of a pass that impossible travel compares with one made at `at`: those
    /// with a position, made within [`crate::scan::TRAVEL_HORIZON`] of `at`, the latest
    /// first, at most [`crate::scan::TRAVEL_HISTORY`]. The stores keep an index of only
    /// these (pass, scan time, position): a scan without a position is logged without
    /// touching it.
    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>>;
    /// Scans newest first (by id), only flagged ones if asked, strictly older than `before`.
    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>>;

    // --- legacy /v1 API (SPEC §12)
    /// Marks the pre-signed upload `name` as used; `true` only for its first use, so a
    /// pre-signed URL uploads once even when two requests race.
    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Records a legacy registration of `user` once; `false` (changing nothing) when the
    /// user already has one (a duplicate registration, or a racing one).
    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &crate::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// The legacy registration of `user`, if they registered through `/v1`.
    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<crate::legacy::LegacyRegistration>>;

    // --- admin pages (issue 7): role grants, revoking, audited application search
    /// Every non-citizen grant with the holder's phone, by role then phone.
    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>>;
    /// Removes a role from a user and audits `role.revoked` in one transaction; false (and
    /// no audit entry) when the user did not hold it.
    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool>;
    /// Finds applications by the applicant's phone, document number (any document type) or
    /// id, newest first, at most `limit`. Appends `admin.search` (actor, field, value, hits)
    /// to the audit log in the same transaction, before the result is returned: a search
    /// that is not logged is not run.
    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;
}
