//! Tests of the policy engine: shared fixtures here, cases in the submodules.

mod evaluate;
mod file;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-11-21 10:00 +06:00);

fn input() -> PolicyInput {
    PolicyInput {
        reason: "groceries".into(),
        from_area: "20030004".into(),
        to_area: "20030005".into(),
        start: datetime!(2026-11-21 11:00 +06:00),
        duration_hours: 2,
        companions: 0,
        has_vehicle: false,
    }
}

fn facts() -> PolicyFacts {
    PolicyFacts {
        now: NOW,
        overlapping_approved: false,
        passes_in_window: 0,
        document_on_other_phone: false,
        vehicle_overlapping_approved: false,
        applications_last_day: 0,
    }
}

/// The default policy with `edit` applied to its TOML table.
fn edited(edit: impl FnOnce(&mut toml::Table)) -> Result<Policy, PolicyError> {
    let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
    edit(&mut table);
    Policy::from_toml(&toml::to_string(&table).unwrap())
}

fn rule<'a>(table: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    table["rules"][name].as_table_mut().unwrap()
}

fn codes_of(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|h| h.code.as_str()).collect()
}

fn decide(i: &PolicyInput, f: &PolicyFacts) -> Decision {
    Policy::default_policy().evaluate(i, f)
}

fn invalid_key(err: PolicyError) -> String {
    match err {
        PolicyError::Invalid { key, .. } => key,
        other => panic!("expected Invalid, got {other}"),
    }
}
