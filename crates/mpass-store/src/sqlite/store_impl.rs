//! `Store` for `SqliteStore`: each method runs its SQL on the writer or a reader.

use async_trait::async_trait;
use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEntry, AuditEvent};
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{ApplicationId, CheckpointId, JobId, MessageId, PassId, ScanId, UserId};
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use mpass_domain::profile::Profile;
use mpass_domain::scan::{Scan, ScanRecorded, TravelPoint};
use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use mpass_domain::stats::scans::{ScanCountRow, ScanQuery};
use mpass_domain::stats::{BulkApplication, CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

use super::applications::PassColumn;
use super::{
    SqliteStore, applications as apps, audit, from_ms, identity as id, in_read_tx, jobs, legacy, ms, notify, stats,
    threads, verification,
};
use crate::stats_sql::Source;

#[async_trait]
impl Store for SqliteStore {
    fn sync_times(&self) -> Option<mpass_domain::ports::SyncTimes> {
        Some(self.syncs.snapshot())
    }

    async fn ping(&self) -> StoreResult<()> {
        if !self.writer_running() {
            return Err(StoreError::Unavailable("the SQLite writer has stopped".into()));
        }
        self.read(|c| c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(())))
            .await
    }

    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>> {
        let (phone, hash) = (phone.clone(), code_hash.to_string());
        self.write(move |c| id::otp_issue(c, &phone, &hash, &sms, ms(now)))
            .await
    }

    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck> {
        let (phone, hash) = (phone.clone(), code_hash.to_string());
        self.write(move |c| id::otp_check(c, &phone, &hash, ms(now))).await
    }

    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User> {
        let phone = phone.clone();
        self.write(move |c| id::user_by_phone_or_create(c, &phone, ms(now)))
            .await
    }

    async fn user(&self, user: UserId) -> StoreResult<Option<User>> {
        // Two key lookups (the user, their grants); every web page with a session makes
        // one, and the officers' page one per check: no hand-off to the blocking pool.
        self.read_point(move |c| id::user_by_id(c, user)).await
    }

    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        let phone = phone.clone();
        self.read(move |c| id::user_by_phone(c, &phone)).await
    }

    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()> {
        self.write(move |c| id::grant_role(c, user, &grant, actor, ms(now)))
            .await
    }

    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()> {
        let hash = token_hash.to_string();
        self.write(move |c| id::refresh_create(c, &hash, &hash, user, ms(expires)))
            .await
    }

    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>> {
        let (old, new) = (old_hash.to_string(), new_hash.to_string());
        self.write(move |c| id::refresh_rotate(c, &old, &new, ms(now), ms(expires)))
            .await
    }

    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        let hash = token_hash.to_string();
        self.write(move |c| id::refresh_revoke(c, &hash, ms(now))).await
    }

    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()> {
        self.write(move |c| id::refresh_revoke_user(c, user, ms(now))).await
    }

    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>> {
        self.read_point(move |c| id::profile(c, user)).await
    }

    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()> {
        let profile = profile.clone();
        self.write(move |c| id::put_profile(c, user, &profile, ms(now))).await
    }

    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()> {
        let (key, ct) = (key.to_string(), content_type.to_string());
        let updated = self.write(move |c| id::set_photo(c, user, &key, &ct, ms(now))).await?;
        if updated {
            Ok(())
        } else {
            Err(StoreError::Backend("photo set before the profile exists".into()))
        }
    }

    async fn submit_application(&self, app: NewApplication) -> StoreResult<SubmitOutcome> {
        self.write(move |c| apps::submit(c, &app)).await
    }

    async fn application(&self, app: ApplicationId) -> StoreResult<Option<Application>> {
        self.read_point(move |c| apps::get(c, app)).await
    }

    async fn applications_of(
        &self,
        user: UserId,
        before: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>> {
        self.read(move |c| apps::list(c, user, before, limit)).await
    }

    async fn cancel_application(
        &self,
        app: ApplicationId,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Application, bool)>> {
        self.write(move |c| apps::cancel(c, app, user, ms(now))).await
    }

    async fn applicant_facts(&self, app: &Application, window_start: OffsetDateTime) -> StoreResult<ApplicantFacts> {
        let app = app.clone();
        self.read(move |c| {
            let document =
                id::profile(c, app.user_id)?.map(|p| (p.profile.id_type.as_str().to_string(), p.profile.id_number));
            apps::facts(c, &app, ms(window_start), document)
        })
        .await
    }

    async fn decision_inputs(&self, id: ApplicationId, weekly_window: time::Duration) -> StoreResult<DecisionInputs> {
        // One read transaction instead of five: each would start on a page cache that the
        // writer's last commit invalidated.
        self.read_point(move |c| in_read_tx(c, |c| decision_inputs(c, id, weekly_window)))
            .await
    }

    async fn record_decision(&self, d: DecisionRecord) -> StoreResult<bool> {
        self.write(move |c| apps::record_decision(c, &d)).await
    }

    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>> {
        let districts = districts.to_vec();
        self.read(move |c| apps::review_queue(c, &districts, limit)).await
    }

    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome> {
        let until = ms(now) + lease_secs * 1000;
        self.write(move |c| apps::review_claim(c, app, reviewer, ms(now), until))
            .await
    }

    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome> {
        self.write(move |c| apps::review_decide(c, &d)).await
    }

    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool> {
        self.write(move |c| apps::review_issue_pass(c, &p)).await
    }

    async fn pass(&self, pass: PassId) -> StoreResult<Option<PassRecord>> {
        self.read_point(move |c| apps::pass(c, pass)).await
    }

    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>> {
        let code = code.to_string();
        self.read(move |c| apps::pass_by_short_code(c, &code)).await
    }

    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)> {
        self.read(move |c| apps::revocations_since(c, seq, limit)).await
    }

    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        let reason = reason.to_string();
        self.write(move |c| apps::revoke(c, pass, &reason, actor, &jobs, ms(now)))
            .await
    }

    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry> {
        self.write(move |c| audit::append(c, event)).await
    }

    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |c| audit::list(c, after_seq, limit)).await
    }

    async fn outbox_push(&self, to: &str, body: &str, now: OffsetDateTime) -> StoreResult<()> {
        let (to, body) = (to.to_string(), body.to_string());
        self.write(move |c| {
            c.prepare_cached("INSERT INTO sms_outbox (to_phone, body, created_at) VALUES (?1, ?2, ?3)")?
                .execute(params![to, body, ms(now)])?;
            Ok(())
        })
        .await
    }

    async fn outbox_list(&self, to: Option<&str>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let to = to.map(str::to_string);
        self.read(move |c| {
            let message = |r: &rusqlite::Row<'_>| {
                Ok(OutboxMessage {
                    to: r.get(0)?,
                    body: r.get(1)?,
                    created_at: from_ms(r.get(2)?),
                })
            };
            match &to {
                // One recipient's messages through the index on (to_phone, seq).
                Some(to) => c
                    .prepare_cached(
                        "SELECT to_phone, body, created_at FROM sms_outbox WHERE to_phone = ?1
                         ORDER BY seq DESC LIMIT CAST(?2 AS INTEGER)",
                    )?
                    .query_map(params![to, limit], message)?
                    .collect(),
                None => c
                    .prepare_cached(
                        "SELECT to_phone, body, created_at FROM sms_outbox ORDER BY seq DESC LIMIT CAST(?1 AS INTEGER)",
                    )?
                    .query_map([limit], message)?
                    .collect(),
            }
        })
        .await
    }

    async fn jobs_lease(&self, max: u32, now: OffsetDateTime, lease_secs: i64) -> StoreResult<Vec<Job>> {
        self.write(move |c| jobs::lease(c, max, ms(now), lease_secs * 1000))
            .await
    }

    async fn job_done(&self, job: JobId) -> StoreResult<()> {
        self.write(move |c| jobs::done(c, job)).await
    }

    async fn job_retry(&self, job: JobId, run_at: OffsetDateTime, error: &str) -> StoreResult<()> {
        let error = error.to_string();
        self.write(move |c| jobs::retry(c, job, ms(run_at), &error)).await
    }

    async fn job_dead(&self, job: JobId, error: &str, now: OffsetDateTime) -> StoreResult<()> {
        let error = error.to_string();
        self.write(move |c| jobs::dead(c, job, &error, ms(now))).await
    }

    async fn jobs_depth(&self) -> StoreResult<(u64, u64)> {
        self.read(jobs::depth).await
    }

    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>> {
        self.read(apps::status_counts).await
    }

    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome> {
        self.write(move |c| threads::request_info(c, &r, ms(r.at))).await
    }

    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome> {
        let body = body.to_string();
        self.write(move |c| threads::reply(c, app, user, message, &body, now))
            .await
    }

    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>> {
        self.read(move |c| threads::thread(c, app)).await
    }

    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        let (version, source) = (version.to_string(), source.to_string());
        self.write(move |c| threads::policy_put(c, &version, &source, actor, now))
            .await
    }

    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>> {
        self.read(move |c| threads::policy_latest(c, after_seq)).await
    }

    async fn applications_submitted_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>> {
        self.read(move |c| threads::submitted_between(c, ms(from), ms(to), after, limit))
            .await
    }

    async fn user_language(&self, user: UserId) -> StoreResult<Option<mpass_domain::language::Language>> {
        self.read(move |c| notify::user_language(c, user)).await
    }

    async fn set_user_language(&self, user: UserId, language: mpass_domain::language::Language) -> StoreResult<()> {
        self.write(move |c| notify::set_user_language(c, user, language)).await
    }

    async fn dead_jobs(&self, kind: Option<&str>, limit: u32) -> StoreResult<Vec<DeadJob>> {
        let kind = kind.map(str::to_string);
        self.read(move |c| notify::dead_jobs(c, kind.as_deref(), limit)).await
    }

    async fn dead_job_replay(&self, id: JobId, actor: Actor, now: OffsetDateTime) -> StoreResult<Option<JobId>> {
        self.write(move |c| notify::dead_job_replay(c, id, actor, ms(now)))
            .await
    }

    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let q = q.clone();
        self.read(move |c| stats::counts(c, &q, Source::Counters)).await
    }

    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let q = q.clone();
        self.read(move |c| stats::counts(c, &q, Source::Direct)).await
    }

    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let q = q.clone();
        self.read(move |c| stats::latency(c, &q, Source::Counters)).await
    }

    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let q = q.clone();
        self.read(move |c| stats::latency(c, &q, Source::Direct)).await
    }

    async fn stats_rebuild(&self) -> StoreResult<RebuildReport> {
        self.write(stats::rebuild).await
    }

    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()> {
        self.write(move |c| stats::bulk_insert(c, &batch)).await
    }

    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let q = q.clone();
        self.read(move |c| stats::scan_counts(c, &q, Source::Counters)).await
    }

    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let q = q.clone();
        self.read(move |c| stats::scan_counts(c, &q, Source::Direct)).await
    }

    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()> {
        self.write(move |c| verification::bulk_insert_scans(c, &batch)).await
    }

    // --- police verification: checkpoints and scans
    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()> {
        let cp = checkpoint.clone();
        self.write(move |c| verification::checkpoint_create(c, &cp, actor))
            .await
    }

    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        self.read(verification::checkpoints).await
    }

    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>> {
        self.read(move |c| verification::checkpoint(c, id)).await
    }

    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>> {
        let rows = self.read(verification::checkpoints_with_deleted).await?;
        Ok(rows.into_iter().map(|(cp, at)| (cp, at.map(from_ms))).collect())
    }

    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |c| verification::checkpoint_delete(c, id, actor, ms(now)))
            .await
    }

    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded> {
        let scan = scan.clone();
        // One INSERT; the rest is a read or a counter increment.
        self.write_single(move |c| verification::scan_record(c, &scan)).await
    }

    async fn check_and_log(
        &self,
        key: Option<PassKey>,
        travel_at: Option<OffsetDateTime>,
        decide: ScanDecider,
    ) -> StoreResult<Option<ScanRecorded>> {
        // All on the writer, inside its batch: its page cache stays warm across commits
        // (a reader's is emptied by every commit, and the pages read again), and no read
        // transaction is begun. One INSERT, so no savepoint (`write_single`). A panic in
        // `decide` fails this operation, not the writer thread (`SqliteStore::submit`).
        self.write_single(move |c| {
            let known = match &key {
                Some(key) => pass_check(c, key, travel_at)?,
                None => PassCheck::default(),
            };
            decide(known)
                .map(|scan| verification::scan_record(c, &scan))
                .transpose()
        })
        .await
    }

    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>> {
        // On the writer: the points of the latest scans wait in its memory (travel.rs).
        self.write_single(move |c| super::travel::points(c, pass, at)).await
    }

    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>> {
        self.read(move |c| verification::scans_list(c, flagged_only, before, limit))
            .await
    }

    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let name = name.to_string();
        self.write(move |c| legacy::upload_use(c, &name, ms(now))).await
    }

    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &mpass_domain::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let reg = reg.clone();
        self.write(move |c| legacy::registration_put(c, user, &reg, ms(now)))
            .await
    }

    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<mpass_domain::legacy::LegacyRegistration>> {
        self.read(move |c| legacy::registration(c, user)).await
    }

    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>> {
        self.read(super::admin::grants_list).await
    }

    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |c| super::admin::revoke_role(c, user, role, actor, ms(now)))
            .await
    }

    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // On the writer: the search and its audit entry commit together before the answer.
        let query = query.clone();
        self.write(move |c| super::admin::search(c, &query, actor, ms(now), limit))
            .await
    }
}

fn pass_check(c: &Connection, key: &PassKey, travel_at: Option<OffsetDateTime>) -> rusqlite::Result<PassCheck> {
    let (pass, status) = match key {
        PassKey::Id(id) => apps::pass_and_status(
            c,
            PassColumn::Id,
            id.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
        )?,
        PassKey::ShortCode(code) => apps::pass_and_status(c, PassColumn::ShortCode, code)?,
    };
    let id = match key {
        PassKey::Id(id) => Some(*id),
        PassKey::ShortCode(_) => pass.as_ref().map(|p| p.id),
    };
    let earlier = match (id, travel_at) {
        (Some(id), Some(at)) => super::travel::points(c, id, at)?,
        _ => Vec::new(),
    };
    Ok(PassCheck { pass, status, earlier })
}

fn decision_inputs(
    c: &Connection,
    id: ApplicationId,
    weekly_window: time::Duration,
) -> rusqlite::Result<DecisionInputs> {
    let Some(app) = apps::get(c, id)? else {
        return Ok(DecisionInputs::default());
    };
    if app.status != Status::Submitted {
        return Ok(DecisionInputs::settled(app));
    }
    let profile = id::profile(c, app.user_id)?;
    let user = id::user_by_id(c, app.user_id)?;
    let language = notify::user_language(c, app.user_id)?;
    let document = profile
        .as_ref()
        .map(|p| (p.profile.id_type.as_str().to_string(), p.profile.id_number.clone()));
    let facts = apps::facts(c, &app, ms(app.details.start - weekly_window), document)?;
    Ok(DecisionInputs {
        application: Some(app),
        profile,
        user,
        language,
        facts: Some(facts),
    })
}
