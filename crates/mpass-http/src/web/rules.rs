//! The rules of the policy in force as the home page lists them: conditions about any
//! application ("The trip is longer than 12 hours."), in the page's own words, with the
//! settings the policy has ([`Policy::rules_in_force`]), so the page never disagrees with
//! the decisions.
//!
//! Why not the rules' messages: they are written to one applicant about their decision
//! ("You already have an approved pass for part of this time."), which reads wrongly in a
//! list of rules.

use mpass_domain::policy::{Outcome, Policy, RuleSetting};
use time::Time;

use super::i18n::{self, Lang};

/// What one rule objects to, with its settings as the policy in force has them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    StartWindow {
        ahead_hours: u64,
        past_minutes: u64,
    },
    Duration {
        min_hours: u64,
        max_hours: u64,
    },
    Curfew {
        /// Start and end as minutes after local midnight (Bangladesh time).
        window: (u64, u64),
        /// Labels (English, Bangla) of the reasons still allowed during curfew.
        allowed: Vec<(String, String)>,
    },
    Overlap,
    WeeklyLimit {
        max_passes: u64,
        window_days: u64,
    },
    ReasonReview {
        reasons: Vec<(String, String)>,
    },
    Companions {
        max: u64,
    },
}

/// One line of the home page's list of rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    condition: Condition,
    outcome: Outcome,
}

/// The rules of `policy` a citizen can plan around, in the order the home page lists
/// them. Not listed: restricted areas (geocode prefixes, which mean nothing to a reader;
/// a route through one is named in its decision) and the checks of what the server knows
/// of other applications and phones (a document or vehicle on another pass, applications
/// a day), which an honest applicant never meets.
pub fn rules_in_force(policy: &Policy) -> Vec<RuleLine> {
    let labels = |codes: &[String]| -> Vec<(String, String)> {
        codes
            .iter()
            .map(|c| {
                policy
                    .category(c)
                    .map_or_else(|| (c.clone(), c.clone()), |c| (c.label_en.clone(), c.label_bn.clone()))
            })
            .collect()
    };
    let minutes = |t: Time| u64::from(t.hour()) * 60 + u64::from(t.minute());
    let mut lines: Vec<(usize, RuleLine)> = policy
        .rules_in_force()
        .into_iter()
        .filter_map(|rule| {
            let (order, condition) = match rule.setting {
                RuleSetting::StartWindow {
                    max_past_minutes,
                    max_ahead_hours,
                } => (
                    0,
                    Condition::StartWindow {
                        ahead_hours: max_ahead_hours.into(),
                        past_minutes: max_past_minutes.into(),
                    },
                ),
                RuleSetting::Duration { min_hours, max_hours } => (
                    1,
                    Condition::Duration {
                        min_hours: min_hours.into(),
                        max_hours: max_hours.into(),
                    },
                ),
                RuleSetting::Curfew {
                    start,
                    end,
                    allowed_reasons,
                } => (
                    2,
                    Condition::Curfew {
                        window: (minutes(start), minutes(end)),
                        allowed: labels(&allowed_reasons),
                    },
                ),
                RuleSetting::Overlap => (3, Condition::Overlap),
                RuleSetting::WeeklyLimit {
                    max_passes,
                    window_days,
                } => (
                    4,
                    Condition::WeeklyLimit {
                        max_passes: max_passes.into(),
                        window_days: window_days.into(),
                    },
                ),
                RuleSetting::ReasonReview { reasons } if !reasons.is_empty() => (
                    5,
                    Condition::ReasonReview {
                        reasons: labels(&reasons),
                    },
                ),
                RuleSetting::Companions { max_companions } => (
                    6,
                    Condition::Companions {
                        max: max_companions.into(),
                    },
                ),
                _ => return None,
            };
            Some((
                order,
                RuleLine {
                    condition,
                    outcome: rule.outcome,
                },
            ))
        })
        .collect();
    lines.sort_by_key(|(order, _)| *order);
    lines.into_iter().map(|(_, line)| line).collect()
}

fn clock(lang: Lang, minutes: u64) -> String {
    lang.digits(&format!("{:02}:{:02}", minutes / 60, minutes % 60))
}

/// Labels joined for a sentence in `lang`.
fn labels(lang: Lang, list: &[(String, String)]) -> String {
    let names: Vec<&str> = list.iter().map(|(en, bn)| lang.pick(en, bn)).collect();
    names.join(", ")
}

impl RuleLine {
    /// The rule as one sentence in `lang`, then what it leads to.
    pub fn text(&self, l: Lang) -> String {
        let n = |v: u64| l.num(v);
        let condition = match &self.condition {
            Condition::StartWindow {
                ahead_hours,
                past_minutes,
            } => match l {
                Lang::En => format!(
                    "The trip starts more than {} from now, or started more than {} ago.",
                    i18n::hours(l, *ahead_hours),
                    i18n::count(l, *past_minutes, "minute", "minutes", "")
                ),
                Lang::Bn => format!(
                    "যাত্রা এখন থেকে {} ঘণ্টার বেশি পরে শুরু হয়, বা {} মিনিটের বেশি আগে শুরু হয়েছে।",
                    n(*ahead_hours),
                    n(*past_minutes)
                ),
            },
            Condition::Duration { min_hours, max_hours } => match (l, *min_hours <= 1) {
                (Lang::En, true) => format!("The trip is longer than {}.", i18n::hours(l, *max_hours)),
                (Lang::En, false) => format!(
                    "The trip is shorter than {} or longer than {}.",
                    i18n::hours(l, *min_hours),
                    i18n::hours(l, *max_hours)
                ),
                (Lang::Bn, true) => format!("যাত্রার সময়কাল {} ঘণ্টার বেশি।", n(*max_hours)),
                (Lang::Bn, false) => format!("যাত্রার সময়কাল {} ঘণ্টার কম বা {} ঘণ্টার বেশি।", n(*min_hours), n(*max_hours)),
            },
            Condition::Curfew { window, allowed } => {
                let hours = format!(" ({}–{})", clock(l, window.0), clock(l, window.1));
                match (l, allowed.is_empty()) {
                    (Lang::En, true) => format!("Part of the trip falls in curfew hours{hours}."),
                    (Lang::En, false) => format!(
                        "Part of the trip falls in curfew hours{hours} and its reason is not one of: {}.",
                        labels(l, allowed)
                    ),
                    (Lang::Bn, true) => format!("যাত্রার কোনো অংশ কারফিউর সময়ে{hours} পড়ে।"),
                    (Lang::Bn, false) => format!(
                        "যাত্রার কোনো অংশ কারফিউর সময়ে{hours} পড়ে, আর এর কারণ এগুলোর কোনোটি নয়: {}।",
                        labels(l, allowed)
                    ),
                }
            }
            Condition::Overlap => l
                .t(
                    "The applicant already has an approved pass for part of the time.",
                    "এই সময়ের কোনো অংশে আবেদনকারীর আরেকটি অনুমোদিত পাস আছে।",
                )
                .to_string(),
            Condition::WeeklyLimit {
                max_passes,
                window_days,
            } => match l {
                Lang::En => format!(
                    "The applicant already has {max_passes} or more approved passes within {} before or after the trip.",
                    i18n::count(l, *window_days, "day", "days", "")
                ),
                Lang::Bn => format!(
                    "যাত্রার আগে-পরে {} দিনের মধ্যে আবেদনকারীর {}টি বা তার বেশি অনুমোদিত পাস আছে।",
                    n(*window_days),
                    n(*max_passes)
                ),
            },
            Condition::ReasonReview { reasons } => match (l, reasons.len() == 1) {
                (Lang::En, true) => format!("The reason is “{}”.", labels(l, reasons)),
                (Lang::En, false) => format!("The reason is one of: {}.", labels(l, reasons)),
                (Lang::Bn, true) => format!("আবেদনের কারণ “{}”।", labels(l, reasons)),
                (Lang::Bn, false) => format!("আবেদনের কারণ এগুলোর একটি: {}।", labels(l, reasons)),
            },
            Condition::Companions { max } => match l {
                Lang::En => format!(
                    "The applicant travels with more than {}.",
                    i18n::count(l, *max, "companion", "companions", "")
                ),
                Lang::Bn => format!("আবেদনকারীর সঙ্গে সহযাত্রী {} জনের বেশি।", n(*max)),
            },
        };
        let outcome = match self.outcome {
            Outcome::Reject => l.t("The application is refused.", "আবেদন নামঞ্জুর হয়।"),
            Outcome::Review | Outcome::Approve => {
                l.t("An official checks the application.", "একজন কর্মকর্তা আবেদনটি যাচাই করেন।")
            }
        };
        format!("{condition} {outcome}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(policy: &Policy, l: Lang) -> Vec<String> {
        rules_in_force(policy).iter().map(|r| r.text(l)).collect()
    }

    #[test]
    fn the_default_policy_reads_as_rules_with_its_numbers() {
        let en = texts(&Policy::default_policy(), Lang::En);
        assert_eq!(
            en,
            [
                "The trip starts more than 72 hours from now, or started more than 15 minutes ago. The application is refused.",
                "The trip is longer than 12 hours. The application is refused.",
                "Part of the trip falls in curfew hours (22:00–05:00) and its reason is not one of: Medical, Emergency. The application is refused.",
                "The applicant already has an approved pass for part of the time. The application is refused.",
                "The applicant already has 7 or more approved passes within 7 days before or after the trip. An official checks the application.",
                "The reason is “Other”. An official checks the application.",
                "The applicant travels with more than 2 companions. An official checks the application.",
            ]
        );
        let bn = texts(&Policy::default_policy(), Lang::Bn);
        assert_eq!(bn.len(), en.len());
        assert!(bn[0].contains("৭২ ঘণ্টার") && bn[0].contains("১৫ মিনিটের"), "{}", bn[0]);
        assert!(
            bn[2].contains("(২২:০০–০৫:০০)") && bn[2].contains("চিকিৎসা, জরুরি প্রয়োজন"),
            "{}",
            bn[2]
        );
        assert!(bn[4].contains("৭টি"), "{}", bn[4]);
        for line in en.iter().chain(&bn) {
            assert!(
                !line.contains("You ") && !line.contains("আপনার"),
                "a rule, not a message: {line}"
            );
        }
    }

    #[test]
    fn numbers_follow_the_policy_in_force() {
        let text = mpass_domain::policy::DEFAULT_POLICY_TOML
            .replace("max_ahead_hours = 72", "max_ahead_hours = 1")
            .replace("max_past_minutes = 15", "max_past_minutes = 0")
            .replace("min_hours = 1\n", "min_hours = 2\n")
            .replace("max_hours = 12", "max_hours = 6")
            .replace("start = \"22:00\"", "start = \"20:30\"")
            .replace("end = \"05:00\"", "end = \"06:15\"")
            .replace("max_passes = 7", "max_passes = 3")
            .replace("window_days = 7", "window_days = 1")
            .replace("max_companions = 2", "max_companions = 1")
            .replace("reasons = [\"other\"]", "reasons = [\"groceries\", \"other\"]");
        let policy = Policy::from_toml(&text).expect("a valid policy");
        let en = texts(&policy, Lang::En);
        assert_eq!(
            en[..3],
            [
                "The trip starts more than 1 hour from now, or started more than 0 minutes ago. The application is refused.",
                "The trip is shorter than 2 hours or longer than 6 hours. The application is refused.",
                "Part of the trip falls in curfew hours (20:30–06:15) and its reason is not one of: Medical, Emergency. The application is refused.",
            ]
        );
        assert!(en[4].contains(" 3 or more approved passes within 1 day "), "{}", en[4]);
        assert_eq!(
            en[5],
            "The reason is one of: Groceries, Other. An official checks the application."
        );
        assert!(
            en[6].starts_with("The applicant travels with more than 1 companion."),
            "{}",
            en[6]
        );
    }
}
