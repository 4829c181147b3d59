//! `ApplicationStore` for `PostgresStore`.

use async_trait::async_trait;
use mpass_domain::application::{Application, Status};
use mpass_domain::ids::{ApplicationId, UserId};
use mpass_domain::ports::*;
use time::OffsetDateTime;

use crate::postgres::{
    PgError, PostgresStore, applications as apps, fresh, identity as id, in_tx, ms, notify, stats, threads,
};
use mpass_domain::stats::BulkApplication;

#[async_trait]
impl ApplicationStore for PostgresStore {
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

    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()> {
        Ok(in_tx!(self, |tx| stats::bulk_insert(&tx, &batch))?)
    }
}
