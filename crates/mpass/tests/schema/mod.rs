//! A small JSON Schema validator for the subset `/api/openapi.json` uses in its answers,
//! so the integration tests can hold the server to its document without a schema crate
//! ([`Contract`] applies it to a server's answers).
//!
//! Supported: `type` (one or a list), `properties`, `required`, `additionalProperties`
//! (`false` or a schema), `items`, `enum`, `const`, `$ref` to `#/components/schemas/...`,
//! `oneOf`, `anyOf`, `minimum`, `maximum`, `minLength`, `maxLength` and `format` (`uuid`,
//! `date-time`, `date`, checked loosely). Annotations (`description`, `examples`, ...)
//! are ignored. Any other keyword is reported as an error rather than skipped: a schema
//! the validator cannot read must not pass for a checked one.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use serde_json::Value;

mod contract;

pub use contract::Contract;

/// Keywords that say nothing about validity.
const ANNOTATIONS: [&str; 6] = [
    "description",
    "title",
    "examples",
    "default",
    "deprecated",
    "contentMediaType",
];

/// Every way `value` (at JSON pointer `at`) fails `schema`, resolving `$ref`s in `doc`.
pub fn errors(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    validate(doc, schema, value, at, &mut out);
    out
}

/// The schema a `$ref` names; `None` when it names nothing in `doc`.
pub fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let Some(keywords) = schema.as_object() else {
        out.push(format!("{at}: the schema is not an object: {schema}"));
        return;
    };
    for (key, arg) in keywords {
        match key.as_str() {
            "$ref" => match arg.as_str().and_then(|r| resolve(doc, r)) {
                Some(target) => validate(doc, target, value, at, out),
                None => out.push(format!("{at}: $ref {arg} resolves to nothing")),
            },
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if !types.iter().any(|t| has_type(value, t)) {
                    out.push(format!("{at}: expected type {arg}, got {}", shown(value)));
                }
            }
            "properties" => {
                if let (Some(obj), Some(props)) = (value.as_object(), arg.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = obj.get(name) {
                            validate(doc, sub, v, &child(at, name), out);
                        }
                    }
                }
            }
            "required" => {
                if let Some(obj) = value.as_object() {
                    for name in arg.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !obj.contains_key(name) {
                            out.push(format!(
                                "{at}: required property {name:?} is missing in {}",
                                shown(value)
                            ));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = value.as_object() {
                    let known = keywords.get("properties").and_then(Value::as_object);
                    for (name, v) in obj {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match arg {
                            Value::Bool(false) => {
                                out.push(format!("{}: property not in the schema: {}", child(at, name), shown(v)));
                            }
                            Value::Bool(true) => {}
                            sub => validate(doc, sub, v, &child(at, name), out),
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        validate(doc, arg, v, &child(at, &i.to_string()), out);
                    }
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|options| options.contains(value)) {
                    out.push(format!("{at}: {} is not one of {arg}", shown(value)));
                }
            }
            "const" => {
                if arg != value {
                    out.push(format!("{at}: expected {arg}, got {}", shown(value)));
                }
            }
            "oneOf" | "anyOf" => {
                let options = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                let reports: Vec<Vec<String>> = options.iter().map(|s| errors(doc, s, value, at)).collect();
                let matched = reports.iter().filter(|r| r.is_empty()).count();
                let ok = if key == "oneOf" { matched == 1 } else { matched >= 1 };
                if !ok {
                    out.push(format!(
                        "{at}: {key} matched {matched} of {} schemas; why each failed: {reports:?}",
                        options.len()
                    ));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(v), Some(bound)) = (value.as_f64(), arg.as_f64()) {
                    let ok = if key == "minimum" { v >= bound } else { v <= bound };
                    if !ok {
                        out.push(format!("{at}: {v} is outside {key} {bound}"));
                    }
                }
            }
            "minLength" | "maxLength" => {
                if let (Some(s), Some(bound)) = (value.as_str(), arg.as_u64()) {
                    let n = s.chars().count() as u64;
                    let ok = if key == "minLength" { n >= bound } else { n <= bound };
                    if !ok {
                        out.push(format!(
                            "{at}: {} has {n} characters, outside {key} {bound}",
                            shown(value)
                        ));
                    }
                }
            }
            "format" => {
                if let Some(s) = value.as_str() {
                    let ok = match arg.as_str() {
                        Some("uuid") => is_uuid(s),
                        Some("date-time") => is_date_time(s),
                        Some("date") => is_date(s),
                        _ => {
                            out.push(format!("{at}: the validator does not know format {arg}"));
                            continue;
                        }
                    };
                    if !ok {
                        out.push(format!("{at}: {} is not a {arg}", shown(value)));
                    }
                }
            }
            k if ANNOTATIONS.contains(&k) => {}
            other => out.push(format!("{at}: the validator does not know the keyword {other:?}")),
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// A JSON pointer one step down (RFC 6901 escaping).
fn child(at: &str, name: &str) -> String {
    format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// A value as an error shows it, cut short.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([4, 2, 2]) && parts.iter().all(|p| digits(p))
}

/// RFC 3339 in shape: a date, `T`, hh:mm:ss, optional fraction, `Z` or an offset.
fn is_date_time(s: &str) -> bool {
    let Some((date, time)) = s.split_once('T') else {
        return false;
    };
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => return false,
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let zone_ok = zone == "Z" || {
        let z = &zone[1..];
        z.len() == 5 && z.as_bytes()[2] == b':' && digits(&z[..2]) && digits(&z[3..])
    };
    let hms: Vec<&str> = hms.split(':').collect();
    is_date(date) && hms.len() == 3 && hms.iter().all(|p| p.len() == 2 && digits(p)) && digits(fraction) && zone_ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(schema: Value, value: Value) -> Vec<String> {
        let doc = json!({ "components": { "schemas": { "Id": { "type": "string", "format": "uuid" } } } });
        errors(&doc, &schema, &value, "")
    }

    #[test]
    fn the_validator_accepts_what_matches_and_names_the_pointer_of_what_does_not() {
        let schema = json!({
            "type": "object", "required": ["id", "n"], "additionalProperties": false,
            "properties": {
                "id": { "$ref": "#/components/schemas/Id" },
                "n": { "type": ["integer", "null"], "minimum": 0 },
                "tags": { "type": "array", "items": { "enum": ["a", "b"] } },
                "at": { "type": "string", "format": "date-time" },
                "one": { "oneOf": [{ "type": "string" }, { "const": 1 }] }
            }
        });
        let good = json!({ "id": "0190a0b0-0000-7000-8000-000000000001", "n": null, "tags": ["a"],
            "at": "2026-12-04T13:54:38.25+06:00", "one": 1 });
        assert_eq!(check(schema.clone(), good), Vec::<String>::new());
        let bad = json!({ "id": "x", "n": -1, "tags": ["c"], "at": "2026-12-04 13:54", "one": 2, "extra": true });
        let found = check(schema, bad).join("\n");
        for expected in [
            "/id: \"x\" is not a \"uuid\"",
            "/n: -1 is outside minimum",
            "/tags/0: \"c\" is not one of",
            "/at: \"2026-12-04 13:54\" is not a \"date-time\"",
            "/one: oneOf matched 0",
            "/extra: property not in the schema",
        ] {
            assert!(found.contains(expected), "{expected} in:\n{found}");
        }
        assert!(check(json!({ "pattern": "^a$" }), json!("a"))[0].contains("does not know the keyword"));
    }
}
