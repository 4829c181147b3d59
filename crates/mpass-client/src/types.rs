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
    pub scans: StatsScans,
}

/// Scans in the range and district, by result (`green`, `amber`, `red`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsScans {
    pub total: i64,
    pub by_result: std::collections::BTreeMap<String, i64>,
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

/// A position: a checkpoint's, or where an officer stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct PositionBody {
    pub lat: f64,
    pub lon: f64,
}

/// `POST /api/v1/verify`: exactly one of `qr_text` and `short_code`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PositionBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanned_at: Option<String>,
}

/// One reason of a verdict.
#[derive(Debug, Clone, Deserialize)]
pub struct VerdictReason {
    pub code: String,
    pub message_en: String,
    pub message_bn: String,
}

/// An area named in a verified pass.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedArea {
    pub area: String,
    pub name_en: Option<String>,
    pub name_bn: Option<String>,
}

/// The holder data an officer sees (SPEC §8).
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedPass {
    pub id: String,
    pub holder_name: String,
    pub document_last4: String,
    pub birth_year: u16,
    pub from: VerifiedArea,
    pub to: VerifiedArea,
    pub valid_from: String,
    pub valid_until: String,
    pub round_trip: bool,
    pub vehicle: Option<String>,
    pub companions: u8,
    pub reason: String,
}

/// The answer of `POST /api/v1/verify`.
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    pub result: String,
    pub reasons: Vec<VerdictReason>,
    pub pass: Option<VerifiedPass>,
    pub status: Option<String>,
    pub scan_id: String,
}

/// The answer of `POST /api/v1/verify` without the reasons and the holder's data
/// ([`Client::verify_result`](crate::Client::verify_result)).
#[derive(Debug, Clone, Deserialize)]
pub struct VerdictResult {
    pub result: String,
    pub scan_id: String,
}

impl Verdict {
    /// The reason codes, for assertions and logs.
    pub fn codes(&self) -> Vec<&str> {
        self.reasons.iter().map(|r| r.code.as_str()).collect()
    }
}

/// `POST /api/v1/checkpoints`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointBody {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
}

/// A checkpoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub area: String,
    pub area_name_en: Option<String>,
    pub area_name_bn: Option<String>,
    pub created_at: String,
}

/// One scan made offline, for `POST /api/v1/scans`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OfflineScanBody {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    pub scanned_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A logged scan, as supervisors see it.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanRow {
    pub id: String,
    pub pass_id: Option<String>,
    pub officer: String,
    pub checkpoint_id: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub result: String,
    pub reasons: Vec<String>,
    pub device_result: Option<String>,
    pub scanned_at: String,
    pub received_at: String,
    pub source: String,
    pub flagged: bool,
}

/// A page of the scan log.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanPage {
    pub items: Vec<ScanRow>,
    pub next_cursor: Option<String>,
}
