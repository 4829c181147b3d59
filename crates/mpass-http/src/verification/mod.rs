//! Police verification (SPEC §8), shared by the JSON API and the `/verify` page: check a
//! scanned pass online, log every scan, flag impossible travel, accept scans made offline.
//!
//! The verdict is the domain's [`verify_pass`] with the server's trust list, plus what only
//! the server knows: the application's current status (a pass cancelled or revoked a
//! second ago is red even before any device has synced the revocation list) and the
//! earlier scans of the same pass (impossible travel, amber). Offline scans are checked
//! again at the time they were made, so the log holds the server's verdict next to what
//! the device showed.

use mpass_domain::application::Status;
use mpass_domain::checkpoint::{self, Checkpoint};
use mpass_domain::error::ValidationErrors;
use mpass_domain::ids::{PassId, ScanId, UserId};
use mpass_domain::pass::{
    IssuedPresumption, ParsedPass, PassClaims, ReasonCode, VerdictColour, Verification, VerifyOptions,
};
use mpass_domain::ports::{PassCheck, PassKey, ScanDecider};
use mpass_domain::scan::{Scan, ScanPoint, ScanRecorded, ScanSource, first_impossible, with_reason};
use std::sync::{Arc, Mutex};

use mpass_domain::pass::TrustList;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

mod json;
mod request;
mod upload;
pub(crate) use json::{checked_json, scan_json, uploaded_json};
pub use request::VerifyRequest;
use request::{Place, Scanned, parse_time, place, scanned};
pub use upload::ScanBatch;
pub(crate) use upload::{Uploaded, upload_scans};

/// Verifications (and scan uploads) one officer may make per minute. A person scans at
/// most one pass every few seconds; the rest of the bucket absorbs bursts.
pub const VERIFY_PER_OFFICER_PER_MINUTE: u32 = 120;
/// Roles that may verify passes.
const VERIFIER_ROLES: [&str; 3] = ["police", "police_supervisor", "admin"];

/// Who is verifying: a police officer (or supervisor, or admin).
pub(crate) struct Officer {
    pub user_id: UserId,
    /// Whether one of the roles is a [`VERIFIER_ROLES`] one.
    may_verify: bool,
}

impl Officer {
    pub fn from_caller(c: &Caller) -> Officer {
        Officer::new(c.user_id, c.roles())
    }

    pub fn new(user_id: UserId, roles: &[String]) -> Officer {
        Officer {
            user_id,
            may_verify: roles.iter().any(|r| VERIFIER_ROLES.contains(&r.as_str())),
        }
    }

    /// Forbidden unless the caller may verify passes.
    pub fn must_verify(&self) -> Result<(), ApiError> {
        if self.may_verify {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    fn rate_limit(&self, state: &AppState) -> Result<(), ApiError> {
        state
            .verify_limit
            .check(self.user_id)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

/// The outcome of one check, logged.
pub(crate) struct Checked {
    pub scan_id: ScanId,
    pub result: VerdictColour,
    pub reasons: Vec<ReasonCode>,
    pub claims: Option<PassClaims>,
    pub status: Option<&'static str>,
    pub checkpoint: Option<Checkpoint>,
    /// An upload of a scan logged before: the earlier verdict.
    pub duplicate: bool,
}

/// `POST /api/v1/verify` and the page's online check: verifies, logs and answers.
pub(crate) async fn verify_online(
    state: &AppState,
    officer: &Officer,
    req: VerifyRequest,
) -> Result<Checked, ApiError> {
    officer.must_verify()?;
    officer.rate_limit(state)?;
    let now = OffsetDateTime::now_utc();
    let mut errors = ValidationErrors::default();
    let what = scanned(&mut errors, "", req.qr_text, req.short_code);
    if req.checkpoint.is_some() && req.checkpoint_id.is_some() {
        errors.add(
            "checkpoint",
            "one_allowed",
            "Send either the checkpoint position or its id, not both.",
            "চেকপোস্টের অবস্থান অথবা আইডি — যেকোনো একটি পাঠান।",
        );
    }
    let scanned_at = match req.scanned_at.as_deref() {
        Some(raw) => parse_time(&mut errors, "scanned_at".into(), raw, now),
        None => Some(now),
    };
    let position = req.checkpoint.map(|p| (p.lat, p.lon));
    let place = place(
        state,
        &mut errors,
        "checkpoint.",
        req.checkpoint_id.as_deref(),
        position,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (Some(what), Some(scanned_at)) = (what, scanned_at) else {
        return Err(ApiError::Internal("validated input missing".into()));
    };
    let scan = ScanMeta {
        officer: officer.user_id,
        scanned_at,
        verify_at: now,
        source: ScanSource::Online,
        client_id: None,
        device_result: None,
    };
    check_and_log(state, what, place, scan).await
}

/// Who scanned, when, and how the scan arrived.
struct ScanMeta {
    officer: UserId,
    scanned_at: OffsetDateTime,
    /// The instant the validity window is checked at.
    verify_at: OffsetDateTime,
    source: ScanSource,
    client_id: Option<Uuid>,
    device_result: Option<VerdictColour>,
}

/// What a check needs besides what the server knows of the pass.
struct CheckInput {
    /// The QR text decoded and checked on the presumption that it is the text this server
    /// issued (or why it did not decode); `None` for a short code.
    presented: Option<Result<IssuedPresumption, ReasonCode>>,
    by_code: bool,
    place: Place,
    meta: ScanMeta,
    trust: Arc<TrustList>,
    /// The scan's id and when the server received it.
    scan_id: ScanId,
    received_at: OffsetDateTime,
}

/// The options of the server's own checks at `place`.
fn verify_options(place: &Place) -> VerifyOptions {
    VerifyOptions {
        // The server's own list: current by definition (the status check in `decide`).
        revocation_list_age_secs: Some(0),
        checkpoint_area: place.area,
        ..VerifyOptions::default()
    }
}

/// How the decision on the store's side went.
enum Outcome {
    Decided(Checked),
    /// The text needs an Ed25519 check, left to the caller.
    Undecided(Box<CheckInput>, PassCheck),
}

async fn check_and_log(state: &AppState, what: Scanned, place: Place, meta: ScanMeta) -> Result<Checked, ApiError> {
    let (qr_text, short_code) = match what {
        Scanned::Qr(text) => (Some(text), None),
        Scanned::ShortCode(code) => (None, Some(code)),
    };
    let by_code = short_code.is_some();
    let parsed = qr_text.as_deref().map(ParsedPass::parse);
    let trust = state.pass_keys.trust_list();
    // What the server knows of the pass, in one read: its own record of the pass, the
    // application's status now (a pass cancelled or revoked a second ago is red even before
    // any device has synced the revocation list) and the earlier scans.
    let key = match (&parsed, short_code) {
        (Some(Ok(p)), _) => Some(PassKey::Id(PassId(Uuid::from_bytes(p.claimed_pass_id())))),
        (_, Some(code)) => Some(PassKey::ShortCode(code)),
        _ => None,
    };
    // Impossible travel compares a scan with a position with the pass's scans around it.
    let travel_at = (place.lat.is_some() && place.lon.is_some()).then_some(meta.scanned_at);
    // Everything about the text but its comparison with the stored one is checked here,
    // before the read: the store's side (on the embedded store, its one writer thread, which
    // every check waits on) only compares the texts and applies what it read.
    let opts = verify_options(&place);
    let at = meta.verify_at.unix_timestamp();
    let presented = parsed.map(|p| p.map(|p| p.verify_if_issued(&trust, &|_| false, at, &opts)));
    let input = CheckInput {
        presented,
        by_code,
        place,
        meta,
        trust,
        scan_id: ScanId::new(),
        received_at: OffsetDateTime::now_utc(),
    };
    // The store reads, decides and logs in one step (on the embedded store, one operation
    // of its writer). A QR text that is not byte for byte the one this server issued needs
    // an Ed25519 check (about 50 µs): that one is not made there but here, after the read,
    // and its scan logged in a second step.
    let slot = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let decider: ScanDecider = Box::new(move |known: PassCheck| {
        let (scan, outcome) = match decide(input, known) {
            Ok((scan, decided)) => (Some(scan), Outcome::Decided(decided)),
            Err(undecided) => {
                let (input, known) = *undecided;
                (None, Outcome::Undecided(Box::new(input), known))
            }
        };
        *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
        scan
    });
    let recorded = state.store.check_and_log(key, travel_at, decider).await?;
    let outcome = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (decided, recorded) = match (outcome, recorded) {
        (Some(Outcome::Decided(decided)), Some(recorded)) => (decided, recorded),
        (Some(Outcome::Undecided(input, known)), None) => {
            // The text is verified in full here, off the writer.
            let (scan, decided) = decide_verified(*input, known, None);
            let recorded = state.store.scan_record(&scan).await?;
            (decided, recorded)
        }
        _ => return Err(ApiError::Internal("the check was neither decided nor logged".into())),
    };
    Ok(match recorded {
        ScanRecorded::Inserted => decided,
        ScanRecorded::Duplicate(first) => Checked {
            scan_id: first.id,
            result: first.result,
            reasons: first.reasons,
            claims: None,
            status: None,
            checkpoint: None,
            duplicate: true,
        },
    })
}

/// The verdict on a scanned pass, as answered if the scan is logged anew, and the scan to
/// log; or the check back when its text needs an Ed25519 check (not byte for byte the
/// stored one, or no stored one), which is not made here: this runs on the store's writer.
fn decide(mut input: CheckInput, known: PassCheck) -> Result<(Scan, Checked), Box<(CheckInput, PassCheck)>> {
    // A text byte for byte the one this server signed and stored needs no second Ed25519
    // check: its verdict was reached before the read.
    let stored = known.pass.as_ref().map(|p| p.qr_text.as_str());
    let verdict = match input.presented.take() {
        Some(Ok(p)) => {
            let held = match stored {
                Some(text) => p.verification_for(text),
                None => Err(Box::new(p)),
            };
            match held {
                Ok(verdict) => Some(verdict),
                Err(p) => {
                    input.presented = Some(Ok(*p));
                    return Err(Box::new((input, known)));
                }
            }
        }
        other => {
            input.presented = other;
            None
        }
    };
    Ok(decide_verified(input, known, verdict))
}

/// [`decide`] with the presented text's verdict when the stored text stood in for its
/// signature; a presented text without one is verified in full (`ParsedPass::verify`).
fn decide_verified(input: CheckInput, known: PassCheck, verdict: Option<Verification>) -> (Scan, Checked) {
    let CheckInput {
        presented,
        by_code,
        place,
        meta,
        trust,
        scan_id,
        received_at,
    } = input;
    let opts = verify_options(&place);
    let at = meta.verify_at.unix_timestamp();
    let stored = known.pass.as_ref().map(|p| p.qr_text.as_str());
    let verification = match (verdict, presented, stored) {
        (Some(verdict), _, _) => Some(verdict),
        (None, Some(Ok(p)), _) => Some(match ParsedPass::parse(p.text()) {
            Ok(parsed) => parsed.verify(&trust, &|_| false, at, &opts, stored),
            Err(reason) => Verification::rejected(reason, None),
        }),
        (None, Some(Err(reason)), _) => Some(Verification::rejected(reason, None)),
        (None, None, Some(text)) => Some(match ParsedPass::parse(text) {
            Ok(p) => p.verify(&trust, &|_| false, at, &opts, Some(text)),
            Err(reason) => Verification::rejected(reason, None),
        }),
        (None, None, None) => None,
    };
    let (mut result, mut reasons, claims) = match verification {
        Some(v) => (v.result, v.reasons, v.claims),
        None => (VerdictColour::Red, vec![ReasonCode::UnknownShortCode], None),
    };

    let mut status = None;
    let pass_id = claims.as_ref().map(|c| PassId(Uuid::from_bytes(c.pass_id)));
    // A pass found by its short code is logged as scanned whatever its verdict; a QR text
    // names a pass only once its signature holds.
    let scanned_pass = known.pass.as_ref().filter(|_| by_code).map(|p| p.id).or(pass_id);
    let pass = known.pass.filter(|p| Some(p.id) == pass_id);
    if let (Some(p), Some(app_status)) = (&pass, known.status) {
        if matches!(app_status, Status::Revoked | Status::Cancelled) {
            result = with_reason(result, &mut reasons, ReasonCode::Revoked);
        }
        status = Some(service::pass_status(p, app_status, meta.verify_at));
    }
    let mut flagged = false;
    if let (Some(id), Some(lat), Some(lon)) = (pass_id, place.lat, place.lon) {
        let here = ScanPoint::new(lat, lon, meta.scanned_at);
        if let Some(other) = first_impossible(&here, &known.earlier) {
            flagged = true;
            result = with_reason(result, &mut reasons, ReasonCode::ImpossibleTravel);
            let km = checkpoint::distance_km(other.point.lat, other.point.lon, lat, lon);
            tracing::warn!(
                pass.id = %id,
                scan.other = %other.scan,
                scan.officer = %meta.officer,
                travel.distance_km = km.round(),
                travel.minutes = (meta.scanned_at - other.point.at()).whole_minutes().abs(),
                "scan.impossible_travel"
            );
        }
    }

    let scan = Scan {
        id: scan_id,
        client_id: meta.client_id,
        pass_id: scanned_pass,
        officer: meta.officer,
        checkpoint_id: place.checkpoint.as_ref().map(|c| c.id),
        area: place
            .checkpoint
            .as_ref()
            .map(|c| c.area.clone())
            .or_else(|| place.area.map(|a| a.to_string())),
        lat: place.lat,
        lon: place.lon,
        result,
        reasons: reasons.clone(),
        device_result: meta.device_result,
        scanned_at: meta.scanned_at,
        received_at,
        source: meta.source,
        flagged,
    };
    let checked = Checked {
        scan_id: scan.id,
        result,
        reasons,
        claims,
        status,
        checkpoint: place.checkpoint,
        duplicate: false,
    };
    (scan, checked)
}
