//! The police web app at `/verify` (SPEC §8): scan or type a pass, see the verdict big,
//! keep working without a network.
//!
//! How it is put together:
//! - The page is server-rendered for a logged-in officer (the ordinary web login; the
//!   officer's roles are read from the store) and carries its configuration in a
//!   `data-config` attribute: the reason codes with their colours and messages from the
//!   domain, the checkpoints, the CSRF token and the texts of the page's language. No
//!   inline script, so the strict CSP stays.
//! - `assets/verify.js` is a port of `domain::pass::verify_pass` (strict Base45 and CBOR,
//!   COSE Sig_structure, WebCrypto Ed25519, validity with 5 minutes of clock tolerance,
//!   revocation list and its age, checkpoint on route) with the same reason codes. It
//!   checks every scan on the device first, then asks the server (`POST /verify/check`)
//!   when it can; a scan the server could not see is queued in `localStorage` and
//!   uploaded with `POST /verify/scans` when the server answers again.
//! - Calls go to same-origin endpoints under `/verify/...` authenticated by the session
//!   cookie (HttpOnly: the page's script never holds a token) and protected by the
//!   session's CSRF token in an `X-CSRF-Token` header. They run the same
//!   [`crate::verification`] functions as `POST /api/v1/verify` and `POST /api/v1/scans`.
//! - `/verify/sw.js` is a service worker (scope `/verify`) that caches the page, its
//!   assets, the trust list and the area names, network first, so a reload without a
//!   network still works. The trust list and revocations are also kept by the page with
//!   the time they were fetched, which it shows as their age.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::pass::ReasonCode;
use mpass_domain::ports::Role;
use serde_json::{Map, Value, json};

use super::assets;
use super::html::{Page, esc};
use super::i18n::Lang;
use super::login_first;
use super::session::Session;
use crate::error::ApiError;
use crate::extract::{Body, parse_json};
use crate::state::AppState;
use crate::verification::{self, Officer, ScanBatch, VerifyRequest};

/// The header carrying the session's CSRF token on the page's JSON calls.
const CSRF_HEADER: &str = "x-csrf-token";

/// The officer of this session, with roles as stored now.
async fn officer(state: &AppState, session: &Session) -> Result<Officer, ApiError> {
    let user_id = session.user.ok_or(ApiError::Unauthorized)?;
    let user = state.store.user(user_id).await?.ok_or(ApiError::Unauthorized)?;
    Ok(Officer::new(user_id, &user.role_names()))
}

fn texts(l: Lang) -> Value {
    let pairs: [(&str, &str, &str); 29] = [
        ("green", "VALID", "বৈধ"),
        ("amber", "CHECK", "যাচাই করুন"),
        ("red", "STOP", "থামান"),
        ("holder", "Holder", "ধারক"),
        ("document", "Document (last 4)", "পরিচয়পত্র (শেষ ৪)"),
        ("born", "Born", "জন্ম সাল"),
        ("route", "Route", "যাত্রাপথ"),
        ("window", "Valid", "মেয়াদ"),
        ("vehicle", "Vehicle", "যানবাহন"),
        ("companions", "Companions", "সঙ্গী"),
        ("reason", "Reason", "কারণ"),
        ("status", "Status now", "বর্তমান অবস্থা"),
        ("none", "none", "নেই"),
        (
            "device",
            "Checked on this device (offline); will be uploaded.",
            "এই ডিভাইসে যাচাই করা হয়েছে (অফলাইন); পরে আপলোড হবে।",
        ),
        ("server", "Confirmed by the server.", "সার্ভার নিশ্চিত করেছে।"),
        (
            "pending",
            "Checked on this device; asking the server…",
            "এই ডিভাইসে যাচাই হয়েছে; সার্ভারকে জিজ্ঞাসা করা হচ্ছে…",
        ),
        (
            "needs_network",
            "A short code can only be checked online. Scan the QR code instead.",
            "সংক্ষিপ্ত কোড কেবল অনলাইনে যাচাই করা যায়। কিউআর কোড স্ক্যান করুন।",
        ),
        ("trust", "Trust list", "বিশ্বস্ত কী-তালিকা"),
        ("revocations", "Revocation list", "বাতিল-তালিকা"),
        ("updated", "updated", "হালনাগাদ"),
        ("ago_min", "min ago", "মিনিট আগে"),
        ("never", "never loaded", "কখনও লোড হয়নি"),
        ("queued", "scans waiting to upload", "টি স্ক্যান আপলোডের অপেক্ষায়"),
        ("offline", "Offline", "অফলাইন"),
        ("st_active", "active", "সক্রিয়"),
        ("st_not_yet_valid", "not valid yet", "এখনও কার্যকর নয়"),
        ("st_expired", "expired", "মেয়াদ শেষ"),
        ("st_cancelled", "cancelled by the holder", "ধারক বাতিল করেছেন"),
        ("st_revoked", "revoked", "প্রত্যাহার করা হয়েছে"),
    ];
    let mut map = Map::new();
    for (key, en, bn) in pairs {
        map.insert(key.into(), json!(l.t(en, bn)));
    }
    Value::Object(map)
}

fn reasons() -> Value {
    let mut map = Map::new();
    for r in ReasonCode::ALL {
        map.insert(
            r.as_str().into(),
            json!({ "colour": r.colour(), "en": r.message_en(), "bn": r.message_bn() }),
        );
    }
    Value::Object(map)
}

/// `GET /verify`: the police app, for officers (others are sent to log in or refused).
pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    let l = session.lang;
    let officer = match officer(&state, &session).await {
        Ok(o) => o,
        Err(ApiError::Unauthorized) => return login_first(),
        Err(e) => return super::error_page(&session, &e),
    };
    if officer.must_verify().is_err() {
        return super::role_needed(&session, "/verify", Role::Police);
    }
    let checkpoints = match state.store.checkpoints().await {
        Ok(c) => c,
        Err(e) => return super::error_page(&session, &e.into()),
    };
    let config = json!({
        "lang": l.code(),
        "csrf": session.csrf,
        "sw": "/verify/sw.js",
        "reasons": reasons(),
        "t": texts(l),
        "categories": state.policy().categories().iter().map(|c| {
            (c.code.clone(), json!(l.pick(&c.label_en, &c.label_bn)))
        }).collect::<Map<String, Value>>(),
        "checkpoints": checkpoints.iter().map(|c| json!({
            "id": c.id.to_string(), "name": c.name, "area": c.area, "lat": c.lat, "lon": c.lon,
        })).collect::<Vec<_>>(),
    });
    let options: String = checkpoints
        .iter()
        .map(|c| format!("<option value=\"{}\">{}</option>", esc(&c.id.to_string()), esc(&c.name)))
        .collect();
    let body = format!(
        "<div id=\"mp-verify\" data-config=\"{config}\">\
         <p class=\"sync\" id=\"v-sync\" aria-live=\"polite\"></p>\
         <form id=\"v-form\" class=\"verify-form\">\
         <div class=\"field\"><label for=\"v-checkpoint\">{checkpoint}</label>\
         <select id=\"v-checkpoint\"><option value=\"\">{no_checkpoint}</option>{options}</select></div>\
         <div class=\"field\" id=\"v-camera-box\" hidden><button type=\"button\" id=\"v-camera\">{camera}</button>\
         <video id=\"v-video\" hidden playsinline muted></video></div>\
         <div class=\"field\"><label for=\"v-input\">{input}</label>\
         <p class=\"hint\" id=\"v-input-hint\">{hint}</p>\
         <textarea id=\"v-input\" rows=\"3\" autocomplete=\"off\" spellcheck=\"false\" aria-describedby=\"v-input-hint\"></textarea></div>\
         <button type=\"submit\" id=\"v-check\">{check}</button></form>\
         <section id=\"v-result\" class=\"verdict\" aria-live=\"assertive\" hidden>\
         <p class=\"verdict-colour\" id=\"v-colour\"></p><ul id=\"v-reasons\"></ul>\
         <dl id=\"v-holder\" class=\"holder\"></dl><p id=\"v-source\" class=\"hint\"></p></section>\
         <p id=\"v-queue\" class=\"hint\"></p></div>\
         <script src=\"{js}\" defer></script>",
        config = esc(&config.to_string()),
        checkpoint = l.t("Checkpoint", "চেকপোস্ট"),
        no_checkpoint = l.t("— not at a checkpoint —", "— চেকপোস্টে নয় —"),
        camera = l.t("Scan with the camera", "ক্যামেরা দিয়ে স্ক্যান করুন"),
        input = l.t("QR text or short code", "কিউআর লেখা অথবা সংক্ষিপ্ত কোড"),
        hint = l.t(
            "Paste the scanned text (MP1:…) or type the 8-character code from the SMS.",
            "স্ক্যান করা লেখা (MP1:…) দিন অথবা এসএমএস-এর ৮ অক্ষরের কোড লিখুন।"
        ),
        check = l.t("Check", "যাচাই করুন"),
        js = assets::verify_js_url(),
    );
    Page::new(&session, "/verify", l.t("Police verification", "পুলিশ যাচাই"), body).into_response()
}

fn csrf_ok(session: &Session, headers: &HeaderMap) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| session.csrf_ok(t))
}

/// `POST /verify/check`: the page's online check (`POST /api/v1/verify` by session).
pub async fn check(State(state): State<AppState>, session: Session, headers: HeaderMap, Body(body): Body) -> Response {
    let run = async {
        let officer = officer(&state, &session).await?;
        if !csrf_ok(&session, &headers) {
            return Err(ApiError::Forbidden);
        }
        let req: VerifyRequest = parse_json(&body)?;
        let checked = verification::verify_online(&state, &officer, req).await?;
        Ok(AxumJson(verification::checked_json(&checked)).into_response())
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// `POST /verify/scans`: the page uploads scans it made offline (`POST /api/v1/scans`).
pub async fn upload(State(state): State<AppState>, session: Session, headers: HeaderMap, Body(body): Body) -> Response {
    let run = async {
        let officer = officer(&state, &session).await?;
        if !csrf_ok(&session, &headers) {
            return Err(ApiError::Forbidden);
        }
        let batch: ScanBatch = parse_json(&body)?;
        let results = verification::upload_scans(&state, &officer, batch).await?;
        Ok(verification::uploaded_json(&results))
    };
    match run.await {
        Ok(v) => AxumJson(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /verify/sw.js`: the service worker, with the current asset names filled in.
pub async fn service_worker() -> Response {
    let body = assets::verify_sw();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            // Browsers check for a new worker on every visit; never serve a stale one.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                HeaderValue::from_static("/verify"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}
