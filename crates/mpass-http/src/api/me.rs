//! The caller's own account: `GET /api/v1/me`, profile and photo (SPEC §3).

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mpass_domain::language::Language;
use mpass_domain::ports::StoredProfile;
use mpass_domain::profile::ProfileInput;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Body, Json};
use crate::service;
use crate::state::AppState;

/// Photo bodies may be this large (2 MiB of image plus slack, so an oversized photo gets
/// the photo error rather than a generic one).
pub const MAX_PHOTO_BODY: usize = mpass_domain::photo::MAX_PHOTO_BYTES + 64 * 1024;

/// A profile as the API shows it.
pub fn profile_json(p: &StoredProfile) -> Value {
    let mut v = serde_json::to_value(&p.profile).unwrap_or_default();
    v["has_photo"] = json!(p.photo_key.is_some());
    if p.photo_key.is_some() {
        v["photo_url"] = json!("/api/v1/me/photo");
    }
    v
}

/// `GET /api/v1/me`.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let user = state.store.user(caller.user_id).await?.ok_or(ApiError::Unauthorized)?;
    let profile = state.store.profile(caller.user_id).await?;
    let language = state.store.user_language(caller.user_id).await?;
    let mut body = json!({
        "id": user.id.to_string(),
        "phone": user.phone.as_str(),
        "roles": user.role_names(),
        "grants": user.grants,
        // The language of the user's SMS, and whether they chose it (else the default).
        "language": language.unwrap_or(Language::NOTIFICATION_DEFAULT).code(),
        "language_chosen": language.is_some(),
    });
    if let Some(p) = &profile {
        body["profile"] = profile_json(p);
    }
    Ok(AxumJson(body))
}

/// `PUT /api/v1/me/profile`: creates or replaces the profile.
pub async fn put_profile(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<ProfileInput>,
) -> Result<impl IntoResponse, ApiError> {
    let stored = service::save_profile(&state, caller.user_id, &input).await?;
    Ok(AxumJson(profile_json(&stored)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageRequest {
    language: String,
}

/// `PUT /api/v1/me/language`: the language of the caller's SMS (`en` or `bn`).
pub async fn put_language(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<LanguageRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let lang = service::parse_language(&req.language)?;
    service::set_language(&state, caller.user_id, lang).await?;
    Ok(AxumJson(json!({ "language": lang.code() })))
}

/// `PUT /api/v1/me/photo`: raw JPEG or PNG; checked by content, metadata stripped.
pub async fn put_photo(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> Result<impl IntoResponse, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !matches!(
        ct.split(';').next().unwrap_or("").trim(),
        "image/jpeg" | "image/png" | "image/jpg"
    ) {
        return Err(ApiError::UnsupportedMediaType("image/jpeg or image/png"));
    }
    let photo = service::save_photo(&state, caller.user_id, &body).await?;
    Ok(AxumJson(
        json!({ "photo_url": "/api/v1/me/photo", "width": photo.width, "height": photo.height, "content_type": photo.kind.content_type() }),
    ))
}

/// `GET /api/v1/me/photo`: the caller's own photo.
pub async fn get_photo(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let profile = state.store.profile(caller.user_id).await?.ok_or(ApiError::NotFound)?;
    let (Some(key), Some(ct)) = (profile.photo_key, profile.photo_content_type) else {
        return Err(ApiError::NotFound);
    };
    let bytes = state.objects.get(&key).await?.ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "private, max-age=300".into()),
        ],
        bytes,
    )
        .into_response())
}
