//! The JSON shapes of verification answers: verdicts, holder data (SPEC §8), uploads and
//! scan log rows.

use mpass_domain::geo;
use mpass_domain::ids::{CheckpointId, PassId, ScanId};
use mpass_domain::pass::{PassClaims, ReasonCode, VerdictColour};
use mpass_domain::scan::Scan;
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Checked, Uploaded};
use crate::api::rfc3339;

/// An area as officers see it: geocode and names.
#[derive(Serialize)]
struct AreaJson {
    area: Cow<'static, str>,
    name_en: Option<&'static str>,
    name_bn: Option<&'static str>,
}

fn area_json(code: u64) -> AreaJson {
    match geo::areas().by_number(code) {
        Some(a) => AreaJson {
            area: Cow::Borrowed(a.code.as_str()),
            name_en: Some(a.name_en.as_str()),
            name_bn: Some(a.name_bn.as_str()),
        },
        None => AreaJson {
            area: Cow::Owned(code.to_string()),
            name_en: None,
            name_bn: None,
        },
    }
}

fn time_json(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix).ok().map(rfc3339)
}

/// A reason with its messages, in the API's shape.
#[derive(Serialize)]
pub(crate) struct ReasonJson {
    code: &'static str,
    message_en: &'static str,
    message_bn: &'static str,
}

/// The reasons with their messages, in the API's shape.
pub(crate) fn reasons_json(reasons: &[ReasonCode]) -> Vec<ReasonJson> {
    reasons
        .iter()
        .map(|r| ReasonJson {
            code: r.as_str(),
            message_en: r.message_en(),
            message_bn: r.message_bn(),
        })
        .collect()
}

/// Only what SPEC §8 lets an officer see: name, document last 4, birth year, route,
/// window, vehicle, companions and reason — all from the signed claims.
#[derive(Serialize)]
pub(crate) struct HolderJson<'a> {
    id: PassId,
    holder_name: &'a str,
    document_last4: &'a str,
    birth_year: u16,
    from: AreaJson,
    to: AreaJson,
    valid_from: Option<String>,
    valid_until: Option<String>,
    round_trip: bool,
    vehicle: Option<&'a str>,
    companions: u8,
    reason: &'a str,
}

pub(crate) fn holder_json(c: &PassClaims) -> HolderJson<'_> {
    HolderJson {
        id: PassId(Uuid::from_bytes(c.pass_id)),
        holder_name: &c.holder_name,
        document_last4: &c.document_last4,
        birth_year: c.birth_year,
        from: area_json(c.from_area),
        to: area_json(c.to_area),
        valid_from: time_json(c.not_before),
        valid_until: time_json(c.expires),
        round_trip: c.round_trip,
        vehicle: c.vehicle_registration.as_deref(),
        companions: c.companions,
        reason: &c.reason,
    }
}

#[derive(Serialize)]
pub(crate) struct CheckpointJson<'a> {
    id: CheckpointId,
    name: &'a str,
    area: &'a str,
}

/// The JSON answer of one check, serialised straight from these fields (no intermediate
/// `serde_json::Value`: this is the hot path of online verification).
#[derive(Serialize)]
pub(crate) struct CheckedJson<'a> {
    result: VerdictColour,
    reasons: Vec<ReasonJson>,
    scan_id: ScanId,
    /// Holder data only when a trusted, uncompromised key signed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pass: Option<HolderJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<CheckpointJson<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// The JSON answer of one check.
pub(crate) fn checked_json(c: &Checked) -> CheckedJson<'_> {
    CheckedJson {
        result: c.result,
        reasons: reasons_json(&c.reasons),
        scan_id: c.scan_id,
        pass: c.claims.as_ref().map(holder_json),
        status: c.status,
        checkpoint: c.checkpoint.as_ref().map(|cp| CheckpointJson {
            id: cp.id,
            name: &cp.name,
            area: &cp.area,
        }),
        duplicate: c.duplicate,
    }
}

/// The JSON answer of an upload.
pub(crate) fn uploaded_json(results: &[Uploaded]) -> Value {
    let items: Vec<Value> = results
        .iter()
        .map(|u| match u {
            Uploaded::Logged { client_id, checked } => {
                // An upload's answer names the scan, not the holder.
                let answer = CheckedJson {
                    pass: None,
                    ..checked_json(checked)
                };
                let mut v = serde_json::to_value(answer).unwrap_or_default();
                v["client_id"] = json!(client_id);
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
