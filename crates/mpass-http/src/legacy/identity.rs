//! Legacy registration and login (SPEC §12): register creates the user by phone and our
//! `Profile`; login is phone + date of birth, as the old system had it, with failed
//! attempts limited per phone and per client address.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use mpass_domain::ids::UserId;
use mpass_domain::legacy::{DISTRICTS, LegacyRegistration, THANAS, thana_area};
use mpass_domain::phone::Phone;
use mpass_domain::profile::ProfileInput;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::upload::{UPLOAD_PREFIX, is_upload_name, stated_type};
use super::{Body, LegacyError, auth, base_url};
use crate::service::{Peer, client_ip};
use crate::state::AppState;

const DUPLICATE: &str = "Mobile phone is already registered!";
const INVALID_CREDENTIALS: &str = "Invalid credentials!";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Register {
    name: Option<String>,
    mobile_phone: Option<String>,
    district: Option<Value>,
    thana: Option<Value>,
    date_of_birth: Option<String>,
    gender: Option<String>,
    id_type: Option<String>,
    id_number: Option<String>,
    photo: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Login {
    mobile_phone: Option<String>,
    date_of_birth: Option<String>,
}

/// The legacy phone rule `^01[3-9]\d{8}$`, exactly (no prefixes, no spaces).
pub(crate) fn legacy_phone(raw: Option<&str>) -> Option<Phone> {
    let s = raw?;
    let b = s.as_bytes();
    let ok = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b.starts_with(b"01") && (b'3'..=b'9').contains(&b[2]);
    ok.then(|| Phone::parse(s)).flatten()
}

/// A legacy number: a JSON integer or a string of digits, within `range`.
pub(crate) fn legacy_number(v: Option<&Value>, range: &std::ops::RangeInclusive<u32>) -> Option<u32> {
    let n = match v? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        _ => return None,
    };
    u32::try_from(n).ok().filter(|n| range.contains(n))
}

/// The legacy name of one of our profile fields, for error messages.
fn legacy_field(field: &str) -> &str {
    match field {
        "date_of_birth" => "dateOfBirth",
        "id_type" => "idType",
        "id_number" => "idNumber",
        "home_area" => "thana",
        other => other,
    }
}

/// Checks the photo URL: an upload on this server (https unless our own base URL is
/// plain http, as in development), whose object exists. Returns its object key and type.
async fn uploaded_photo(state: &AppState, headers: &HeaderMap, url: &str) -> Result<(String, &'static str), String> {
    let base = base_url(state, headers);
    let wrong = || "photo must be the URL of a photo uploaded through /v1/identity/photo".to_string();
    let https_only = state.settings.secure_cookies && !url.starts_with("https://");
    let name = url
        .strip_prefix(&format!("{base}/v1/uploads/"))
        .map(|rest| rest.split(['?', '#']).next().unwrap_or(""))
        .filter(|n| !https_only && is_upload_name(n))
        .ok_or_else(wrong)?;
    let key = format!("{UPLOAD_PREFIX}{name}");
    let (_, kind) = stated_type(name).ok_or_else(wrong)?;
    match state.objects.get(&key).await {
        Ok(Some(_)) => Ok((key, kind.content_type())),
        Ok(None) => Err(wrong()),
        Err(e) => {
            tracing::error!(error = %e, "legacy.photo_lookup_failed");
            Err("photo could not be checked, try again".into())
        }
    }
}

/// `POST /v1/identity/register` → `{type: "bearer", token}`.
pub(crate) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<Register>,
) -> Result<Json<Value>, LegacyError> {
    let mut errors = Vec::new();
    let phone = legacy_phone(req.mobile_phone.as_deref());
    if phone.is_none() {
        errors.push("mobilePhone must be a mobile number like 01712345678".to_string());
    }
    let district = legacy_number(req.district.as_ref(), &DISTRICTS);
    if district.is_none() {
        errors.push("district must be a number from 1001 to 1075".to_string());
    }
    let thana = legacy_number(req.thana.as_ref(), &THANAS);
    if thana.is_none() {
        errors.push("thana must be a number from 10001 to 10626".to_string());
    }
    if req.id_number.as_deref().is_some_and(|n| n.chars().count() > 64) {
        errors.push("idNumber must be at most 64 characters".to_string());
    }
    let input = ProfileInput {
        name: req.name.clone(),
        date_of_birth: req.date_of_birth.clone(),
        gender: req.gender.clone(),
        id_type: req.id_type.clone(),
        id_number: req.id_number.clone(),
        // The thana's area where the mapping is known, else the configured one (see docs).
        home_area: Some(
            thana
                .and_then(thana_area)
                .map_or_else(|| state.settings.legacy_area.clone(), str::to_string),
        ),
        // The legacy client has no language; messages go out in Bangla, the default.
        language: None,
    };
    let profile = match input.validate(OffsetDateTime::now_utc().date()) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.extend(e.0.iter().map(|f| format!("{}: {}", legacy_field(&f.field), f.message)));
            None
        }
    };
    let photo = match req.photo.as_deref() {
        None => Err("photo is required".to_string()),
        Some(url) => uploaded_photo(&state, &headers, url)
            .await
            .map(|p| (url.to_string(), p)),
    };
    let photo = photo.map_err(|e| errors.push(e)).ok();
    let (Some(phone), Some(district), Some(thana), Some(profile), Some((photo_url, (key, content_type)))) =
        (phone, district, thana, profile, photo)
    else {
        return Err(LegacyError::invalid(errors));
    };
    let now = OffsetDateTime::now_utc();
    let user = state.store.user_by_phone_or_create(&phone, now).await?;
    if state.store.profile(user.id).await?.is_some() {
        return Err(LegacyError::bad(DUPLICATE));
    }
    let reg = LegacyRegistration {
        district,
        thana,
        photo_url: photo_url.clone(),
    };
    if !state.store.legacy_registration_put(user.id, &reg, now).await? {
        return Err(LegacyError::bad(DUPLICATE));
    }
    state.store.put_profile(user.id, &profile, now).await?;
    state.store.set_photo(user.id, &key, content_type, now).await?;
    tracing::info!(user.id = %user.id, "legacy.registered");
    Ok(token_answer(&state, user.id, &phone, &profile.name, &photo_url))
}

fn token_answer(state: &AppState, user: UserId, phone: &Phone, name: &str, photo: &str) -> Json<Value> {
    let token = auth::issue(state, user, phone.national(), name, photo);
    Json(json!({ "type": "bearer", "token": token }))
}

/// `DDMMYYYY` → the date, if it is one.
fn parse_ddmmyyyy(s: &str) -> Option<time::Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u8 = s[0..2].parse().ok()?;
    let month: u8 = s[2..4].parse().ok()?;
    let year: i32 = s[4..8].parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// `POST /v1/identity/login` `{mobilePhone, dateOfBirth: "DDMMYYYY"}` → `{type, token}`.
/// Failed attempts count against the phone (5 a minute) and the client address (60 a
/// minute) on this node, and against the phone's day in the store, across every node
/// (`legacy_failed_logins_per_phone_per_day`, 10 by default); beyond any of them 429,
/// before the credentials are even looked at.
pub(crate) async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<Login>,
) -> Result<Json<Value>, LegacyError> {
    let ip = client_ip(&state, &headers, peer);
    let limits = &state.legacy;
    let phone = legacy_phone(req.mobile_phone.as_deref());
    let phone_key = phone.as_ref().map(|p| p.as_str().to_string());
    let limited = limits
        .failed_by_ip
        .peek(&ip)
        .and_then(|()| phone_key.as_ref().map_or(Ok(()), |k| limits.failed_by_phone.peek(k)));
    if let Err(retry_after) = limited {
        return Err(too_many(retry_after));
    }
    // The day's allowance is counted before the date of birth is compared, so concurrent
    // guesses through any number of nodes cannot pass it; a success gives its attempt back.
    let now_ms = mpass_domain::instant::unix_ms(OffsetDateTime::now_utc());
    let day = mpass_domain::legacy::login_day(now_ms);
    if let Some(phone) = &phone
        && !state
            .store
            .legacy_login_attempt(phone, day, state.settings.legacy_failed_logins_per_phone_per_day)
            .await?
    {
        tracing::info!("legacy.login_refused_for_the_day");
        return Err(too_many(mpass_domain::legacy::login_day_wait(now_ms)));
    }
    let found = match (&phone, req.date_of_birth.as_deref().and_then(parse_ddmmyyyy)) {
        (Some(phone), Some(dob)) => match state.store.user_by_phone(phone).await? {
            Some(user) => state
                .store
                .profile(user.id)
                .await?
                .filter(|p| p.profile.date_of_birth == dob)
                .map(|p| (user, p)),
            None => None,
        },
        _ => None,
    };
    let Some((user, profile)) = found else {
        let by_ip = limits.failed_by_ip.check(ip);
        let by_phone = phone_key.map_or(Ok(()), |k| limits.failed_by_phone.check(k));
        tracing::info!("legacy.login_failed");
        return match by_ip.and(by_phone) {
            Err(retry_after) => Err(too_many(retry_after)),
            Ok(()) => Err(LegacyError::bad(INVALID_CREDENTIALS)),
        };
    };
    state.store.legacy_login_refund(&user.phone, day).await?;
    let photo = state
        .store
        .legacy_registration(user.id)
        .await?
        .map(|r| r.photo_url)
        .unwrap_or_default();
    tracing::info!(user.id = %user.id, "legacy.login");
    Ok(token_answer(
        &state,
        user.id,
        &user.phone,
        &profile.profile.name,
        &photo,
    ))
}

fn too_many(retry_after: i64) -> LegacyError {
    LegacyError {
        status: StatusCode::TOO_MANY_REQUESTS,
        messages: vec!["Too many failed attempts, try again later".into()],
        retry_after: Some(retry_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_rules() {
        assert!(legacy_phone(Some("01712345678")).is_some());
        assert!(legacy_phone(Some("+8801712345678")).is_none());
        assert!(legacy_phone(Some("01212345678")).is_none());
        assert_eq!(legacy_number(Some(&json!(1001)), &DISTRICTS), Some(1001));
        assert_eq!(legacy_number(Some(&json!("10626")), &THANAS), Some(10626));
        assert_eq!(legacy_number(Some(&json!(1076)), &DISTRICTS), None);
        assert_eq!(legacy_number(Some(&json!(-1)), &DISTRICTS), None);
        assert_eq!(legacy_number(Some(&json!(1001.5)), &DISTRICTS), None);
        assert_eq!(
            parse_ddmmyyyy("12041990"),
            time::Date::from_calendar_date(1990, time::Month::April, 12).ok()
        );
        assert_eq!(parse_ddmmyyyy("31021990"), None);
        assert_eq!(parse_ddmmyyyy("1990-04-12"), None);
    }
}
