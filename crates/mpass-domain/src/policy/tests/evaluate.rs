//! Each default rule hit and not hit, precedence, curfew edges, tuning, robustness.

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::*;

#[test]
fn plain_application_is_auto_approved() {
    let d = decide(&input(), &facts());
    assert_eq!(d.outcome, Outcome::Approve);
    assert_eq!(codes_of(&d), [codes::AUTO_APPROVED]);
    assert_eq!(d.policy_version, Policy::default_policy().version());
}

#[test]
fn start_window() {
    for (start, ok) in [
        (NOW - Duration::minutes(15), true),
        (NOW - Duration::minutes(16), false),
        (NOW + Duration::hours(72), true),
        (NOW + Duration::hours(72) + Duration::seconds(1), false),
    ] {
        // Noon-ish trips keep the curfew out of the way.
        let i = PolicyInput {
            start,
            duration_hours: 1,
            ..input()
        };
        let d = decide(&i, &facts());
        assert_eq!(d.outcome == Outcome::Approve, ok, "{start}: {d:?}");
        if !ok {
            assert_eq!(codes_of(&d), [codes::START_OUT_OF_WINDOW]);
            assert_eq!(d.outcome, Outcome::Reject);
            assert!(d.reasons[0].message_en.contains("15 minutes"));
            assert!(d.reasons[0].message_bn.contains("৭২ ঘণ্টা"));
        }
    }
}

#[test]
fn duration() {
    for (hours, ok) in [(0, false), (1, true), (12, false), (13, false)] {
        // 12 h from 11:00 reaches the curfew, so test 12 from an early start separately.
        let i = PolicyInput {
            duration_hours: hours,
            ..input()
        };
        let d = decide(&i, &facts());
        assert_eq!(
            codes_of(&d).contains(&codes::DURATION_OUT_OF_RANGE),
            hours == 0 || hours > 12,
            "{hours}: {d:?}"
        );
        assert_eq!(d.outcome == Outcome::Approve, ok);
    }
    let i = PolicyInput {
        start: datetime!(2026-11-22 06:00 +06:00),
        duration_hours: 12,
        ..input()
    };
    assert_eq!(decide(&i, &facts()).outcome, Outcome::Approve);
}

#[test]
fn overlap() {
    let f = PolicyFacts {
        overlapping_approved: true,
        ..facts()
    };
    let d = decide(&input(), &f);
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Reject, vec![codes::OVERLAPPING_PASS])
    );
}

#[test]
fn weekly_limit() {
    let f = |n| PolicyFacts {
        passes_in_window: n,
        ..facts()
    };
    assert_eq!(decide(&input(), &f(6)).outcome, Outcome::Approve);
    let d = decide(&input(), &f(7));
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::WEEKLY_LIMIT_EXCEEDED])
    );
    assert!(d.reasons[0].message_en.contains("7 or more passes within 7 days"));
    assert!(d.reasons[0].message_bn.contains("৭টি"));
    let p = Policy::default_policy();
    let (a, b) = p.weekly_window_around(NOW);
    assert_eq!((a, b), (NOW - Duration::days(7), NOW + Duration::days(7)));
}

#[test]
fn restricted_area_matches_by_prefix() {
    let p = edited(|t| {
        rule(t, "restricted_area")["areas"] = toml::Value::Array(vec!["2004".into(), "30260045".into()]);
    })
    .unwrap();
    let with = |from: &str, to: &str| {
        let i = PolicyInput {
            from_area: from.into(),
            to_area: to.into(),
            ..input()
        };
        p.evaluate(&i, &facts())
    };
    assert_eq!(with("20030004", "20030005").outcome, Outcome::Approve);
    let d = with("20030004", "20040007");
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::RESTRICTED_AREA])
    );
    assert!(d.reasons[0].message_en.contains("(20040007)"));
    assert!(d.reasons[0].message_bn.contains("(২০০৪০০০৭)"));
    assert_eq!(with("30260045", "20030005").outcome, Outcome::Review);
    assert_eq!(with("30260046", "20030005").outcome, Outcome::Approve);
    // A division code covers everything under it.
    let p = edited(|t| rule(t, "restricted_area")["areas"] = toml::Value::Array(vec!["20".into()])).unwrap();
    assert_eq!(p.evaluate(&input(), &facts()).outcome, Outcome::Review);
}

fn curfew_outcome(start: OffsetDateTime, hours: u8, reason: &str) -> Decision {
    let i = PolicyInput {
        start,
        duration_hours: hours,
        reason: reason.into(),
        ..input()
    };
    let f = PolicyFacts {
        now: start - Duration::hours(1),
        ..facts()
    };
    decide(&i, &f)
}

#[test]
fn curfew_edges() {
    let cases = [
        (datetime!(2026-11-21 20:00 +06:00), 2, "groceries", true),
        (datetime!(2026-11-21 21:00 +06:00), 2, "groceries", false),
        (datetime!(2026-11-21 04:30 +06:00), 1, "groceries", false),
        (datetime!(2026-11-21 05:00 +06:00), 3, "groceries", true),
        (datetime!(2026-11-21 23:00 +06:00), 1, "medical", true),
        (datetime!(2026-11-21 23:00 +06:00), 1, "emergency", true),
        (datetime!(2026-11-21 23:00 +06:00), 1, "funeral", false),
        // Daytime start running into the night.
        (datetime!(2026-11-21 12:00 +06:00), 12, "groceries", false),
        (datetime!(2026-11-21 10:00 +06:00), 12, "groceries", true),
        // Other offsets: 14:00 UTC = 20:00 Dhaka; 15:00 UTC = 21:00 Dhaka.
        (datetime!(2026-11-21 14:00 UTC), 2, "groceries", true),
        (datetime!(2026-11-21 15:00 UTC), 2, "groceries", false),
        // 23:00 -01:00 = 06:00 Dhaka next day.
        (datetime!(2026-11-21 23:00 -01:00), 3, "groceries", true),
        // 01:00 +09:00 = 22:00 Dhaka previous day.
        (datetime!(2026-11-22 01:00 +09:00), 1, "groceries", false),
    ];
    for (start, hours, reason, ok) in cases {
        let d = curfew_outcome(start, hours, reason);
        if ok {
            assert_eq!(d.outcome, Outcome::Approve, "{start} +{hours}h {reason}: {d:?}");
        } else {
            assert_eq!(
                (d.outcome, codes_of(&d)),
                (Outcome::Reject, vec![codes::CURFEW]),
                "{start} +{hours}h {reason}"
            );
        }
    }
    let d = curfew_outcome(datetime!(2026-11-21 21:00 +06:00), 2, "groceries");
    assert_eq!(
        d.reasons[0].message_en,
        "During curfew hours (22:00–05:00) travel is allowed only for: Medical, Emergency."
    );
    assert_eq!(
        d.reasons[0].message_bn,
        "কারফিউ চলাকালে (২২:০০–০৫:০০) কেবল এসব কারণে চলাচল করা যাবে: চিকিৎসা, জরুরি প্রয়োজন।"
    );
}

#[test]
fn curfew_offset_is_configurable() {
    let p = edited(|t| rule(t, "curfew")["utc_offset"] = "+00:00".into()).unwrap();
    // 21:00 Dhaka = 15:00 UTC: outside a 22:00-05:00 UTC curfew.
    let i = PolicyInput {
        start: datetime!(2026-11-21 21:00 +06:00),
        ..input()
    };
    assert_eq!(p.evaluate(&i, &facts()).outcome, Outcome::Approve);
}

#[test]
fn reason_other_companions_and_document_go_to_review() {
    let i = PolicyInput {
        reason: "other".into(),
        ..input()
    };
    let d = decide(&i, &facts());
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::REASON_NEEDS_REVIEW])
    );
    assert_eq!(
        d.reasons[0].message_en,
        "Applications for the reason \"Other\" are checked by an official."
    );

    let with = |n| PolicyInput {
        companions: n,
        ..input()
    };
    assert_eq!(decide(&with(2), &facts()).outcome, Outcome::Approve);
    let d = decide(&with(3), &facts());
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::MANY_COMPANIONS])
    );
    assert!(d.reasons[0].message_bn.contains("২ জনের"));

    let f = PolicyFacts {
        document_on_other_phone: true,
        ..facts()
    };
    let d = decide(&input(), &f);
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::DOCUMENT_ON_OTHER_PHONE])
    );
}

#[test]
fn unknown_reason_goes_to_review() {
    let i = PolicyInput {
        reason: "holiday".into(),
        ..input()
    };
    let d = decide(&i, &facts());
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::UNKNOWN_REASON])
    );
}

#[test]
fn reject_beats_review_and_every_hit_is_listed() {
    let i = PolicyInput {
        reason: "other".into(),
        companions: 4,
        start: datetime!(2026-11-21 21:30 +06:00),
        ..input()
    };
    let f = PolicyFacts {
        overlapping_approved: true,
        passes_in_window: 9,
        ..facts()
    };
    let d = decide(&i, &f);
    assert_eq!(d.outcome, Outcome::Reject);
    assert_eq!(
        codes_of(&d),
        [
            codes::OVERLAPPING_PASS,
            codes::CURFEW,
            codes::WEEKLY_LIMIT_EXCEEDED,
            codes::REASON_NEEDS_REVIEW,
            codes::MANY_COMPANIONS
        ]
    );
    // Review beats approve, with every reviewing hit.
    let i = PolicyInput {
        reason: "other".into(),
        companions: 3,
        ..input()
    };
    let d = decide(&i, &facts());
    assert_eq!(d.outcome, Outcome::Review);
    assert_eq!(codes_of(&d), [codes::REASON_NEEDS_REVIEW, codes::MANY_COMPANIONS]);
}

#[test]
fn disabled_rules_do_not_fire() {
    let p = edited(|t| {
        for name in ["curfew", "overlap", "reason_review", "companions"] {
            rule(t, name)["enabled"] = false.into();
        }
    })
    .unwrap();
    let i = PolicyInput {
        reason: "other".into(),
        companions: 4,
        start: datetime!(2026-11-21 23:00 +06:00),
        ..input()
    };
    let f = PolicyFacts {
        overlapping_approved: true,
        ..facts()
    };
    assert_eq!(p.evaluate(&i, &f).outcome, Outcome::Approve);
    assert_eq!(decide(&i, &f).outcome, Outcome::Reject);
}

#[test]
fn rules_are_tunable() {
    let p = edited(|t| {
        let w = rule(t, "weekly_limit");
        w["max_passes"] = 3.into();
        w["window_days"] = 14.into();
        w["outcome"] = "reject".into();
    })
    .unwrap();
    assert_eq!(p.weekly_window(), Duration::days(14));
    let f = PolicyFacts {
        passes_in_window: 3,
        ..facts()
    };
    let d = p.evaluate(&input(), &f);
    assert_eq!(d.outcome, Outcome::Reject);
    assert!(d.reasons[0].message_en.contains("3 or more passes within 14 days"));
}

fn any_datetime() -> impl Strategy<Value = OffsetDateTime> {
    let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT).unix_timestamp();
    let near = NOW.unix_timestamp();
    (
        prop_oneof![min..=max, near - 400_000..near + 400_000],
        -86_399i32..=86_399,
    )
        .prop_map(|(ts, off)| {
            let utc = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(NOW);
            let off = UtcOffset::from_whole_seconds(off).unwrap_or(UtcOffset::UTC);
            utc.checked_to_offset(off).unwrap_or(utc)
        })
}

#[test]
fn vehicle_on_another_persons_overlapping_pass_goes_to_review() {
    let f = PolicyFacts {
        vehicle_overlapping_approved: true,
        ..facts()
    };
    let d = decide(&input(), &f);
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::VEHICLE_OVERLAPPING_PASS])
    );
}

#[test]
fn many_applications_from_one_phone_in_a_day_go_to_review() {
    let f = |n| PolicyFacts {
        applications_last_day: n,
        ..facts()
    };
    assert_eq!(decide(&input(), &f(4)).outcome, Outcome::Approve);
    let d = decide(&input(), &f(5));
    assert_eq!(
        (d.outcome, codes_of(&d)),
        (Outcome::Review, vec![codes::DAILY_APPLICATION_LIMIT])
    );
    assert!(
        d.reasons[0].message_en.contains("More than 5 applications"),
        "{}",
        d.reasons[0].message_en
    );
    assert!(
        d.reasons[0].message_bn.contains("৫টির বেশি"),
        "{}",
        d.reasons[0].message_bn
    );
}

proptest! {
    #[test]
    fn evaluate_never_panics(
        reason in prop_oneof![Just("medical".to_owned()), Just("other".to_owned()), ".{0,12}"],
        from_area in "[0-9]{0,10}",
        to_area in ".{0,10}",
        start in any_datetime(),
        now in any_datetime(),
        duration_hours in any::<u8>(),
        companions in any::<u8>(),
        has_vehicle in any::<bool>(),
        overlapping_approved in any::<bool>(),
        passes_in_window in any::<u32>(),
        document_on_other_phone in any::<bool>(),
        vehicle_overlapping_approved in any::<bool>(),
        applications_last_day in any::<u32>(),
    ) {
        let p = edited(|t| rule(t, "restricted_area")["areas"] = toml::Value::Array(vec!["2003".into()])).unwrap();
        let i = PolicyInput { reason, from_area, to_area, start, duration_hours, companions, has_vehicle };
        let f = PolicyFacts { now, overlapping_approved, passes_in_window, document_on_other_phone, vehicle_overlapping_approved, applications_last_day };
        let d = p.evaluate(&i, &f);
        prop_assert!(!d.reasons.is_empty());
        prop_assert_eq!(d.reasons[0].outcome, d.outcome);
        prop_assert!(d.reasons.windows(2).all(|w| w[0].outcome >= w[1].outcome));
        let _ = p.weekly_window_around(start);
        let _ = i.end();
    }
}
