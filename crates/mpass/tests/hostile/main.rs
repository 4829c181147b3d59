//! Hostile and careless input: malformed, oversized and mistyped bodies, bad fields,
//! bad tokens, the OTP and refresh-token limits of SPEC §2, and the limit on one citizen's
//! submissions. Every refusal is a clear 4xx in problem+json.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod bodies;
mod photos;
mod submissions;

use common::*;

const JSON: Option<&str> = Some("application/json");

fn body(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

/// A valid application as JSON, to break one part at a time.
fn valid_application_json() -> serde_json::Value {
    serde_json::to_value(default_application()).expect("json")
}
