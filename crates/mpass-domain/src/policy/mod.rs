//! The decision policy of §6: a TOML file of rules that turns an application into a decision.
//!
//! Why a file and not code: operators tune the rules during a lockdown (a new restricted
//! district, a longer curfew) without a release, and every [`Decision`] records the exact
//! [`Policy::version`] that took it, so a decision can be explained and replayed later
//! (`mpass policy test`). Parsing is strict — unknown keys, unknown reason categories,
//! unparsable times and unknown message placeholders are refused with the key at fault —
//! because a typo in a policy silently approving passes is worse than a reload that fails.
//!
//! Evaluation is pure: the worker looks up the facts about the applicant ([`PolicyFacts`])
//! and calls [`Policy::evaluate`]. Reject beats review beats approve, and every rule that
//! decided is reported, so the citizen sees all problems at once.

mod curfew;
mod file;
pub mod master;
mod rules;
pub use rules::{RuleInForce, RuleSetting};
mod template;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use self::rules::Rules;
use self::template::{Lang, Template, Var};

/// The shipped default policy, also the commented example operators copy and edit.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../policy/default.toml");

/// Stable reason codes of decisions; clients and statistics rely on them.
pub mod codes {
    /// No rule objected.
    pub const AUTO_APPROVED: &str = "auto_approved";
    /// Start outside `[now - max_past_minutes, now + max_ahead_hours]`.
    pub const START_OUT_OF_WINDOW: &str = "start_out_of_window";
    /// Duration outside `[min_hours, max_hours]`.
    pub const DURATION_OUT_OF_RANGE: &str = "duration_out_of_range";
    /// Overlaps another approved pass of the same person.
    pub const OVERLAPPING_PASS: &str = "overlapping_pass";
    /// Too many passes in the rolling window.
    pub const WEEKLY_LIMIT_EXCEEDED: &str = "weekly_limit_exceeded";
    /// Origin or destination in a restricted area.
    pub const RESTRICTED_AREA: &str = "restricted_area";
    /// Trip during curfew hours for a reason not allowed then.
    pub const CURFEW: &str = "curfew";
    /// A reason category that always gets a human look (`other`).
    pub const REASON_NEEDS_REVIEW: &str = "reason_needs_review";
    /// More companions than the policy lets through unreviewed.
    pub const MANY_COMPANIONS: &str = "many_companions";
    /// The applicant's document number is registered on another phone.
    pub const DOCUMENT_ON_OTHER_PHONE: &str = "document_on_other_phone";
    /// The declared vehicle has another person's approved pass for part of the same time.
    pub const VEHICLE_OVERLAPPING_PASS: &str = "vehicle_overlapping_pass";
    /// More applications from one phone in 24 hours than the policy lets through unreviewed.
    pub const DAILY_APPLICATION_LIMIT: &str = "daily_application_limit";
    /// The reason is not a category of the policy in force (it was reloaded meanwhile).
    pub const UNKNOWN_REASON: &str = "unknown_reason";

    /// Every code a policy decision can carry.
    pub const ALL: [&str; 13] = [
        AUTO_APPROVED,
        START_OUT_OF_WINDOW,
        DURATION_OUT_OF_RANGE,
        OVERLAPPING_PASS,
        WEEKLY_LIMIT_EXCEEDED,
        RESTRICTED_AREA,
        CURFEW,
        REASON_NEEDS_REVIEW,
        MANY_COMPANIONS,
        DOCUMENT_ON_OTHER_PHONE,
        VEHICLE_OVERLAPPING_PASS,
        DAILY_APPLICATION_LIMIT,
        UNKNOWN_REASON,
    ];
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML, or a key that is unknown, missing or of the wrong type.
    #[error("invalid policy file: {0}")]
    Syntax(#[from] toml::de::Error),
    /// Well-formed, but a value makes no sense.
    #[error("invalid policy file: `{key}`: {problem}")]
    Invalid {
        /// Dotted path of the offending key, e.g. `rules.curfew.start`.
        key: String,
        /// What is wrong with it, as a sentence an operator can act on.
        problem: String,
    },
}

/// A reason category an applicant chooses from (§5), with its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable code, e.g. `medical`.
    pub code: String,
    /// English label.
    pub label_en: String,
    /// Bangla label.
    pub label_bn: String,
}

/// What a decision (or one rule) says; ordered by severity, `Approve < Review < Reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Issue the pass.
    Approve,
    /// A reviewer decides.
    Review,
    /// Refused.
    Reject,
}

impl Outcome {
    /// The wire name: `approve`, `review` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Review => "review",
            Self::Reject => "reject",
        }
    }
}

/// One rule's verdict with its messages already rendered for the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    /// Stable reason code, see [`codes`].
    pub code: String,
    /// What this rule yields.
    pub outcome: Outcome,
    /// Message in English.
    pub message_en: String,
    /// Message in Bangla, numbers in Bangla digits.
    pub message_bn: String,
}

/// The policy's decision about one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The overall outcome: the most severe of the hits, or approve.
    pub outcome: Outcome,
    /// On approval the single `auto_approved` hit; otherwise every hit, rejects first.
    pub reasons: Vec<RuleHit>,
    /// [`Policy::version`] of the policy that decided.
    pub policy_version: String,
}

/// The application as the policy sees it: plain data from §5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInput {
    /// Reason category code.
    pub reason: String,
    /// Origin thana geocode.
    pub from_area: String,
    /// Destination thana geocode.
    pub to_area: String,
    /// Start of the trip.
    pub start: OffsetDateTime,
    /// Length of the trip in hours.
    pub duration_hours: u8,
    /// Number of companions.
    pub companions: u8,
    /// Whether a vehicle is declared.
    pub has_vehicle: bool,
}

impl PolicyInput {
    /// End of the trip, `start + duration_hours` (exclusive); `None` only past year 9999.
    pub fn end(&self) -> Option<OffsetDateTime> {
        rules::trip_end(self.start, self.duration_hours)
    }
}

/// Facts about the applicant that the worker looks up in the store before evaluating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    /// The decision time.
    pub now: OffsetDateTime,
    /// Another approved pass of the same person overlaps `[start, end)` of this one.
    pub overlapping_approved: bool,
    /// The person's approved passes whose start lies in [`Policy::weekly_window_around`]
    /// the new pass's start (not counting the new one).
    pub passes_in_window: u32,
    /// The applicant's document number is registered on another phone.
    pub document_on_other_phone: bool,
    /// Another person's approved pass names the same vehicle registration and overlaps
    /// `[start, end)` of this one.
    pub vehicle_overlapping_approved: bool,
    /// Applications sent from the same phone in the 24 hours before this one (not
    /// counting it).
    pub applications_last_day: u32,
}

/// A checked, ready-to-run policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    version: String,
    categories: Vec<Category>,
    approved_en: Template,
    approved_bn: Template,
    rules: Rules,
}

impl Policy {
    /// Parses and checks a policy file; the error names the key at fault.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let raw: file::PolicyFile = toml::from_str(text)?;
        file::check_version(&raw.version)?;
        file::check_categories(&raw.categories)?;
        let rules = raw.rules.into_rules(&raw.categories)?;
        let approved = |key: &str, text: &str| {
            Template::parse(text, &["reason"]).map_err(|problem| PolicyError::Invalid {
                key: key.to_owned(),
                problem,
            })
        };
        let hash = Sha256::digest(text.as_bytes());
        let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            version: format!("{}#{short}", raw.version.trim()),
            approved_en: approved("approved.message_en", &raw.approved.message_en)?,
            approved_bn: approved("approved.message_bn", &raw.approved.message_bn)?,
            categories: raw.categories,
            rules,
        })
    }

    /// The shipped default policy (`policy/default.toml`).
    pub fn default_policy() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail in a build
        // that passed its tests.
        Self::from_toml(DEFAULT_POLICY_TOML).expect("the embedded default policy is valid")
    }

    /// The file's `version` plus `#` and 8 hex digits of the SHA-256 of the file text,
    /// e.g. `2026-11-21#a1b2c3d4`: identical text, identical version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The reason categories, in the file's order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The category with this code, if the policy has one.
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Length of the rolling window of the weekly limit (`window_days`).
    pub fn weekly_window(&self) -> Duration {
        Duration::days(self.rules.weekly_limit.params.window_days.into())
    }

    /// The range `[start - window, start + window]` in which the worker counts the person's
    /// approved passes for [`PolicyFacts::passes_in_window`].
    ///
    /// Both sides count, so booking many passes ahead of time is caught as well.
    pub fn weekly_window_around(&self, start: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        let w = self.weekly_window();
        (start.saturating_sub(w), start.saturating_add(w))
    }

    /// The rules switched on, with their settings, in the order they are checked: what
    /// the home page tells people (`RuleInForce`).
    pub fn rules_in_force(&self) -> Vec<RuleInForce> {
        self.rules.in_force()
    }

    /// Decides an application. Pure, total and cheap: no IO, never panics.
    pub fn evaluate(&self, input: &PolicyInput, facts: &PolicyFacts) -> Decision {
        let mut hits = Vec::new();
        if self.category(&input.reason).is_none() {
            hits.push(rules::unknown_reason_hit());
        }
        self.rules.check(&self.categories, input, facts, &mut hits);
        // Stable sort: rejects first, then reviews, each in rule order.
        hits.sort_by_key(|h| std::cmp::Reverse(h.outcome));
        let outcome = hits.first().map_or(Outcome::Approve, |h| h.outcome);
        if outcome == Outcome::Approve {
            let vars = self
                .category(&input.reason)
                .map(|c| Var::text("reason", c.label_en.clone(), c.label_bn.clone()));
            let vars: Vec<Var> = vars.into_iter().collect();
            hits = vec![RuleHit {
                code: codes::AUTO_APPROVED.to_owned(),
                outcome: Outcome::Approve,
                message_en: self.approved_en.render(Lang::En, &vars),
                message_bn: self.approved_bn.render(Lang::Bn, &vars),
            }];
        }
        Decision {
            outcome,
            reasons: hits,
            policy_version: self.version.clone(),
        }
    }
}
