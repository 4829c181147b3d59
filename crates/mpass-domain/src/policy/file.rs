//! The policy file as written (TOML), and its checks on the way to [`Rules`].

use serde::Deserialize;
use time::{Time, UtcOffset};

use super::curfew::CurfewHours;
use super::rules::{
    Companions, Curfew, DailyApplications, DurationRange, HH_MM, ReasonReview, RestrictedAreas, Rule, Rules,
    StartWindow, WeeklyLimit,
};
use super::template::Template;
use super::{Category, Outcome, PolicyError};

/// The whole file. Every key is required: the shipped `default.toml` is the template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    pub(crate) version: String,
    pub(crate) approved: ApprovedFile,
    pub(crate) categories: Vec<Category>,
    pub(crate) rules: RulesFile,
}

/// `[approved]`: the message of an automatic approval.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovedFile {
    pub(crate) message_en: String,
    pub(crate) message_bn: String,
}

/// `[rules.*]`, one table per rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesFile {
    start_window: StartWindowFile,
    duration: DurationFile,
    overlap: PlainRuleFile,
    weekly_limit: WeeklyLimitFile,
    restricted_area: RestrictedAreaFile,
    curfew: CurfewFile,
    reason_review: ReasonReviewFile,
    companions: CompanionsFile,
    document_on_other_phone: PlainRuleFile,
    vehicle_overlap: PlainRuleFile,
    daily_applications: DailyApplicationsFile,
}

/// What a rule hit may yield; approving is what happens when no rule hits.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RuleOutcome {
    Reject,
    Review,
}

/// Declares a rule table: the common keys plus the rule's own.
macro_rules! rule_file {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            enabled: bool,
            outcome: RuleOutcome,
            message_en: String,
            message_bn: String,
            $($field: $ty,)*
        }

        impl $name {
            /// Builds the checked rule around `params`; `placeholders` are the names
            /// its messages may use.
            fn rule<P>(&self, key: &str, placeholders: &[&str], params: P) -> Result<Rule<P>, PolicyError> {
                Ok(Rule {
                    enabled: self.enabled,
                    outcome: match self.outcome {
                        RuleOutcome::Reject => Outcome::Reject,
                        RuleOutcome::Review => Outcome::Review,
                    },
                    message_en: template(&format!("{key}.message_en"), &self.message_en, placeholders)?,
                    message_bn: template(&format!("{key}.message_bn"), &self.message_bn, placeholders)?,
                    params,
                })
            }
        }
    };
}

rule_file!(PlainRuleFile {});
rule_file!(StartWindowFile {
    max_past_minutes: u32,
    max_ahead_hours: u32
});
rule_file!(DurationFile {
    min_hours: u8,
    max_hours: u8
});
rule_file!(WeeklyLimitFile {
    max_passes: u32,
    window_days: u32
});
rule_file!(RestrictedAreaFile { areas: Vec<String> });
rule_file!(CurfewFile {
    start: String,
    end: String,
    utc_offset: String,
    allowed_reasons: Vec<String>,
});
rule_file!(ReasonReviewFile { reasons: Vec<String> });
rule_file!(CompanionsFile { max_companions: u8 });
rule_file!(DailyApplicationsFile { max_per_day: u32 });

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

fn template(key: &str, text: &str, placeholders: &[&str]) -> Result<Template, PolicyError> {
    Template::parse(text, placeholders).map_err(|problem| invalid(key, problem))
}

/// Checks `version`: it names the policy in every decision, so it must be a short label.
pub(crate) fn check_version(version: &str) -> Result<(), PolicyError> {
    if version.trim().is_empty() {
        return Err(invalid("version", "must not be empty, e.g. version = \"2026-11-21\""));
    }
    if version.len() > 64 || version.contains('#') || version.chars().any(char::is_control) {
        return Err(invalid(
            "version",
            "must be at most 64 characters, without `#` or control characters",
        ));
    }
    Ok(())
}

/// Checks the reason categories: well-formed, unique codes with both labels.
pub(crate) fn check_categories(categories: &[Category]) -> Result<(), PolicyError> {
    if categories.is_empty() {
        return Err(invalid("categories", "must list at least one reason category"));
    }
    for (i, c) in categories.iter().enumerate() {
        let key = format!("categories[{i}]");
        let well_formed = !c.code.is_empty()
            && c.code.len() <= 32
            && c.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(invalid(
                format!("{key}.code"),
                format!("`{}` must be 1-32 characters of a-z, 0-9 and _", c.code),
            ));
        }
        if categories[..i].iter().any(|o| o.code == c.code) {
            return Err(invalid(format!("{key}.code"), format!("`{}` is listed twice", c.code)));
        }
        if c.label_en.trim().is_empty() {
            return Err(invalid(format!("{key}.label_en"), "must not be empty"));
        }
        if c.label_bn.trim().is_empty() {
            return Err(invalid(format!("{key}.label_bn"), "must not be empty"));
        }
    }
    Ok(())
}

fn check_known_reasons(key: &str, reasons: &[String], categories: &[Category]) -> Result<(), PolicyError> {
    for r in reasons {
        if !categories.iter().any(|c| &c.code == r) {
            let known: Vec<&str> = categories.iter().map(|c| c.code.as_str()).collect();
            return Err(invalid(
                key,
                format!(
                    "`{r}` is not a reason category of this policy (known: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn parse_time(key: &str, text: &str) -> Result<Time, PolicyError> {
    Time::parse(text, HH_MM)
        .map_err(|_| invalid(key, format!("`{text}` is not a time of day as HH:MM, e.g. \"22:00\"")))
}

fn parse_offset(key: &str, text: &str) -> Result<UtcOffset, PolicyError> {
    let format = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    UtcOffset::parse(text, format)
        .map_err(|_| invalid(key, format!("`{text}` is not a UTC offset as ±HH:MM, e.g. \"+06:00\"")))
}

impl RulesFile {
    /// Checks every rule and turns the file into the rules the engine runs.
    pub(crate) fn into_rules(self, categories: &[Category]) -> Result<Rules, PolicyError> {
        let f = &self.start_window;
        let key = "rules.start_window";
        if f.max_ahead_hours == 0 || f.max_ahead_hours > 24 * 366 {
            return Err(invalid(
                format!("{key}.max_ahead_hours"),
                "must be between 1 and 8784 (a year)",
            ));
        }
        if f.max_past_minutes > 24 * 60 {
            return Err(invalid(
                format!("{key}.max_past_minutes"),
                "must be at most 1440 (a day)",
            ));
        }
        let start_window = f.rule(
            key,
            &["max_past_minutes", "max_ahead_hours"],
            StartWindow {
                max_past_minutes: f.max_past_minutes,
                max_ahead_hours: f.max_ahead_hours,
            },
        )?;

        let f = &self.duration;
        let key = "rules.duration";
        if f.min_hours == 0 {
            return Err(invalid(format!("{key}.min_hours"), "must be at least 1"));
        }
        if f.max_hours < f.min_hours {
            return Err(invalid(format!("{key}.max_hours"), "must not be less than min_hours"));
        }
        let duration = f.rule(
            key,
            &["min_hours", "max_hours"],
            DurationRange {
                min_hours: f.min_hours,
                max_hours: f.max_hours,
            },
        )?;

        let overlap = self.overlap.rule("rules.overlap", &[], ())?;

        let f = &self.weekly_limit;
        let key = "rules.weekly_limit";
        if f.max_passes == 0 {
            return Err(invalid(format!("{key}.max_passes"), "must be at least 1"));
        }
        if f.window_days == 0 || f.window_days > 366 {
            return Err(invalid(format!("{key}.window_days"), "must be between 1 and 366"));
        }
        let weekly_limit = f.rule(
            key,
            &["max_passes", "window_days"],
            WeeklyLimit {
                max_passes: f.max_passes,
                window_days: f.window_days,
            },
        )?;

        let f = &self.restricted_area;
        let key = "rules.restricted_area";
        for area in &f.areas {
            if area.len() < 2 || area.len() > 16 || !area.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    format!("{key}.areas"),
                    format!(
                        "`{area}` is not a geocode: use the digits of a division (\"20\"), \
                         district (\"2003\") or thana (\"20030004\")"
                    ),
                ));
            }
        }
        let restricted_area = f.rule(key, &["area"], RestrictedAreas { areas: f.areas.clone() })?;

        let f = &self.curfew;
        let key = "rules.curfew";
        let hours = CurfewHours {
            start: parse_time(&format!("{key}.start"), &f.start)?,
            end: parse_time(&format!("{key}.end"), &f.end)?,
            offset: parse_offset(&format!("{key}.utc_offset"), &f.utc_offset)?,
        };
        if hours.start == hours.end {
            return Err(invalid(
                format!("{key}.end"),
                "equals start; to lift the curfew set enabled = false",
            ));
        }
        check_known_reasons(&format!("{key}.allowed_reasons"), &f.allowed_reasons, categories)?;
        let curfew = f.rule(
            key,
            &["curfew_start", "curfew_end", "allowed_reasons", "reason"],
            Curfew {
                hours,
                allowed_reasons: f.allowed_reasons.clone(),
            },
        )?;

        let f = &self.reason_review;
        let key = "rules.reason_review";
        check_known_reasons(&format!("{key}.reasons"), &f.reasons, categories)?;
        let reason_review = f.rule(
            key,
            &["reason"],
            ReasonReview {
                reasons: f.reasons.clone(),
            },
        )?;

        let f = &self.companions;
        let companions = f.rule(
            "rules.companions",
            &["max_companions"],
            Companions {
                max_companions: f.max_companions,
            },
        )?;

        let document_on_other_phone = self
            .document_on_other_phone
            .rule("rules.document_on_other_phone", &[], ())?;

        let vehicle_overlap = self.vehicle_overlap.rule("rules.vehicle_overlap", &[], ())?;

        let f = &self.daily_applications;
        let key = "rules.daily_applications";
        // The stores count a person's applications of the day up to MAX_COUNTED_PER_DAY.
        let most = crate::ports::MAX_COUNTED_PER_DAY;
        if f.max_per_day == 0 || f.max_per_day > most {
            return Err(invalid(
                format!("{key}.max_per_day"),
                format!("must be between 1 and {most}"),
            ));
        }
        let daily_applications = f.rule(
            key,
            &["max_per_day"],
            DailyApplications {
                max_per_day: f.max_per_day,
            },
        )?;

        Ok(Rules {
            start_window,
            duration,
            overlap,
            weekly_limit,
            restricted_area,
            curfew,
            reason_review,
            companions,
            document_on_other_phone,
            vehicle_overlap,
            daily_applications,
        })
    }
}
