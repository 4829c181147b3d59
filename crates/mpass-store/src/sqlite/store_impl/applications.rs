//! `ApplicationStore` for `SqliteStore`.

use async_trait::async_trait;
use mpass_domain::application::{Application, Status};
use mpass_domain::ids::{ApplicationId, UserId};
use mpass_domain::ports::*;
use rusqlite::Connection;
use time::OffsetDateTime;

use mpass_domain::stats::BulkApplication;

use crate::sqlite::{SqliteStore, applications as apps, identity as id, in_read_tx, ms, notify, stats, threads};

#[async_trait]
impl ApplicationStore for SqliteStore {
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

    async fn bulk_insert_applications(&self, batch: Vec<BulkApplication>) -> StoreResult<()> {
        self.write(move |c| stats::bulk_insert(c, &batch)).await
    }
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
