//! `JobStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::JobId;
use mpass_domain::ports::*;
use rusqlite::params;
use time::OffsetDateTime;

use crate::sqlite::{SqliteStore, from_ms, jobs, ms, notify};

#[async_trait]
impl JobStore for SqliteStore {
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

    async fn dead_jobs(&self, kind: Option<&str>, limit: u32) -> StoreResult<Vec<DeadJob>> {
        let kind = kind.map(str::to_string);
        self.read(move |c| notify::dead_jobs(c, kind.as_deref(), limit)).await
    }

    async fn dead_job_replay(&self, id: JobId, actor: Actor, now: OffsetDateTime) -> StoreResult<Option<JobId>> {
        self.write(move |c| notify::dead_job_replay(c, id, actor, ms(now)))
            .await
    }
}
