//! The reviewers' queue: leases, reviewers' decisions, and the information-request threads.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{NewJob, PassRecord};
use crate::application::Application;
use crate::ids::{ApplicationId, MessageId, UserId};
use crate::policy::Decision;

/// How long a reviewer's claim holds (SPEC §6).
pub const REVIEW_LEASE_SECS: i64 = 600;

/// What `review_claim` did.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "one value per call, moved once")]
pub enum ClaimOutcome {
    /// The caller holds the lease now (claimed, or renewed by its holder).
    Claimed(Application),
    /// Another reviewer holds an unexpired lease (or an approval is being issued).
    Taken,
    /// Not in review.
    NotFound,
}

/// A reviewer's decision on an application they hold.
#[derive(Debug, Clone)]
pub struct ReviewDecision {
    pub application_id: ApplicationId,
    pub reviewer: UserId,
    /// `Approve` or `Reject` (`Review` is refused by the stores as not a decision).
    pub outcome: crate::policy::Outcome,
    pub reason_code: String,
    pub note: String,
    /// The signed pass, when approving with one at hand. Approving without one records the
    /// intent: the application stays `in_review`, held by nobody else, until
    /// `review_issue_pass` attaches the pass a worker signed (a job in `jobs`).
    pub pass: Option<PassRecord>,
    pub jobs: Vec<NewJob>,
    pub decided_at: OffsetDateTime,
}

impl ReviewDecision {
    /// The decision as stored: the outcome and one hit with the reason code and the note.
    pub fn decision(&self, policy_version: &str) -> Decision {
        Decision {
            outcome: self.outcome,
            reasons: vec![crate::policy::RuleHit {
                code: self.reason_code.clone(),
                outcome: self.outcome,
                message_en: self.note.clone(),
                message_bn: self.note.clone(),
            }],
            policy_version: policy_version.to_string(),
        }
    }
}

/// What `review_decide` did.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "one value per call, moved once")]
pub enum DecideOutcome {
    /// Recorded: the application as it now is (`approved`, `rejected`, or still
    /// `in_review` with an approval awaiting its pass).
    Decided(Application),
    /// In review, but the caller holds no unexpired lease on it.
    NotHolder,
    /// Not in review.
    NotFound,
}

/// A pass signed by a worker for an application a reviewer approved.
#[derive(Debug, Clone)]
pub struct ReviewedPass {
    pub pass: PassRecord,
    /// The holder's SMS, enqueued in the same transaction.
    pub jobs: Vec<NewJob>,
    pub issued_at: OffsetDateTime,
}

/// Who wrote a message of an information-request thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadAuthor {
    Reviewer,
    Applicant,
}

impl ThreadAuthor {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadAuthor::Reviewer => "reviewer",
            ThreadAuthor::Applicant => "applicant",
        }
    }

    pub fn parse(s: &str) -> Option<ThreadAuthor> {
        [ThreadAuthor::Reviewer, ThreadAuthor::Applicant]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One message between a reviewer and the applicant (SPEC §6 "request information").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMessage {
    pub id: MessageId,
    pub application_id: ApplicationId,
    pub author_id: UserId,
    pub author: ThreadAuthor,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// A reviewer holding the lease asks the applicant for information.
#[derive(Debug, Clone)]
pub struct InfoRequest {
    pub application_id: ApplicationId,
    pub reviewer: UserId,
    pub message: MessageId,
    pub question: String,
    /// The applicant's SMS, enqueued in the same transaction.
    pub jobs: Vec<NewJob>,
    pub at: OffsetDateTime,
}

/// What `info_reply` did.
#[derive(Debug, Clone)]
pub enum ReplyOutcome {
    /// Recorded; the application is back in review (`in_review`, unclaimed).
    Replied(Application),
    /// The caller's application, but no information is being asked for.
    NotWaiting(Application),
    /// Not the caller's application (or none).
    NotFound,
}
