//! What the store records and answers about applications, passes, decisions, revocations
//! and admin searches.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{NewJob, StoredProfile, User};
use crate::application::{Application, ApplicationDetails, Status};
use crate::ids::{ApplicationId, PassId, UserId};
use crate::phone::Phone;
use crate::policy::Decision;
use crate::scan::Scan;

/// A request to record an application; the store answers with what happened.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub id: ApplicationId,
    pub user_id: UserId,
    pub details: ApplicationDetails,
    pub submitted_at: OffsetDateTime,
    /// `(key, hash of the request body)` when the client sent `Idempotency-Key`.
    pub idempotency: Option<(String, String)>,
    /// How many applications the citizen may have submitted in the hour up to
    /// `submitted_at`, this one included; past it the store answers
    /// [`SubmitOutcome::TooMany`] and records nothing. A replay is answered whatever the
    /// count. The store counts by the applications' ids (UUIDv7, made at submission), in
    /// the transaction that would insert this one, so the limit holds across API nodes and
    /// restarts.
    pub max_per_hour: u32,
}

impl NewApplication {
    /// The application as it stands once stored: `submitted`, undecided.
    pub fn submitted(&self) -> Application {
        Application {
            id: self.id,
            user_id: self.user_id,
            status: Status::Submitted,
            details: self.details.clone(),
            submitted_at: self.submitted_at,
            updated_at: self.submitted_at,
            decision: None,
            pass_id: None,
        }
    }
}

/// What `submit_application` did.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    Created(Application),
    /// The same key and body were seen before: the first application.
    Replayed(Application),
    /// The same key came with a different body.
    KeyReused,
    /// The citizen already submitted `max_per_hour` applications in the hour: nothing was
    /// recorded. `retry_after`: whole seconds until the oldest of those that count is an
    /// hour old (at least 1).
    TooMany {
        retry_after: i64,
    },
}

/// What counts against [`NewApplication::max_per_hour`].
pub const SUBMISSION_WINDOW: time::Duration = time::Duration::HOUR;

impl NewApplication {
    /// The first id that counts against the limit: ids made in the hour up to
    /// `submitted_at` sort at or after it.
    pub fn window_start(&self) -> ApplicationId {
        ApplicationId::first_at(self.submitted_at - SUBMISSION_WINDOW)
    }

    /// The answer when `newest_counted`, the `max_per_hour`-th newest application in the
    /// window, exists: the citizen may submit again once it is an hour old.
    pub fn too_many(&self, newest_counted: ApplicationId) -> SubmitOutcome {
        let free_at = newest_counted.unix_ms() + SUBMISSION_WINDOW.whole_milliseconds() as i64;
        SubmitOutcome::TooMany {
            retry_after: crate::instant::retry_after_secs(free_at - crate::instant::unix_ms(self.submitted_at)),
        }
    }
}

/// A signed pass as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRecord {
    pub id: PassId,
    pub application_id: ApplicationId,
    pub user_id: UserId,
    pub qr_text: String,
    pub short_code: String,
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

/// How a scanned pass is named: by the id in its QR text, or by its short code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassKey {
    Id(PassId),
    ShortCode(String),
}

/// What online verification needs to know about a scanned pass, read together.
#[derive(Debug, Clone, Default)]
pub struct PassCheck {
    /// The issuer's record of the pass, if there is one.
    pub pass: Option<PassRecord>,
    /// Its application's status now.
    pub status: Option<crate::application::Status>,
    /// Its latest scans with a position within [`crate::scan::TRAVEL_HORIZON`] of the
    /// check, newest first, at most [`crate::scan::TRAVEL_HISTORY`] (for impossible travel);
    /// empty unless asked for.
    pub earlier: Vec<crate::scan::TravelPoint>,
}

/// Makes the scan an online check logs from what the server knows of the pass
/// ([`VerificationStore::check_and_log`](super::VerificationStore::check_and_log)), or none. It may run on a store's own thread, inside a write
/// transaction: it must be quick and must not block.
pub type ScanDecider = Box<dyn FnOnce(PassCheck) -> Option<Scan> + Send>;

/// A decision to record, with the pass when approved.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub application_id: ApplicationId,
    pub decision: Decision,
    pub status: Status,
    pub pass: Option<PassRecord>,
    pub decided_at: OffsetDateTime,
    /// Follow-up work (notifications), enqueued in the same transaction.
    pub jobs: Vec<NewJob>,
}

/// What `revoke_pass` did.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per call, moved once; like `SubmitOutcome`, not worth a Box"
)]
pub enum RevokeOutcome {
    /// Revoked by this call: the application as it now is (`revoked`).
    Revoked(Application),
    /// The pass was already revoked or its application cancelled: nothing changed.
    AlreadyRevoked,
    /// No such pass.
    NotFound,
}

/// A revoked pass in the revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub seq: i64,
    pub pass_id: PassId,
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
}

/// What `ApplicationStore::decision_inputs` reads for one decision; every part is `None` when the
/// application is missing, and all but `application` when it is no longer `submitted`.
#[derive(Debug, Clone, Default)]
pub struct DecisionInputs {
    pub application: Option<Application>,
    pub profile: Option<StoredProfile>,
    pub user: Option<User>,
    pub language: Option<crate::language::Language>,
    pub facts: Option<ApplicantFacts>,
}

impl DecisionInputs {
    /// The inputs of an application that is no longer `submitted`: only itself, since
    /// nothing will be decided.
    pub fn settled(app: Application) -> Self {
        DecisionInputs {
            application: Some(app),
            ..DecisionInputs::default()
        }
    }
}

/// Facts about an applicant that the policy needs, read at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicantFacts {
    pub overlapping_approved: bool,
    pub passes_in_window: u32,
    pub document_on_other_phone: bool,
    pub vehicle_overlapping_approved: bool,
    /// The applicant's earlier applications of the 24 hours before this one, counted up to
    /// [`MAX_COUNTED_PER_DAY`] (the policy's daily limit is at most that): a decision reads
    /// at most that many index entries, however many a person sends.
    pub applications_last_day: u32,
}

/// Where the count of a person's applications of the last day stops (`ApplicantFacts`).
pub const MAX_COUNTED_PER_DAY: u32 = 1000;

impl ApplicantFacts {
    /// The facts as the policy takes them, for a decision at `now`.
    pub fn at(self, now: OffsetDateTime) -> crate::policy::PolicyFacts {
        crate::policy::PolicyFacts {
            now,
            overlapping_approved: self.overlapping_approved,
            passes_in_window: self.passes_in_window,
            document_on_other_phone: self.document_on_other_phone,
            vehicle_overlapping_approved: self.vehicle_overlapping_approved,
            applications_last_day: self.applications_last_day,
        }
    }
}

/// What an admin searches applications by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSearch {
    Phone(Phone),
    /// A document number, matched under every document type.
    Document(String),
    Id(ApplicationId),
}

impl AdminSearch {
    /// The field name as audited and as the API's query parameter.
    pub fn field(&self) -> &'static str {
        match self {
            AdminSearch::Phone(_) => "phone",
            AdminSearch::Document(_) => "document",
            AdminSearch::Id(_) => "id",
        }
    }

    /// The searched value, as audited.
    pub fn value(&self) -> String {
        match self {
            AdminSearch::Phone(p) => p.as_str().to_string(),
            AdminSearch::Document(d) => d.clone(),
            AdminSearch::Id(id) => id.to_string(),
        }
    }
}

/// An application found by a search, with the applicant's phone.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub application: Application,
    pub phone: Phone,
}
