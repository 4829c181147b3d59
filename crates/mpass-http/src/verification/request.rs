//! What a check asks: the request's shapes, and their parsing into what was scanned, when
//! and where (shared by the online check and the upload of offline scans).

use mpass_domain::checkpoint::{self, Checkpoint, check_position};
use mpass_domain::error::ValidationErrors;
use mpass_domain::ids::CheckpointId;
use mpass_domain::pass::normalize_short_code;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;
use crate::state::AppState;

/// How far ahead of the server clock a device's scan time may be.
const MAX_CLOCK_AHEAD_SECS: i64 = 300;
/// Oldest offline scan accepted for upload.
const MAX_OFFLINE_AGE: Duration = Duration::days(30);
/// Longest short code input accepted (the code is 8 characters, maybe with separators).
const MAX_SHORT_CODE_INPUT: usize = 32;
/// A position in a request.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

/// `POST /api/v1/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub qr_text: Option<String>,
    pub short_code: Option<String>,
    pub checkpoint: Option<Position>,
    pub checkpoint_id: Option<String>,
    /// When the officer scanned, RFC 3339; logged (the check itself uses the server clock).
    pub scanned_at: Option<String>,
}

/// What was scanned.
pub(super) enum Scanned {
    Qr(String),
    ShortCode(String),
}

/// Where it was scanned.
#[derive(Default)]
pub(super) struct Place {
    pub(super) checkpoint: Option<Checkpoint>,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    /// Geocode of the thana, for the route check.
    pub(super) area: Option<u64>,
}

/// What was scanned: the QR text or a well-formed short code, exactly one of them.
pub(super) fn scanned(
    errors: &mut ValidationErrors,
    prefix: &str,
    qr_text: Option<String>,
    short_code: Option<String>,
) -> Option<Scanned> {
    match (qr_text, short_code) {
        (Some(q), None) => Some(Scanned::Qr(q)),
        (None, Some(code)) => {
            let normalized = (code.len() <= MAX_SHORT_CODE_INPUT)
                .then(|| normalize_short_code(&code))
                .flatten();
            if normalized.is_none() {
                errors.add(
                    format!("{prefix}short_code"),
                    "invalid",
                    "A short code is 8 letters and digits.",
                    "সংক্ষিপ্ত কোড ৮টি অক্ষর ও অঙ্ক।",
                );
            }
            normalized.map(Scanned::ShortCode)
        }
        _ => {
            errors.add(
                format!("{prefix}qr_text"),
                "one_required",
                "Send either the QR text or the short code.",
                "কিউআর লেখা অথবা সংক্ষিপ্ত কোড — যেকোনো একটি পাঠান।",
            );
            None
        }
    }
}

/// A device's scan time: RFC 3339, not in the future (beyond the clock's slack) and not
/// older than an offline scan may be.
pub(super) fn parse_time(
    errors: &mut ValidationErrors,
    field: String,
    raw: &str,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let parsed = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok();
    match parsed {
        Some(t) if t <= now + Duration::seconds(MAX_CLOCK_AHEAD_SECS) && t >= now - MAX_OFFLINE_AGE => Some(t),
        Some(_) => {
            errors.add(
                field,
                "out_of_range",
                "The scan time must be within the last 30 days and not in the future.",
                "স্ক্যানের সময় গত ৩০ দিনের মধ্যে হতে হবে, ভবিষ্যতে নয়।",
            );
            None
        }
        None => {
            errors.add(
                field,
                "invalid",
                "Use an RFC 3339 time, e.g. 2026-04-01T10:00:00+06:00.",
                "RFC 3339 সময় দিন, যেমন 2026-04-01T10:00:00+06:00।",
            );
            None
        }
    }
}

/// Where a check was made: a known checkpoint, or a position with its nearest thana.
pub(super) async fn place(
    state: &AppState,
    errors: &mut ValidationErrors,
    prefix: &str,
    checkpoint_id: Option<&str>,
    position: Option<(f64, f64)>,
) -> Result<Place, ApiError> {
    if let Some(raw) = checkpoint_id {
        let found = match CheckpointId::parse(raw) {
            Some(id) => state.store.checkpoint(id).await?,
            None => None,
        };
        let Some(cp) = found else {
            errors.add(
                format!("{prefix}checkpoint_id"),
                "unknown_checkpoint",
                "No such checkpoint.",
                "এমন কোনো চেকপোস্ট নেই।",
            );
            return Ok(Place::default());
        };
        return Ok(Place {
            lat: Some(cp.lat),
            lon: Some(cp.lon),
            area: cp.area.parse().ok(),
            checkpoint: Some(cp),
        });
    }
    let Some((lat, lon)) = position else {
        return Ok(Place::default());
    };
    let before = errors.0.len();
    check_position(errors, prefix, lat, lon);
    if errors.0.len() > before {
        return Ok(Place::default());
    }
    Ok(Place {
        checkpoint: None,
        lat: Some(lat),
        lon: Some(lon),
        area: checkpoint::nearest_thana(lat, lon).and_then(|a| a.code.parse().ok()),
    })
}
