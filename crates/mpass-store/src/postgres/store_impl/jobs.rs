//! `JobStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::audit::Actor;
use mpass_domain::ids::JobId;
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{PgError, PostgresStore, big, exec, from_ms, in_tx, jobs, ms, notify, query};

#[async_trait]
impl JobStore for PostgresStore {
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
}
