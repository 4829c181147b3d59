//! Loading policy files: the default, refused files, versions, serialisation.

use time::Duration;

use super::*;

#[test]
fn default_policy_parses_with_the_default_categories() {
    let p = Policy::default_policy();
    let codes: Vec<&str> = p.categories().iter().map(|c| c.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "medical",
            "emergency",
            "funeral",
            "essential_work",
            "goods_transport",
            "groceries",
            "agriculture",
            "other"
        ]
    );
    assert_eq!(p.category("medical").unwrap().label_bn, "চিকিৎসা");
    assert!(p.category("holiday").is_none());
    assert!(p.version().starts_with("2026-11-21#"));
    assert_eq!(p.weekly_window(), Duration::days(7));
}
#[test]
fn bad_files_are_refused_with_the_key_at_fault() {
    let err =
        Policy::from_toml(&DEFAULT_POLICY_TOML.replace("max_passes = 7", "max_passes = 7\nmax_pases = 7")).unwrap_err();
    assert!(matches!(err, PolicyError::Syntax(_)));
    assert!(err.to_string().contains("max_pases"), "{err}");

    let err = edited(|t| rule(t, "curfew")["start"] = "10pm".into()).unwrap_err();
    assert!(err.to_string().contains("HH:MM"), "{err}");
    assert_eq!(invalid_key(err), "rules.curfew.start");

    let err = edited(|t| rule(t, "curfew")["end"] = "25:00".into()).unwrap_err();
    assert_eq!(invalid_key(err), "rules.curfew.end");

    let err = edited(|t| rule(t, "curfew")["utc_offset"] = "Asia/Dhaka".into()).unwrap_err();
    assert_eq!(invalid_key(err), "rules.curfew.utc_offset");

    let err = edited(|t| {
        rule(t, "curfew")["allowed_reasons"] = toml::Value::Array(vec!["medical".into(), "medicine".into()]);
    })
    .unwrap_err();
    assert!(err.to_string().contains("`medicine` is not a reason category"), "{err}");
    assert_eq!(invalid_key(err), "rules.curfew.allowed_reasons");

    let err = edited(|t| rule(t, "reason_review")["reasons"] = toml::Value::Array(vec!["misc".into()])).unwrap_err();
    assert_eq!(invalid_key(err), "rules.reason_review.reasons");

    let err = edited(|t| t["version"] = " ".into()).unwrap_err();
    assert_eq!(invalid_key(err), "version");

    let err = edited(|t| rule(t, "weekly_limit")["message_en"] = "max {max_pass}".into()).unwrap_err();
    assert!(err.to_string().contains("{max_pass}"), "{err}");
    assert_eq!(invalid_key(err), "rules.weekly_limit.message_en");

    let err = edited(|t| rule(t, "restricted_area")["areas"] = toml::Value::Array(vec!["Dhaka".into()])).unwrap_err();
    assert_eq!(invalid_key(err), "rules.restricted_area.areas");

    let err = edited(|t| rule(t, "overlap")["outcome"] = "approve".into()).unwrap_err();
    assert!(matches!(err, PolicyError::Syntax(_)), "{err}");

    let err = edited(|t| {
        rule(t, "overlap").remove("enabled");
    })
    .unwrap_err();
    assert!(err.to_string().contains("enabled"), "{err}");

    assert!(Policy::from_toml("version = ").is_err());
    let err = edited(|t| rule(t, "curfew")["end"] = "22:00".into()).unwrap_err();
    assert_eq!(invalid_key(err), "rules.curfew.end");
}

#[test]
fn version_depends_on_the_exact_text() {
    let a = Policy::from_toml(DEFAULT_POLICY_TOML).unwrap();
    let b = Policy::from_toml(DEFAULT_POLICY_TOML).unwrap();
    assert_eq!(a.version(), b.version());
    let changed = DEFAULT_POLICY_TOML.replace("max_companions = 2", "max_companions = 3");
    let c = Policy::from_toml(&changed).unwrap();
    assert_ne!(a.version(), c.version());
    let (label, hash) = c.version().split_once('#').unwrap();
    assert_eq!(label, "2026-11-21");
    assert_eq!(hash.len(), 8);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn decision_serializes_with_snake_case_outcomes() {
    let d = decide(&input(), &facts());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["outcome"], "approve");
    assert_eq!(json["reasons"][0]["code"], "auto_approved");
    let back: Decision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
    assert_eq!(Outcome::Review.as_str(), "review");
    assert_eq!(serde_json::to_string(&Outcome::Reject).unwrap(), "\"reject\"");
}

#[test]
fn the_rules_in_force_are_the_enabled_ones_with_their_settings() {
    let policy = Policy::default_policy();
    let rules = policy.rules_in_force();
    let codes_in_order: Vec<&str> = rules.iter().map(|r| r.code).collect();
    assert_eq!(
        codes_in_order,
        [
            codes::START_OUT_OF_WINDOW,
            codes::DURATION_OUT_OF_RANGE,
            codes::OVERLAPPING_PASS,
            codes::WEEKLY_LIMIT_EXCEEDED,
            codes::RESTRICTED_AREA,
            codes::CURFEW,
            codes::REASON_NEEDS_REVIEW,
            codes::MANY_COMPANIONS,
            codes::DOCUMENT_ON_OTHER_PHONE,
            codes::VEHICLE_OVERLAPPING_PASS,
            codes::DAILY_APPLICATION_LIMIT,
        ]
    );
    let setting = |code: &str| {
        rules
            .iter()
            .find(|r| r.code == code)
            .map(|r| (r.outcome, r.setting.clone()))
    };
    assert_eq!(
        setting(codes::START_OUT_OF_WINDOW),
        Some((
            Outcome::Reject,
            RuleSetting::StartWindow {
                max_past_minutes: 15,
                max_ahead_hours: 72
            }
        ))
    );
    assert_eq!(
        setting(codes::CURFEW),
        Some((
            Outcome::Reject,
            RuleSetting::Curfew {
                start: time::macros::time!(22:00),
                end: time::macros::time!(05:00),
                allowed_reasons: vec!["medical".into(), "emergency".into()],
            }
        ))
    );

    // What the file says is what is listed: a rule switched off is not, a changed
    // setting or outcome is.
    let policy = edited(|t| {
        rule(t, "companions")["enabled"] = false.into();
        rule(t, "duration")["max_hours"] = 6.into();
        rule(t, "weekly_limit")["outcome"] = "reject".into();
    })
    .unwrap();
    let rules = policy.rules_in_force();
    assert!(rules.iter().all(|r| r.code != codes::MANY_COMPANIONS));
    assert!(rules.iter().any(|r| r.setting
        == RuleSetting::Duration {
            min_hours: 1,
            max_hours: 6
        }));
    assert!(
        rules
            .iter()
            .any(|r| r.code == codes::WEEKLY_LIMIT_EXCEEDED && r.outcome == Outcome::Reject)
    );
}
