//! Scans made offline (`POST /api/v1/scans` and the `/verify` page's queue): each checked
//! again at the time it was made and logged once per `client_id`, however often a device
//! sends it again.

use mpass_domain::pass::VerdictColour;
use mpass_domain::scan::{MAX_SCAN_BATCH, ScanSource};
use serde::Deserialize;
use uuid::Uuid;

use super::*;

/// One scan made offline, as a device uploads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineScan {
    pub client_id: String,
    pub qr_text: Option<String>,
    pub short_code: Option<String>,
    pub checkpoint_id: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub scanned_at: String,
    /// What the device showed the officer.
    pub result: Option<VerdictColour>,
}

/// `POST /api/v1/scans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanBatch {
    pub scans: Vec<OfflineScan>,
}

/// The answer to one uploaded scan: logged (or logged before), or refused with a reason.
pub(crate) enum Uploaded {
    Logged {
        client_id: String,
        checked: Box<Checked>,
    },
    Refused {
        client_id: String,
        errors: ValidationErrors,
    },
}

/// `POST /api/v1/scans`: logs scans made offline, each checked again at its scan time.
pub(crate) async fn upload_scans(
    state: &AppState,
    officer: &Officer,
    batch: ScanBatch,
) -> Result<Vec<Uploaded>, ApiError> {
    officer.must_verify()?;
    if batch.scans.len() > MAX_SCAN_BATCH {
        return Err(ApiError::field(
            "scans",
            "too_many",
            &format!("Send at most {MAX_SCAN_BATCH} scans at a time."),
            "একবারে সর্বোচ্চ ৫০০টি স্ক্যান পাঠান।",
        ));
    }
    officer.rate_limit(state)?;
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::with_capacity(batch.scans.len());
    for (i, s) in batch.scans.into_iter().enumerate() {
        let prefix = format!("scans[{i}].");
        let mut errors = ValidationErrors::default();
        let client_id = Uuid::try_parse(&s.client_id).ok().filter(|_| s.client_id.len() == 36);
        if client_id.is_none() {
            errors.add(
                format!("{prefix}client_id"),
                "invalid",
                "The client id must be a UUID.",
                "ক্লায়েন্ট আইডি একটি UUID হতে হবে।",
            );
        }
        let what = scanned(&mut errors, &prefix, s.qr_text, s.short_code);
        let scanned_at = parse_time(&mut errors, format!("{prefix}scanned_at"), &s.scanned_at, now);
        let position = match (s.lat, s.lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => {
                errors.add(
                    format!("{prefix}lat"),
                    "both_required",
                    "Send both lat and lon, or neither.",
                    "অক্ষাংশ ও দ্রাঘিমাংশ দুটোই পাঠান, অথবা কোনোটিই নয়।",
                );
                None
            }
        };
        let place = place(state, &mut errors, &prefix, s.checkpoint_id.as_deref(), position).await?;
        let (Some(client_uuid), Some(what), Some(scanned_at), true) = (client_id, what, scanned_at, errors.is_empty())
        else {
            out.push(Uploaded::Refused {
                client_id: s.client_id,
                errors,
            });
            continue;
        };
        let meta = ScanMeta {
            officer: officer.user_id,
            scanned_at,
            verify_at: scanned_at,
            source: ScanSource::Offline,
            client_id: Some(client_uuid),
            device_result: s.result,
        };
        let checked = check_and_log(state, what, place, meta).await?;
        out.push(Uploaded::Logged {
            client_id: s.client_id,
            checked: Box::new(checked),
        });
    }
    Ok(out)
}
