//! Master data an admin edits on the web: the restricted areas and the curfew hours of the
//! policy in force. The page edits the policy's TOML (keys outside these are kept as they
//! are; comments are not, since `toml` does not keep them) and the result is checked with
//! [`Policy::from_toml`] before anyone puts it in force.

use super::{Policy, PolicyError};

/// The editable part of a policy, as read from its TOML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterData {
    pub restricted_areas: Vec<String>,
    /// `HH:MM`, local time.
    pub curfew_start: String,
    /// `HH:MM`, local time.
    pub curfew_end: String,
}

fn invalid(key: &str, problem: &str) -> PolicyError {
    PolicyError::Invalid {
        key: key.to_owned(),
        problem: problem.to_owned(),
    }
}

fn rule<'a>(table: &'a toml::Table, name: &str) -> Result<&'a toml::Table, PolicyError> {
    table
        .get("rules")
        .and_then(|r| r.get(name))
        .and_then(|r| r.as_table())
        .ok_or_else(|| invalid(&format!("rules.{name}"), "is missing"))
}

fn rule_mut<'a>(table: &'a mut toml::Table, name: &str) -> Result<&'a mut toml::Table, PolicyError> {
    table
        .get_mut("rules")
        .and_then(|r| r.get_mut(name))
        .and_then(|r| r.as_table_mut())
        .ok_or_else(|| invalid(&format!("rules.{name}"), "is missing"))
}

fn parse(text: &str) -> Result<toml::Table, PolicyError> {
    Ok(text.parse::<toml::Table>()?)
}

/// The restricted areas and curfew hours of a policy text.
pub fn master_data(text: &str) -> Result<MasterData, PolicyError> {
    let table = parse(text)?;
    let areas = rule(&table, "restricted_area")?
        .get("areas")
        .and_then(|a| a.as_array())
        .ok_or_else(|| invalid("rules.restricted_area.areas", "is missing"))?;
    let curfew = rule(&table, "curfew")?;
    let hhmm = |key: &str| {
        curfew
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| invalid(&format!("rules.curfew.{key}"), "is missing"))
    };
    Ok(MasterData {
        restricted_areas: areas.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
        curfew_start: hhmm("start")?,
        curfew_end: hhmm("end")?,
    })
}

/// `text` with the restricted areas and curfew hours replaced, checked as a whole: the new
/// text and the policy it makes, or the policy error naming the key at fault.
pub fn with_master_data(text: &str, data: &MasterData) -> Result<(String, Policy), PolicyError> {
    let mut table = parse(text)?;
    let areas = data.restricted_areas.iter().cloned().map(toml::Value::String).collect();
    rule_mut(&mut table, "restricted_area")?.insert("areas".into(), toml::Value::Array(areas));
    let curfew = rule_mut(&mut table, "curfew")?;
    curfew.insert("start".into(), toml::Value::String(data.curfew_start.clone()));
    curfew.insert("end".into(), toml::Value::String(data.curfew_end.clone()));
    let out = toml::to_string(&table).map_err(|e| invalid("(policy)", &e.to_string()))?;
    let policy = Policy::from_toml(&out)?;
    Ok((out, policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DEFAULT_POLICY_TOML;

    #[test]
    fn edits_areas_and_curfew_and_keeps_the_rest() {
        let before = master_data(DEFAULT_POLICY_TOML).unwrap();
        assert_eq!(before.curfew_start, "22:00");
        assert_eq!(before.curfew_end, "05:00");
        assert!(before.restricted_areas.is_empty());
        let want = MasterData {
            restricted_areas: vec!["3026".into(), "30260045".into()],
            curfew_start: "21:30".into(),
            curfew_end: "06:00".into(),
        };
        let (text, policy) = with_master_data(DEFAULT_POLICY_TOML, &want).unwrap();
        assert_eq!(master_data(&text).unwrap(), want);
        let default = Policy::default_policy();
        assert_ne!(policy.version(), default.version(), "a changed text is a new version");
        assert_eq!(policy.categories(), default.categories());
    }

    #[test]
    fn refuses_an_invalid_result_with_the_key() {
        let bad = MasterData {
            restricted_areas: vec![],
            curfew_start: "25:00".into(),
            curfew_end: "05:00".into(),
        };
        let err = with_master_data(DEFAULT_POLICY_TOML, &bad).unwrap_err().to_string();
        assert!(err.contains("rules.curfew.start"), "{err}");
        let bad_area = MasterData {
            restricted_areas: vec!["12x".into()],
            curfew_start: "22:00".into(),
            curfew_end: "05:00".into(),
        };
        let err = with_master_data(DEFAULT_POLICY_TOML, &bad_area)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules.restricted_area.areas"), "{err}");
    }
}
