//! The validated rules of §6 and how each one judges an application.

use time::{Duration, OffsetDateTime};

use super::curfew::CurfewHours;
use super::template::{Lang, Template, Var};
use super::{Category, Outcome, PolicyFacts, PolicyInput, RuleHit, codes};

/// The parts every rule has: a switch, the outcome of a hit and its two messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule<P> {
    pub(crate) enabled: bool,
    pub(crate) outcome: Outcome,
    pub(crate) message_en: Template,
    pub(crate) message_bn: Template,
    pub(crate) params: P,
}

impl<P> Rule<P> {
    fn hit(&self, code: &str, vars: &[Var]) -> RuleHit {
        RuleHit {
            code: code.to_owned(),
            outcome: self.outcome,
            message_en: self.message_en.render(Lang::En, vars),
            message_bn: self.message_bn.render(Lang::Bn, vars),
        }
    }
}

/// `[rules.start_window]`: how far back and ahead a trip may start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StartWindow {
    pub(crate) max_past_minutes: u32,
    pub(crate) max_ahead_hours: u32,
}

/// `[rules.duration]`: the allowed trip length in hours.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DurationRange {
    pub(crate) min_hours: u8,
    pub(crate) max_hours: u8,
}

/// `[rules.weekly_limit]`: passes per person per rolling window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WeeklyLimit {
    pub(crate) max_passes: u32,
    pub(crate) window_days: u32,
}

/// `[rules.restricted_area]`: geocode prefixes that need a human look.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RestrictedAreas {
    pub(crate) areas: Vec<String>,
}

/// `[rules.curfew]`: the nightly window and the reasons still allowed in it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Curfew {
    pub(crate) hours: CurfewHours,
    pub(crate) allowed_reasons: Vec<String>,
}

/// `[rules.reason_review]`: reason categories always looked at by a person.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReasonReview {
    pub(crate) reasons: Vec<String>,
}

/// `[rules.companions]`: how many companions pass without review.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Companions {
    pub(crate) max_companions: u8,
}

/// `[rules.daily_applications]`: applications one phone may send per rolling 24 hours.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DailyApplications {
    pub(crate) max_per_day: u32,
}

/// All rules of a policy, in the order they are checked and reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub(crate) start_window: Rule<StartWindow>,
    pub(crate) duration: Rule<DurationRange>,
    pub(crate) overlap: Rule<()>,
    pub(crate) weekly_limit: Rule<WeeklyLimit>,
    pub(crate) restricted_area: Rule<RestrictedAreas>,
    pub(crate) curfew: Rule<Curfew>,
    pub(crate) reason_review: Rule<ReasonReview>,
    pub(crate) companions: Rule<Companions>,
    pub(crate) document_on_other_phone: Rule<()>,
    pub(crate) vehicle_overlap: Rule<()>,
    pub(crate) daily_applications: Rule<DailyApplications>,
}

/// One rule of a policy that is switched on, with what it is set to ([`super::Policy::rules_in_force`]):
/// for telling people the rules in their own words, where a rule's messages are written to
/// one applicant about their own decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInForce {
    /// The reason code a hit of this rule gives ([`codes`]).
    pub code: &'static str,
    /// What a hit leads to.
    pub outcome: Outcome,
    pub setting: RuleSetting,
}

/// What a rule is set to; one variant per rule of SPEC §6, as the policy file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSetting {
    StartWindow {
        max_past_minutes: u32,
        max_ahead_hours: u32,
    },
    Duration {
        min_hours: u8,
        max_hours: u8,
    },
    Overlap,
    WeeklyLimit {
        max_passes: u32,
        window_days: u32,
    },
    /// Geocode prefixes.
    RestrictedArea {
        areas: Vec<String>,
    },
    /// The nightly hours in Bangladesh time, and the reason codes still allowed in them.
    Curfew {
        start: time::Time,
        end: time::Time,
        allowed_reasons: Vec<String>,
    },
    /// Reason codes always looked at by a person.
    ReasonReview {
        reasons: Vec<String>,
    },
    Companions {
        max_companions: u8,
    },
    DocumentOnOtherPhone,
    VehicleOverlap,
    DailyApplications {
        max_per_day: u32,
    },
}

/// Time format for curfew hours in messages and in the file.
pub(crate) const HH_MM: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

impl Rules {
    /// The enabled rules, in the order [`Rules::check`] checks them.
    pub(crate) fn in_force(&self) -> Vec<RuleInForce> {
        fn on<P>(rule: &Rule<P>, code: &'static str, setting: impl FnOnce(&P) -> RuleSetting) -> Option<RuleInForce> {
            rule.enabled.then(|| RuleInForce {
                code,
                outcome: rule.outcome,
                setting: setting(&rule.params),
            })
        }
        [
            on(&self.start_window, codes::START_OUT_OF_WINDOW, |p| {
                RuleSetting::StartWindow {
                    max_past_minutes: p.max_past_minutes,
                    max_ahead_hours: p.max_ahead_hours,
                }
            }),
            on(&self.duration, codes::DURATION_OUT_OF_RANGE, |p| {
                RuleSetting::Duration {
                    min_hours: p.min_hours,
                    max_hours: p.max_hours,
                }
            }),
            on(&self.overlap, codes::OVERLAPPING_PASS, |()| RuleSetting::Overlap),
            on(&self.weekly_limit, codes::WEEKLY_LIMIT_EXCEEDED, |p| {
                RuleSetting::WeeklyLimit {
                    max_passes: p.max_passes,
                    window_days: p.window_days,
                }
            }),
            on(&self.restricted_area, codes::RESTRICTED_AREA, |p| {
                RuleSetting::RestrictedArea { areas: p.areas.clone() }
            }),
            on(&self.curfew, codes::CURFEW, |p| RuleSetting::Curfew {
                start: p.hours.start,
                end: p.hours.end,
                allowed_reasons: p.allowed_reasons.clone(),
            }),
            on(&self.reason_review, codes::REASON_NEEDS_REVIEW, |p| {
                RuleSetting::ReasonReview {
                    reasons: p.reasons.clone(),
                }
            }),
            on(&self.companions, codes::MANY_COMPANIONS, |p| RuleSetting::Companions {
                max_companions: p.max_companions,
            }),
            on(&self.document_on_other_phone, codes::DOCUMENT_ON_OTHER_PHONE, |()| {
                RuleSetting::DocumentOnOtherPhone
            }),
            on(&self.vehicle_overlap, codes::VEHICLE_OVERLAPPING_PASS, |()| {
                RuleSetting::VehicleOverlap
            }),
            on(&self.daily_applications, codes::DAILY_APPLICATION_LIMIT, |p| {
                RuleSetting::DailyApplications {
                    max_per_day: p.max_per_day,
                }
            }),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Appends a hit for every enabled rule the application breaks.
    pub(crate) fn check(
        &self,
        categories: &[Category],
        input: &PolicyInput,
        facts: &PolicyFacts,
        hits: &mut Vec<RuleHit>,
    ) {
        let label = |code: &str| -> (String, String) {
            categories.iter().find(|c| c.code == code).map_or_else(
                || (code.to_owned(), code.to_owned()),
                |c| (c.label_en.clone(), c.label_bn.clone()),
            )
        };

        let r = &self.start_window;
        if r.enabled {
            let earliest = facts
                .now
                .saturating_sub(Duration::minutes(r.params.max_past_minutes.into()));
            let latest = facts
                .now
                .saturating_add(Duration::hours(r.params.max_ahead_hours.into()));
            if input.start < earliest || input.start > latest {
                hits.push(r.hit(
                    codes::START_OUT_OF_WINDOW,
                    &[
                        Var::num("max_past_minutes", r.params.max_past_minutes),
                        Var::num("max_ahead_hours", r.params.max_ahead_hours),
                    ],
                ));
            }
        }

        let r = &self.duration;
        if r.enabled && !(r.params.min_hours..=r.params.max_hours).contains(&input.duration_hours) {
            hits.push(r.hit(
                codes::DURATION_OUT_OF_RANGE,
                &[
                    Var::num("min_hours", r.params.min_hours),
                    Var::num("max_hours", r.params.max_hours),
                ],
            ));
        }

        if self.overlap.enabled && facts.overlapping_approved {
            hits.push(self.overlap.hit(codes::OVERLAPPING_PASS, &[]));
        }

        let r = &self.weekly_limit;
        if r.enabled && facts.passes_in_window >= r.params.max_passes {
            hits.push(r.hit(
                codes::WEEKLY_LIMIT_EXCEEDED,
                &[
                    Var::num("max_passes", r.params.max_passes),
                    Var::num("window_days", r.params.window_days),
                ],
            ));
        }

        let r = &self.restricted_area;
        if r.enabled {
            let restricted = |area: &str| r.params.areas.iter().any(|p| area.starts_with(p.as_str()));
            if let Some(area) = [&input.from_area, &input.to_area].into_iter().find(|a| restricted(a)) {
                hits.push(r.hit(codes::RESTRICTED_AREA, &[Var::code("area", area)]));
            }
        }

        let r = &self.curfew;
        if r.enabled && !r.params.allowed_reasons.contains(&input.reason) {
            let end = trip_end(input.start, input.duration_hours);
            if end.is_some_and(|end| r.params.hours.overlaps(input.start, end)) {
                let (allowed_en, allowed_bn): (Vec<_>, Vec<_>) =
                    r.params.allowed_reasons.iter().map(|c| label(c)).unzip();
                let hours = r.params.hours;
                let fmt = |t: time::Time| t.format(HH_MM).unwrap_or_default();
                hits.push(r.hit(
                    codes::CURFEW,
                    &[
                        Var::code("curfew_start", &fmt(hours.start)),
                        Var::code("curfew_end", &fmt(hours.end)),
                        Var::text("allowed_reasons", allowed_en.join(", "), allowed_bn.join(", ")),
                        reason_var(&label, &input.reason),
                    ],
                ));
            }
        }

        let r = &self.reason_review;
        if r.enabled && r.params.reasons.contains(&input.reason) {
            hits.push(r.hit(codes::REASON_NEEDS_REVIEW, &[reason_var(&label, &input.reason)]));
        }

        let r = &self.companions;
        if r.enabled && input.companions > r.params.max_companions {
            hits.push(r.hit(
                codes::MANY_COMPANIONS,
                &[Var::num("max_companions", r.params.max_companions)],
            ));
        }

        if self.document_on_other_phone.enabled && facts.document_on_other_phone {
            hits.push(self.document_on_other_phone.hit(codes::DOCUMENT_ON_OTHER_PHONE, &[]));
        }

        if self.vehicle_overlap.enabled && facts.vehicle_overlapping_approved {
            hits.push(self.vehicle_overlap.hit(codes::VEHICLE_OVERLAPPING_PASS, &[]));
        }

        let r = &self.daily_applications;
        if r.enabled && facts.applications_last_day >= r.params.max_per_day {
            hits.push(r.hit(
                codes::DAILY_APPLICATION_LIMIT,
                &[Var::num("max_per_day", r.params.max_per_day)],
            ));
        }
    }
}

fn reason_var(label: &impl Fn(&str) -> (String, String), reason: &str) -> Var {
    let (en, bn) = label(reason);
    Var::text("reason", en, bn)
}

/// The hit for a reason the policy does not (or no longer) know: a person decides.
///
/// The HTTP layer only accepts known categories, but the policy may be reloaded between
/// submission and decision; review is the safe answer, and its wording is fixed here.
pub(crate) fn unknown_reason_hit() -> RuleHit {
    RuleHit {
        code: codes::UNKNOWN_REASON.to_owned(),
        outcome: Outcome::Review,
        message_en: "The reason given is not in the current policy; an official will review \
                     this application."
            .to_owned(),
        message_bn: "আবেদনের কারণটি বর্তমান নীতিমালায় নেই; একজন কর্মকর্তা আবেদনটি যাচাই করবেন।".to_owned(),
    }
}

/// Whether a trip `[start, start + hours)` can be represented at all.
pub(crate) fn trip_end(start: OffsetDateTime, hours: u8) -> Option<OffsetDateTime> {
    start.checked_add(Duration::hours(hours.into()))
}
