//! Request and response bodies of the API, as a client sees them.

use serde::{Deserialize, Serialize};

/// An RFC 9457 problem document with our stable `code`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
    #[serde(default)]
    pub retry_after: Option<i64>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub message_bn: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OtpSent {
    pub expires_in: i64,
    pub retry_after: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutboxMessage {
    pub to: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Outbox {
    pub messages: Vec<OutboxMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub id: String,
    pub phone: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
    /// The language of the user's SMS (`en` or `bn`).
    #[serde(default)]
    pub language: Option<String>,
    /// Whether the user chose it (else it is the default, `bn`).
    #[serde(default)]
    pub language_chosen: bool,
}

/// A dead job, as `GET /api/v1/admin/dead-jobs` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeadJob {
    pub id: String,
    pub kind: String,
    pub attempts: u32,
    pub last_error: String,
    pub failed_at: String,
}

/// What replaying a dead job did.
#[derive(Debug, Clone, Deserialize)]
pub struct Replayed {
    pub id: String,
    pub replayed_as: String,
}

/// `PUT /api/v1/me/profile`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileBody {
    pub name: String,
    pub date_of_birth: String,
    pub gender: String,
    pub id_type: String,
    pub id_number: String,
    pub home_area: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Area {
    pub code: String,
    pub kind: String,
    pub parent: Option<String>,
    pub name_en: String,
    pub name_bn: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlaceBody {
    pub area: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriverBody {
    pub name: String,
    pub licence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VehicleBody {
    pub kind: String,
    pub registration: String,
    pub self_driven: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<DriverBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompanionBody {
    pub name: String,
    pub relation: String,
    pub age: u8,
}

/// `POST /api/v1/applications`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationBody {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_note: Option<String>,
    pub from: PlaceBody,
    pub to: PlaceBody,
    pub start: String,
    pub duration_hours: u8,
    pub trip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<VehicleBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<CompanionBody>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ReasonView {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub message_bn: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DecisionView {
    pub outcome: String,
    pub reasons: Vec<ReasonView>,
    #[serde(default)]
    pub policy_version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    pub id: String,
    pub status: String,
    pub reason: String,
    pub from: PlaceBody,
    pub to: PlaceBody,
    pub start: String,
    pub end: String,
    pub duration_hours: u8,
    pub trip: String,
    #[serde(default)]
    pub vehicle: Option<VehicleBody>,
    #[serde(default)]
    pub companions: Vec<CompanionBody>,
    pub submitted_at: String,
    #[serde(default)]
    pub decision: Option<DecisionView>,
    #[serde(default)]
    pub pass_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pass {
    pub id: String,
    pub application_id: String,
    pub status: String,
    pub valid_from: String,
    pub valid_until: String,
    pub qr_text: String,
    pub short_code: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevokedPass {
    pub seq: i64,
    pub pass_id: String,
    pub revoked_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Revocations {
    pub seq: i64,
    pub revoked: Vec<RevokedPass>,
}

/// `GET /api/v1/stats/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSummary {
    pub applications: StatsApplications,
    pub passes: StatsPasses,
    pub review_backlog: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsApplications {
    pub total: i64,
    pub by_status: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsPasses {
    pub issued: i64,
    pub active: i64,
    pub revoked: i64,
    pub cancelled: i64,
}
