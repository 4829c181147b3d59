//! The JSON shapes of verification answers: verdicts, holder data (SPEC §8), uploads and
//! scan log rows.

use mpass_domain::geo;
use mpass_domain::ids::PassId;
use mpass_domain::pass::{PassClaims, ReasonCode};
use mpass_domain::scan::Scan;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Checked, Uploaded};
use crate::api::rfc3339;

fn area_json(code: u64) -> Value {
    let code = code.to_string();
    let area = geo::areas().get(&code);
    json!({
        "area": code,
        "name_en": area.map(|a| a.name_en.as_str()),
        "name_bn": area.map(|a| a.name_bn.as_str()),
    })
}

fn time_json(unix: i64) -> Value {
    OffsetDateTime::from_unix_timestamp(unix).map_or(Value::Null, |t| json!(rfc3339(t)))
}

/// The reasons with their messages, in the API's shape.
pub(crate) fn reasons_json(reasons: &[ReasonCode]) -> Value {
    reasons
        .iter()
        .map(|r| json!({ "code": r.as_str(), "message_en": r.message_en(), "message_bn": r.message_bn() }))
        .collect()
}

/// Only what SPEC §8 lets an officer see: name, document last 4, birth year, route,
/// window, vehicle, companions and reason — all from the signed claims.
pub(crate) fn holder_json(c: &PassClaims) -> Value {
    json!({
        "id": PassId(Uuid::from_bytes(c.pass_id)).to_string(),
        "holder_name": c.holder_name,
        "document_last4": c.document_last4,
        "birth_year": c.birth_year,
        "from": area_json(c.from_area),
        "to": area_json(c.to_area),
        "valid_from": time_json(c.not_before),
        "valid_until": time_json(c.expires),
        "round_trip": c.round_trip,
        "vehicle": c.vehicle_registration,
        "companions": c.companions,
        "reason": c.reason,
    })
}

/// The JSON answer of one check.
pub(crate) fn checked_json(c: &Checked) -> Value {
    let mut body = json!({
        "result": c.result,
        "reasons": reasons_json(&c.reasons),
        "scan_id": c.scan_id.to_string(),
    });
    // Holder data only when a trusted, uncompromised key signed it.
    if let Some(claims) = &c.claims {
        body["pass"] = holder_json(claims);
    }
    if let Some(status) = c.status {
        body["status"] = json!(status);
    }
    if let Some(cp) = &c.checkpoint {
        body["checkpoint"] = json!({ "id": cp.id.to_string(), "name": cp.name, "area": cp.area });
    }
    if c.duplicate {
        body["duplicate"] = json!(true);
    }
    body
}

/// The JSON answer of an upload.
pub(crate) fn uploaded_json(results: &[Uploaded]) -> Value {
    let items: Vec<Value> = results
        .iter()
        .map(|u| match u {
            Uploaded::Logged { client_id, checked } => {
                let mut v = checked_json(checked);
                v["client_id"] = json!(client_id);
                v.as_object_mut().map(|o| o.remove("pass"));
                v
            }
            Uploaded::Refused { client_id, errors } => json!({
                "client_id": client_id,
                "error": "validation_failed",
                "errors": errors.0,
            }),
        })
        .collect();
    json!({ "results": items })
}

/// A scan as supervisors see it in the report.
pub(crate) fn scan_json(s: &Scan) -> Value {
    json!({
        "id": s.id.to_string(),
        "pass_id": s.pass_id.map(|p| p.to_string()),
        "officer": s.officer.to_string(),
        "checkpoint_id": s.checkpoint_id.map(|c| c.to_string()),
        "lat": s.lat,
        "lon": s.lon,
        "result": s.result,
        "reasons": s.reasons,
        "device_result": s.device_result,
        "scanned_at": rfc3339(s.scanned_at),
        "received_at": rfc3339(s.received_at),
        "source": s.source,
        "flagged": s.flagged,
    })
}
