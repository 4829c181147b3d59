//! `Store` for `PostgresStore`: each method picks the primary (writes, and reads that
//! must see them) or the reader pool (lookups that tolerate replica lag).

use async_trait::async_trait;
use mpass_domain::application::{Application, Status};
use mpass_domain::audit::{Actor, AuditEntry, AuditEvent};
use mpass_domain::checkpoint::Checkpoint;
use mpass_domain::ids::{ApplicationId, CheckpointId, JobId, MessageId, PassId, ScanId, UserId};
use mpass_domain::phone::Phone;
use mpass_domain::ports::*;
use mpass_domain::profile::Profile;
use mpass_domain::scan::{Scan, ScanRecorded, TravelPoint};
use time::OffsetDateTime;

use super::{
    PgError, PostgresStore, applications as apps, audit, big, exec, fresh, from_ms, identity as id, in_tx, jobs,
    legacy, ms, notify, query, stats, threads, verification,
};
use crate::stats_sql::Source;
use mpass_domain::stats::scans::{ScanCountRow, ScanQuery};
use mpass_domain::stats::{BulkApplication, CountQuery, CountRow, LatencyHistogram, LatencyQuery, RebuildReport};

/// How often a node vacuums the queue-like tables ([`VACUUM_QUEUES`]).
const TIDY_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The tables whose rows are inserted and soon deleted or updated again and again: jobs
/// (leased, then deleted), queued audit entries and pending counter changes (moved every
/// few hundred milliseconds), the hourly counters they are folded into, login codes. Each
/// stays small, but its dead rows do not: without a vacuum a lease, a seal or a fold reads
/// past all of them (a `jobs` of 120 live rows in 4,151 pages after 50,000 applications,
/// on a server whose autovacuum is off). Small tables and their indexes vacuum in a few
/// milliseconds; `SKIP_LOCKED` leaves a table another node is vacuuming. The large tables
/// (applications, scans) are autovacuum's.
const VACUUM_QUEUES: &str = "VACUUM (SKIP_LOCKED) jobs, audit_queue, stats_thana_pending, \
    stats_district_pending, stats_latency_pending, stats_thana_hourly, stats_district_hourly, \
    stats_latency_hourly, stats_scans_hourly, otp_codes, otp_sends";

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let c = self.primary().await?;
        c.batch_execute("SELECT 1").await.map_err(PgError::from)?;
        if self.replica.is_some() {
            let r = self.reader().await?;
            r.batch_execute("SELECT 1").await.map_err(PgError::from)?;
        }
        Ok(())
    }

    async fn otp_issue(
        &self,
        phone: &Phone,
        code_hash: &str,
        sms: NewJob,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), OtpSendRefused>> {
        Ok(in_tx!(self, |tx| id::otp_issue(&tx, phone, code_hash, &sms, ms(now)))?)
    }

    async fn otp_check(&self, phone: &Phone, code_hash: &str, now: OffsetDateTime) -> StoreResult<OtpCheck> {
        Ok(in_tx!(self, |tx| id::otp_check(&tx, phone, code_hash, ms(now)))?)
    }

    async fn user_by_phone_or_create(&self, phone: &Phone, now: OffsetDateTime) -> StoreResult<User> {
        let c = self.primary().await?;
        Ok(id::user_by_phone_or_create(&c, phone, ms(now)).await?)
    }

    async fn user(&self, user: UserId) -> StoreResult<Option<User>> {
        Ok(fresh!(self, |c| id::user_by_id(&c, user).await?))
    }

    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        Ok(fresh!(self, |c| id::user_by_phone(&c, phone).await?))
    }

    async fn grant_role(&self, user: UserId, grant: RoleGrant, actor: Actor, now: OffsetDateTime) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| id::grant_role(
            &tx,
            user,
            &grant,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn refresh_create(&self, token_hash: &str, user: UserId, expires: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        // A new login starts a family named after its first token, as in SQLite.
        Ok(id::refresh_create(&c, token_hash, token_hash, user, ms(expires)).await?)
    }

    async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> StoreResult<Option<UserId>> {
        Ok(in_tx!(self, |tx| id::refresh_rotate(
            &tx,
            old_hash,
            new_hash,
            ms(now),
            ms(expires)
        ))?)
    }

    async fn refresh_revoke(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::refresh_revoke(&c, token_hash, ms(now)).await?)
    }

    async fn refresh_revoke_user(&self, user: UserId, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::refresh_revoke_user(&c, user, ms(now)).await?)
    }

    async fn profile(&self, user: UserId) -> StoreResult<Option<StoredProfile>> {
        // The primary: a profile is read right after it is saved (the answer to the save,
        // the application that needs it), and a replica's older one would be wrong, not
        // merely late.
        let c = self.primary().await?;
        Ok(id::profile(&c, user).await?)
    }

    async fn put_profile(&self, user: UserId, profile: &Profile, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(id::put_profile(&c, user, profile, ms(now)).await?)
    }

    async fn set_photo(&self, user: UserId, key: &str, content_type: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        if id::set_photo(&c, user, key, content_type, ms(now)).await? {
            Ok(())
        } else {
            Err(StoreError::Backend("photo set before the profile exists".into()))
        }
    }

    async fn submit_application(&self, app: NewApplication) -> StoreResult<SubmitOutcome> {
        Ok(in_tx!(self, |tx| apps::submit(&tx, &app))?)
    }

    async fn application(&self, app: ApplicationId) -> StoreResult<Option<Application>> {
        Ok(fresh!(self, |c| apps::get(&c, app).await?))
    }

    async fn applications_of(
        &self,
        user: UserId,
        before: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>> {
        let c = self.reader().await?;
        let list = apps::list(&c, user, before, limit).await?;
        if before.is_some() || self.replica.is_none() {
            return Ok(list);
        }
        // The first page is where a citizen looks right after applying (the web pages go
        // there): when the replica lacks the newest application the primary has (one
        // index-only probe), the page is read on the primary, so an application never
        // seems to vanish; statuses may still be a replica's lag late.
        let primary = self.primary().await?;
        let newest = apps::newest_id(&primary, user).await?;
        if newest.is_some() && list.first().map(|a| a.id) != newest {
            return Ok(apps::list(&primary, user, before, limit).await?);
        }
        Ok(list)
    }

    async fn cancel_application(
        &self,
        app: ApplicationId,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Application, bool)>> {
        Ok(in_tx!(self, |tx| apps::cancel(&tx, app, user, ms(now)))?)
    }

    async fn applicant_facts(&self, app: &Application, window_start: OffsetDateTime) -> StoreResult<ApplicantFacts> {
        // The primary: a decision must see the approvals committed just before it.
        let c = self.primary().await?;
        Ok(apps::facts(&c, app, ms(window_start)).await?)
    }

    async fn decision_inputs(&self, id: ApplicationId, weekly_window: time::Duration) -> StoreResult<DecisionInputs> {
        // On the primary, all of it: a replica may not have the application its job was
        // committed with yet (the default reads it from the replica, and a decision job
        // would fail as "not found"). One connection; the applicant's four reads are sent
        // together, without waiting for each other's answers (the client pipelines them).
        let c = self.primary().await?;
        let Some(app) = apps::get(&c, id).await? else {
            return Ok(DecisionInputs::default());
        };
        if app.status != Status::Submitted {
            return Ok(DecisionInputs::settled(app));
        }
        let window_start = ms(app.details.start - weekly_window);
        let (profile, user, language, facts) = tokio::try_join!(
            id::profile(&c, app.user_id),
            id::user_by_id(&c, app.user_id),
            notify::user_language(&c, app.user_id),
            apps::facts(&c, &app, window_start),
        )?;
        Ok(DecisionInputs {
            application: Some(app),
            profile,
            user,
            language,
            facts: Some(facts),
        })
    }

    async fn record_decision(&self, d: DecisionRecord) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| apps::record_decision(&tx, &d))?)
    }

    async fn review_queue(&self, districts: &[String], limit: u32) -> StoreResult<Vec<Application>> {
        // The primary: a reviewer who just claimed or decided must see the queue as it is.
        let c = self.primary().await?;
        Ok(apps::review_queue(&c, districts, limit).await?)
    }

    async fn review_claim(
        &self,
        app: ApplicationId,
        reviewer: UserId,
        now: OffsetDateTime,
        lease_secs: i64,
    ) -> StoreResult<ClaimOutcome> {
        let until = ms(now) + lease_secs * 1000;
        Ok(in_tx!(self, |tx| apps::review_claim(
            &tx,
            app,
            reviewer,
            ms(now),
            until
        ))?)
    }

    async fn review_decide(&self, d: ReviewDecision) -> StoreResult<DecideOutcome> {
        Ok(in_tx!(self, |tx| apps::review_decide(&tx, &d))?)
    }

    async fn review_issue_pass(&self, p: ReviewedPass) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| apps::review_issue_pass(&tx, &p))?)
    }

    async fn pass(&self, pass: PassId) -> StoreResult<Option<PassRecord>> {
        Ok(fresh!(self, |c| apps::pass(&c, pass).await?))
    }

    async fn pass_by_short_code(&self, code: &str) -> StoreResult<Option<PassRecord>> {
        Ok(fresh!(self, |c| apps::pass_by_short_code(&c, code).await?))
    }

    async fn revocations_since(&self, seq: i64, limit: u32) -> StoreResult<(i64, Vec<Revocation>)> {
        let c = self.reader().await?;
        Ok(apps::revocations_since(&c, seq, limit).await?)
    }

    async fn revoke_pass(
        &self,
        pass: PassId,
        reason: &str,
        actor: Actor,
        jobs: Vec<NewJob>,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        Ok(in_tx!(self, |tx| apps::revoke_pass(
            &tx,
            pass,
            reason,
            actor.clone(),
            &jobs,
            ms(now)
        ))?)
    }

    async fn audit_append(&self, event: AuditEvent) -> StoreResult<AuditEntry> {
        Ok(in_tx!(self, |tx| audit::append_sealed(&tx, event.clone()))?)
    }

    async fn audit_list(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        // Every entry committed before this call, queued ones sealed first; on the primary:
        // `mpass audit verify` must see the chain up to its end.
        self.audit_seal().await?;
        let c = self.primary().await?;
        Ok(audit::list(&c, after_seq, limit).await?)
    }

    async fn audit_seal(&self) -> StoreResult<usize> {
        let mut sealed = 0;
        loop {
            if !audit::queued(&self.primary().await?).await? {
                return Ok(sealed);
            }
            let n = in_tx!(self, |tx| audit::seal(&tx))?;
            sealed += n;
            if n < audit::SEAL_BATCH as usize {
                return Ok(sealed);
            }
        }
    }

    async fn outbox_push(&self, to: &str, body: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        exec(
            &c,
            "INSERT INTO sms_outbox (to_phone, body, created_at) VALUES ($1, $2, $3)",
            &[&to, &body, &ms(now)],
        )
        .await?;
        Ok(())
    }

    async fn outbox_list(&self, to: Option<&str>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        // The primary: the dev outbox is read for the code just sent (a replica may not
        // have it yet), and it is a development tool, never under load.
        let c = self.primary().await?;
        let rows =
            match to {
                // One recipient's messages through the index on (to_phone, seq).
                Some(to) => query(
                    &c,
                    "SELECT to_phone, body, created_at FROM sms_outbox WHERE to_phone = $1 ORDER BY seq DESC LIMIT $2",
                    &[&to, &big(limit)],
                )
                .await?,
                None => {
                    query(
                        &c,
                        "SELECT to_phone, body, created_at FROM sms_outbox ORDER BY seq DESC LIMIT $1",
                        &[&big(limit)],
                    )
                    .await?
                }
            };
        let list = rows
            .iter()
            .map(|r| {
                Ok(OutboxMessage {
                    to: r.try_get(0)?,
                    body: r.try_get(1)?,
                    created_at: from_ms(r.try_get(2)?),
                })
            })
            .collect::<Result<_, PgError>>()?;
        Ok(list)
    }

    async fn jobs_lease(&self, max: u32, now: OffsetDateTime, lease_secs: i64) -> StoreResult<Vec<Job>> {
        let c = self.primary().await?;
        Ok(jobs::lease(&c, max, ms(now), lease_secs * 1000).await?)
    }

    async fn job_done(&self, job: JobId) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(jobs::done(&c, job).await?)
    }

    async fn job_retry(&self, job: JobId, run_at: OffsetDateTime, error: &str) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(jobs::retry(&c, job, ms(run_at), error).await?)
    }

    async fn job_dead(&self, job: JobId, error: &str, now: OffsetDateTime) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(jobs::dead(&c, job, error, ms(now)).await?)
    }

    async fn jobs_depth(&self) -> StoreResult<(u64, u64)> {
        // The primary: the queue reports this for back-pressure and readiness.
        let c = self.primary().await?;
        Ok(jobs::depth(&c).await?)
    }

    async fn status_counts(&self) -> StoreResult<Vec<(Status, u64)>> {
        // Metrics only: replica lag is acceptable.
        let c = self.reader().await?;
        Ok(apps::status_counts(&c).await?)
    }

    async fn review_request_info(&self, r: InfoRequest) -> StoreResult<DecideOutcome> {
        Ok(in_tx!(self, |tx| threads::request_info(&tx, &r))?)
    }

    async fn info_reply(
        &self,
        app: ApplicationId,
        user: UserId,
        message: MessageId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ReplyOutcome> {
        Ok(in_tx!(self, |tx| threads::reply(&tx, app, user, message, body, now))?)
    }

    async fn thread(&self, app: ApplicationId) -> StoreResult<Vec<ThreadMessage>> {
        // The primary: the author of a message expects to see it at once.
        let c = self.primary().await?;
        Ok(threads::thread(&c, app).await?)
    }

    async fn policy_put(
        &self,
        version: &str,
        source: &str,
        actor: Actor,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        Ok(in_tx!(self, |tx| threads::policy_put(
            &tx,
            version,
            source,
            actor.clone(),
            now
        ))?)
    }

    async fn policy_latest(&self, after_seq: i64) -> StoreResult<Option<StoredPolicy>> {
        let c = self.primary().await?;
        Ok(threads::policy_latest(&c, after_seq).await?)
    }

    async fn applications_submitted_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<ApplicationId>,
        limit: u32,
    ) -> StoreResult<Vec<Application>> {
        let c = self.reader().await?;
        Ok(threads::submitted_between(&c, ms(from), ms(to), after, limit).await?)
    }

    async fn user_language(&self, user: UserId) -> StoreResult<Option<mpass_domain::language::Language>> {
        // The primary: a choice just made must be the one the next message uses.
        let c = self.primary().await?;
        Ok(notify::user_language(&c, user).await?)
    }

    async fn set_user_language(&self, user: UserId, language: mpass_domain::language::Language) -> StoreResult<()> {
        let c = self.primary().await?;
        Ok(notify::set_user_language(&c, user, language).await?)
    }

    async fn dead_jobs(&self, kind: Option<&str>, limit: u32) -> StoreResult<Vec<DeadJob>> {
        // The primary: an admin replays what this lists.
        let c = self.primary().await?;
        Ok(notify::dead_jobs(&c, kind, limit).await?)
    }

    async fn dead_job_replay(&self, id: JobId, actor: Actor, now: OffsetDateTime) -> StoreResult<Option<JobId>> {
        Ok(in_tx!(self, |tx| notify::dead_job_replay(
            &tx,
            id,
            actor.clone(),
            ms(now)
        ))?)
    }

    // Statistics read the reader pool (a replica when configured): dashboards never load
    // the primary that citizens' requests write to.
    async fn stats_counts(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let c = self.reader().await?;
        Ok(stats::counts(&c, q, Source::Counters).await?)
    }

    async fn stats_counts_direct(&self, q: &CountQuery) -> StoreResult<Vec<CountRow>> {
        let c = self.reader().await?;
        Ok(stats::counts(&c, q, Source::Direct).await?)
    }

    async fn stats_latency(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let c = self.reader().await?;
        Ok(stats::latency(&c, q, Source::Counters).await?)
    }

    async fn stats_latency_direct(&self, q: &LatencyQuery) -> StoreResult<LatencyHistogram> {
        let c = self.reader().await?;
        Ok(stats::latency(&c, q, Source::Direct).await?)
    }

    async fn stats_rebuild(&self) -> StoreResult<RebuildReport> {
        Ok(in_tx!(self, |tx| stats::rebuild(&tx))?)
    }

    async fn stats_fold(&self) -> StoreResult<u64> {
        Ok(in_tx!(self, |tx| stats::fold(&tx))?)
    }

    async fn tidy(&self) -> StoreResult<()> {
        {
            let mut last = self.tidied.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < TIDY_EVERY) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        let c = self.primary().await?;
        c.batch_execute(VACUUM_QUEUES).await.map_err(PgError::from)?;
        Ok(())
    }

    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| stats::bulk_insert(&tx, &batch))?)
    }

    async fn stats_scans(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let c = self.reader().await?;
        Ok(stats::scan_counts(&c, q, Source::Counters).await?)
    }

    async fn stats_scans_direct(&self, q: &ScanQuery) -> StoreResult<Vec<ScanCountRow>> {
        let c = self.reader().await?;
        Ok(stats::scan_counts(&c, q, Source::Direct).await?)
    }

    async fn bulk_insert_scans(&self, batch: Vec<Scan>) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| verification::bulk_insert_scans(&tx, &batch))?)
    }

    // --- police verification: checkpoints and scans
    async fn checkpoint_create(&self, checkpoint: &Checkpoint, actor: Actor) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| verification::checkpoint_create(
            &tx,
            checkpoint,
            actor.clone()
        ))?)
    }

    async fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        let c = self.reader().await?;
        Ok(verification::checkpoints(&c).await?)
    }

    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<Checkpoint>> {
        Ok(fresh!(self, |c| verification::checkpoint(&c, id).await?))
    }

    async fn checkpoints_with_deleted(&self) -> StoreResult<Vec<(Checkpoint, Option<OffsetDateTime>)>> {
        let c = self.reader().await?;
        let rows = verification::checkpoints_with_deleted(&c).await?;
        Ok(rows.into_iter().map(|(cp, at)| (cp, at.map(from_ms))).collect())
    }

    async fn checkpoint_delete(&self, id: CheckpointId, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| verification::checkpoint_delete(
            &tx,
            id,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn scan_record(&self, scan: &Scan) -> StoreResult<ScanRecorded> {
        self.scans.call(scan.clone()).await
    }

    async fn pass_check(&self, key: PassKey, travel_at: Option<OffsetDateTime>) -> StoreResult<PassCheck> {
        match key {
            // A QR text's check: with the others waiting at that moment.
            PassKey::Id(id) => {
                let known = self.passes.call((id, travel_at)).await?;
                if known.pass.is_some() || self.replica.is_none() {
                    return Ok(known);
                }
                // Not on the replica: maybe issued a moment ago (`fresh!`).
                let c = self.primary().await?;
                Ok(verification::pass_check_batch(&c, &[(id, travel_at)])
                    .await?
                    .pop()
                    .unwrap_or_default())
            }
            PassKey::ShortCode(code) => Ok(fresh!(self, |c| {
                let known = verification::pass_check_by_code(&c, &code, travel_at).await?;
                known.pass.is_some().then_some(known)
            })
            .unwrap_or_default()),
        }
    }

    async fn travel_points(&self, pass: PassId, at: OffsetDateTime) -> StoreResult<Vec<TravelPoint>> {
        // The primary: the scan logged a moment ago at the other checkpoint must be seen.
        let c = self.primary().await?;
        Ok(verification::travel_points(&c, pass, at).await?)
    }

    async fn scans_list(&self, flagged_only: bool, before: Option<ScanId>, limit: u32) -> StoreResult<Vec<Scan>> {
        let c = self.reader().await?;
        Ok(verification::scans_list(&c, flagged_only, before, limit).await?)
    }

    async fn legacy_upload_use(&self, name: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let c = self.primary().await?;
        Ok(legacy::upload_use(&c, name, ms(now)).await?)
    }

    async fn legacy_registration_put(
        &self,
        user: UserId,
        reg: &mpass_domain::legacy::LegacyRegistration,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let c = self.primary().await?;
        Ok(legacy::registration_put(&c, user, reg, ms(now)).await?)
    }

    async fn legacy_registration(&self, user: UserId) -> StoreResult<Option<mpass_domain::legacy::LegacyRegistration>> {
        // The primary: a client reads its registration right after writing it.
        let c = self.primary().await?;
        Ok(legacy::registration(&c, user).await?)
    }

    async fn role_grants_list(&self) -> StoreResult<Vec<GrantRow>> {
        let c = self.primary().await?;
        Ok(super::admin::grants_list(&c).await?)
    }

    async fn revoke_role(&self, user: UserId, role: Role, actor: Actor, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(in_tx!(self, |tx| super::admin::revoke_role(
            &tx,
            user,
            role,
            actor.clone(),
            ms(now)
        ))?)
    }

    async fn admin_search(
        &self,
        query: &AdminSearch,
        actor: Actor,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // The search and its audit entry commit together before the answer.
        Ok(in_tx!(self, |tx| super::admin::search(
            &tx,
            query,
            actor.clone(),
            ms(now),
            limit
        ))?)
    }
}
