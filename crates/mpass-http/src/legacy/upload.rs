//! The legacy photo flow: `POST /v1/identity/photo` hands out a pre-signed URL on this
//! server; `PUT /v1/uploads/{name}?exp=&sig=` accepts one image there.
//!
//! The URL is an HMAC-SHA256 over the new name and its expiry (5 minutes). The stated
//! content type is part of the name (`.png` = `image/png`, `.jpg` = `image/jpg`, `.jpeg` =
//! `image/jpeg`), so it is signed too, and the PUT must send exactly that type. The body is
//! capped like every photo, goes through `sanitize_photo` (type checked by content,
//! metadata stripped) and must be the stated kind; the name is marked used in the store
//! before the object is written, so a URL uploads once even when two PUTs race.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use mpass_domain::otp::hex;
use mpass_domain::photo::{ImageKind, MAX_PHOTO_BYTES, sanitize_photo};
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;

use super::{Body, LegacyError, base_url};
use crate::extract::Query;
use crate::state::AppState;

/// How long a pre-signed URL stays valid.
pub(crate) const UPLOAD_TTL_SECS: i64 = 300;
/// Body limit of the upload route: a photo at its cap plus slack for the 413 to be ours.
pub(crate) const MAX_UPLOAD_BODY: usize = MAX_PHOTO_BYTES + 64 * 1024;
/// Where uploaded photos live in the object store.
pub(crate) const UPLOAD_PREFIX: &str = "legacy/uploads/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PhotoRequest {
    content_type: Option<String>,
    filename: Option<String>,
}

/// The content type a name's extension stands for, and the image kind it must hold.
pub(crate) fn stated_type(name: &str) -> Option<(&'static str, ImageKind)> {
    let (_, ext) = name.rsplit_once('.')?;
    match ext.to_ascii_lowercase().as_str() {
        "png" => Some(("image/png", ImageKind::Png)),
        "jpg" => Some(("image/jpg", ImageKind::Jpeg)),
        "jpeg" => Some(("image/jpeg", ImageKind::Jpeg)),
        _ => None,
    }
}

/// Whether `name` is one we hand out: 32 lower-case hex and `.png`/`.jpg`/`.jpeg`.
pub(crate) fn is_upload_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 32
        && stem.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && matches!(ext, "png" | "jpg" | "jpeg")
}

fn signature(key: &[u8; 32], name: &str, exp: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("PUT\n/v1/uploads/{name}\n{exp}").as_bytes());
    mac
}

/// `POST /v1/identity/photo` → `{url, filename}`.
pub(crate) async fn presign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<PhotoRequest>,
) -> Result<Response, LegacyError> {
    let mut errors = Vec::new();
    let ct = req.content_type.as_deref().map(str::to_ascii_lowercase);
    let ext = match ct.as_deref() {
        Some("image/png") => Some("png"),
        Some("image/jpg") => Some("jpg"),
        Some("image/jpeg") => Some("jpeg"),
        _ => {
            errors.push("contentType must be image/png, image/jpg or image/jpeg".to_string());
            None
        }
    };
    let filename = req.filename.as_deref().unwrap_or("");
    let named = (filename.chars().count() <= 255 && !filename.chars().any(char::is_control))
        .then(|| stated_type(filename))
        .flatten();
    match (named, ext.and_then(|e| stated_type(&format!("x.{e}")))) {
        (None, _) => errors.push("filename must end in .png, .jpg or .jpeg".to_string()),
        (Some((_, a)), Some((_, b))) if a != b => errors.push("filename does not match contentType".to_string()),
        _ => {}
    }
    let Some(ext) = ext.filter(|_| errors.is_empty()) else {
        return Err(LegacyError::invalid(errors));
    };
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| LegacyError::from(crate::error::ApiError::Internal(e.to_string())))?;
    let name = format!("{}.{ext}", hex(&id));
    let exp = OffsetDateTime::now_utc().unix_timestamp() + UPLOAD_TTL_SECS;
    let sig = hex(&signature(&state.legacy.upload_key, &name, exp).finalize().into_bytes());
    let url = format!("{}/v1/uploads/{name}?exp={exp}&sig={sig}", base_url(&state, &headers));
    Ok(axum::Json(serde_json::json!({ "url": url, "filename": name })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Signed {
    exp: Option<i64>,
    sig: Option<String>,
}

fn forbidden(msg: &str) -> LegacyError {
    LegacyError::status(StatusCode::FORBIDDEN, msg)
}

/// `PUT /v1/uploads/{name}?exp=&sig=`: one image of the stated type, within 5 minutes.
pub(crate) async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<Signed>, crate::error::ApiError>,
    headers: HeaderMap,
    body: Result<crate::extract::Body, crate::error::ApiError>,
) -> Result<StatusCode, LegacyError> {
    let Ok(Query(Signed {
        exp: Some(exp),
        sig: Some(sig),
    })) = query
    else {
        return Err(forbidden("Missing or malformed signature"));
    };
    if !is_upload_name(&name) {
        return Err(forbidden("Invalid signature"));
    }
    let sig_bytes = decode_hex(&sig).ok_or_else(|| forbidden("Invalid signature"))?;
    signature(&state.legacy.upload_key, &name, exp)
        .verify_slice(&sig_bytes)
        .map_err(|_| forbidden("Invalid signature"))?;
    if OffsetDateTime::now_utc().unix_timestamp() > exp {
        return Err(forbidden("The upload URL has expired"));
    }
    let (stated, kind) = stated_type(&name).ok_or_else(|| forbidden("Invalid signature"))?;
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    if !sent.eq_ignore_ascii_case(stated) {
        return Err(LegacyError::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be {stated}, as stated when the URL was made"),
        ));
    }
    let crate::extract::Body(bytes) = body.map_err(LegacyError::from)?;
    let mut photo = sanitize_photo(&bytes).map_err(|e| {
        if e.code() == "photo_too_large" {
            LegacyError::status(StatusCode::PAYLOAD_TOO_LARGE, "The photo is larger than 2 MiB")
        } else {
            LegacyError::bad(format!("The photo is not acceptable: {e}"))
        }
    })?;
    if photo.kind != kind {
        return Err(LegacyError::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("The image is not {stated}"),
        ));
    }
    if !state.store.legacy_upload_use(&name, OffsetDateTime::now_utc()).await? {
        return Err(LegacyError::status(
            StatusCode::CONFLICT,
            "This upload URL was already used",
        ));
    }
    state
        .objects
        .put(&format!("{UPLOAD_PREFIX}{name}"), std::mem::take(&mut photo.bytes))
        .await?;
    tracing::info!("legacy.photo_uploaded");
    Ok(StatusCode::OK)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `GET /v1/uploads/{name}`: an uploaded photo, for the legacy client's `<img src=photo>`.
/// The name is 128 random bits, as unguessable as the public photo links of the system
/// this replaces; nothing lists uploads.
pub(crate) async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let (true, Some((_, kind))) = (is_upload_name(&name), stated_type(&name)) else {
        return LegacyError::not_found().into_response();
    };
    match state.objects.get(&format!("{UPLOAD_PREFIX}{name}")).await {
        Ok(Some(bytes)) => (
            [
                (axum::http::header::CONTENT_TYPE, kind.content_type()),
                (axum::http::header::CACHE_CONTROL, "private, max-age=86400"),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => LegacyError::not_found().into_response(),
        Err(e) => LegacyError::from(e).into_response(),
    }
}
