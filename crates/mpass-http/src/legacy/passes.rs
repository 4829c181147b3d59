//! Legacy passes (SPEC §12): apply (`POST /v1/passes`, token in the body), list (newest
//! `endAt` first, 25 a page, `nextKey`) and detail with the applicant.
//!
//! An application is translated into our `ApplicationInput` and submitted through
//! `service::submit_application`, exactly like a native one. Its destination is the
//! legacy thana's area where the mapping is known, its origin the applicant's home area
//! (else the configured `legacy_area`). What the old API has that ours has not is kept in
//! `details.legacy`: the district and thana numbers as sent, the free-text locations and
//! the free-text reason (a reason that names one of the policy's categories, or one of the
//! old client's fixed reasons that clearly is one, is that category; any other is
//! `other`, with the text as its note).

use axum::Json;
use axum::extract::{Path, State};
use mpass_domain::application::{Application, ApplicationInput, DriverInput, PlaceInput, Trip, VehicleInput};
use mpass_domain::ids::ApplicationId;
use mpass_domain::legacy::{
    DISTRICTS, LegacyOrigin, THANAS, numbers_for_area, reason_category, status_word, thana_area,
};
use mpass_domain::policy::Policy;
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::auth::{LegacyCaller, header_token, verify};
use super::identity::legacy_number;
use super::{Body, LegacyError, iso_ms};
use crate::extract::Query;
use crate::service;
use crate::state::AppState;

/// Passes per page of `GET /v1/passes`.
const PAGE: usize = 25;
/// Most applications of one person read to build the legacy list (ordered by `endAt`,
/// which the store does not index per user); far above what one person applies for.
const MAX_SCANNED: usize = 2000;
/// How far ahead a legacy application may start (SPEC §12: within the next 24 hours).
const MAX_AHEAD: Duration = Duration::hours(24);
/// How far back a start is still "now" (a slow client, a clock a little off).
const MAX_BEHIND: Duration = Duration::minutes(15);

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Apply {
    token: Option<String>,
    from_location: Option<String>,
    to_location: Option<String>,
    district: Option<Value>,
    thana: Option<Value>,
    date_time: Option<String>,
    duration_in_hour: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
    include_vehicle: Option<bool>,
    vehicle_no: Option<String>,
    self_driven: Option<bool>,
    driver_name: Option<String>,
    driver_license_no: Option<String>,
}

fn text(field: &str, v: Option<&str>, max: usize, errors: &mut Vec<String>) -> Option<String> {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control) => Some(s.to_string()),
        _ => {
            errors.push(format!("{field} is required, at most {max} characters"));
            None
        }
    }
}

/// Where a legacy application goes from and to, in our areas: `home` is the applicant's
/// home thana, `fallback` the configured area for a destination thana with no mapping.
struct Areas<'a> {
    home: &'a str,
    fallback: &'a str,
}

/// Parses the legacy body into our application input and what only the legacy API has.
fn translate(
    req: &Apply,
    areas: &Areas<'_>,
    is_reason: &dyn Fn(&str) -> bool,
    now: OffsetDateTime,
) -> Result<(ApplicationInput, LegacyOrigin), LegacyError> {
    let mut errors = Vec::new();
    let from = text("fromLocation", req.from_location.as_deref(), 64, &mut errors);
    let to = text("toLocation", req.to_location.as_deref(), 64, &mut errors);
    let reason = text("reason", req.reason.as_deref(), 64, &mut errors);
    let district = legacy_number(req.district.as_ref(), &DISTRICTS);
    if district.is_none() {
        errors.push("district must be a number from 1001 to 1075".into());
    }
    let thana = legacy_number(req.thana.as_ref(), &THANAS);
    if thana.is_none() {
        errors.push("thana must be a number from 10001 to 10626".into());
    }
    let start = req
        .date_time
        .as_deref()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    match start {
        None => errors.push("dateTime must be an ISO-8601 time, e.g. 2021-04-14T10:00:00.000Z".into()),
        Some(t) if t < now - MAX_BEHIND || t > now + MAX_AHEAD => {
            errors.push("dateTime must be within the next 24 hours".into());
        }
        Some(_) => {}
    }
    let hours = req
        .duration_in_hour
        .as_ref()
        .and_then(Value::as_i64)
        .filter(|h| (1..=12).contains(h));
    if hours.is_none() {
        errors.push("durationInHour must be a whole number from 1 to 12".into());
    }
    let trip = match req.kind.as_deref() {
        Some("R") => Some(Trip::RoundTrip),
        Some("O") => Some(Trip::OneWay),
        _ => {
            errors.push("type must be R (round trip) or O (one way)".into());
            None
        }
    };
    let vehicle = match req.include_vehicle {
        None => {
            errors.push("includeVehicle must be true or false".into());
            None
        }
        Some(false) => None,
        Some(true) => {
            // The old limits (64) here; our own rules (a compact plate of at most 16
            // characters, a licence of at most 32) when the input is validated below.
            let registration = text("vehicleNo", req.vehicle_no.as_deref(), 64, &mut errors);
            let self_driven = req.self_driven.unwrap_or(true);
            let driver = (!self_driven).then(|| DriverInput {
                name: text("driverName", req.driver_name.as_deref(), 64, &mut errors),
                licence: text("driverLicenseNo", req.driver_license_no.as_deref(), 64, &mut errors),
            });
            Some(VehicleInput {
                kind: Some("other".into()),
                registration,
                self_driven: Some(self_driven),
                driver,
            })
        }
    };
    let (Some(from), Some(to), Some(reason), Some(district), Some(thana), Some(start), Some(hours), Some(trip)) =
        (from, to, reason, district, thana, start, hours, trip)
    else {
        return Err(LegacyError::invalid(errors));
    };
    if !errors.is_empty() {
        return Err(LegacyError::invalid(errors));
    }
    let (code, note) = match reason_category(&reason, is_reason) {
        Some(category) => (category, None),
        None => ("other".to_string(), Some(reason.clone())),
    };
    let place = |area: &str, address: &str| PlaceInput {
        area: Some(area.to_string()),
        address: Some(address.to_string()),
        lat: None,
        lon: None,
    };
    let input = ApplicationInput {
        reason: Some(code),
        reason_note: note,
        from: Some(place(areas.home, &from)),
        to: Some(place(thana_area(thana).unwrap_or(areas.fallback), &to)),
        start: start.format(&Rfc3339).ok(),
        duration_hours: Some(hours),
        trip: Some(match trip {
            Trip::OneWay => "one_way".into(),
            Trip::RoundTrip => "round_trip".into(),
        }),
        vehicle,
        companions: None,
    };
    let origin = LegacyOrigin {
        district,
        thana,
        from_location: from,
        to_location: to,
        reason,
    };
    Ok((input, origin))
}

/// The legacy name of one of our application fields, for error messages.
fn legacy_field(field: &str) -> &str {
    match field {
        "vehicle.registration" => "vehicleNo",
        "vehicle.driver" | "vehicle.driver.name" => "driverName",
        "vehicle.driver.licence" => "driverLicenseNo",
        "start" => "dateTime",
        "duration_hours" => "durationInHour",
        "from.address" => "fromLocation",
        "to.address" => "toLocation",
        "reason_note" => "reason",
        other => other,
    }
}

/// `POST /v1/passes` → `{"success": true}` once the application is durably stored.
pub(crate) async fn submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Body(req): Body<Apply>,
) -> Result<Json<Value>, LegacyError> {
    let caller = match (req.token.as_deref(), header_token(&parts)) {
        (Some(t), _) if !t.trim().is_empty() => verify(&state, t.trim())?,
        (_, Some(t)) => verify(&state, t?)?,
        _ => return Err(LegacyError::no_token()),
    };
    let policy = state.policy();
    let profile = state.store.profile(caller.user_id).await?;
    let areas = Areas {
        home: profile
            .as_ref()
            .map_or(state.settings.legacy_area.as_str(), |p| p.profile.home_area.as_str()),
        fallback: &state.settings.legacy_area,
    };
    let (input, origin) = translate(
        &req,
        &areas,
        &|r| policy.category(r).is_some(),
        OffsetDateTime::now_utc(),
    )?;
    // Validate as the native API does, then attach what only the legacy API carries.
    let mut details = input.validate(&|r| policy.category(r).is_some()).map_err(|e| {
        LegacyError::invalid(
            e.0.into_iter()
                .map(|f| format!("{}: {}", legacy_field(&f.field), f.message))
                .collect(),
        )
    })?;
    details.legacy = Some(origin);
    service::submit_details(&state, caller.user_id, details).await?;
    Ok(Json(json!({ "success": true })))
}

/// One pass item of the legacy API. A native application's reason reads as its
/// category's English label in `policy` (the legacy clients show it as written).
fn item(app: &Application, policy: &Policy) -> Value {
    let d = &app.details;
    let legacy = d.legacy.as_ref();
    // A native application has no legacy numbers: those that show its destination.
    let (district, thana) = legacy
        .map(|l| (l.district, l.thana))
        .or_else(|| numbers_for_area(&d.to.area))
        .unzip();
    let vehicle = d.vehicle.as_ref();
    let mut v = json!({
        "id": app.id.0.simple().to_string(),
        "fromLocation": legacy.map_or(d.from.address.as_str(), |l| l.from_location.as_str()),
        "toLocation": legacy.map_or(d.to.address.as_str(), |l| l.to_location.as_str()),
        "district": district,
        "thana": thana,
        "startAt": iso_ms(d.start),
        "endAt": iso_ms(d.end()),
        "type": if d.trip == Trip::RoundTrip { "R" } else { "O" },
        "reason": legacy.map_or_else(
            || policy.category(&d.reason).map_or(d.reason.as_str(), |c| c.label_en.as_str()),
            |l| l.reason.as_str(),
        ),
        "includeVehicle": vehicle.is_some(),
        "selfDriven": vehicle.is_none_or(|v| v.self_driven),
        "status": status_word(app.status),
        "createdAt": iso_ms(app.submitted_at),
    });
    if let Some(vehicle) = vehicle {
        v["vehicleNo"] = json!(vehicle.registration);
        if let Some(driver) = &vehicle.driver {
            v["driverName"] = json!(driver.name);
            v["driverLicenseNo"] = json!(driver.licence);
        }
    }
    if let Some(pass) = app.pass_id {
        v["passId"] = json!(pass.0.simple().to_string());
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ListQuery {
    id: Option<String>,
    end_at: Option<String>,
}

/// The caller's applications, newest `endAt` first (ties: newest id first).
async fn by_end(state: &AppState, caller: LegacyCaller) -> Result<Vec<Application>, LegacyError> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = state.store.applications_of(caller.user_id, before, 200).await?;
        let done = page.len() < 200;
        before = page.last().map(|a| a.id);
        all.extend(page);
        if done || all.len() >= MAX_SCANNED {
            break;
        }
    }
    all.sort_by_key(|a| std::cmp::Reverse(sort_key(a)));
    Ok(all)
}

/// The order of the legacy list, at the millisecond precision of `endAt` (so a `nextKey`
/// read back from the text compares exactly), ties by id.
fn sort_key(app: &Application) -> (i128, ApplicationId) {
    (app.details.end().unix_timestamp_nanos() / 1_000_000, app.id)
}

/// `GET /v1/passes[?id=&endAt=]` → `{passes, nextKey?}`.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: LegacyCaller,
    query: Result<Query<ListQuery>, crate::error::ApiError>,
) -> Result<Json<Value>, LegacyError> {
    let Query(q) = query.map_err(|_| LegacyError::bad("Invalid query"))?;
    let after = match (q.id.as_deref(), q.end_at.as_deref()) {
        (None, None) => None,
        (Some(id), Some(end)) => {
            let id = ApplicationId::parse(id).ok_or_else(|| LegacyError::bad("id of nextKey is invalid"))?;
            let end =
                OffsetDateTime::parse(end, &Rfc3339).map_err(|_| LegacyError::bad("endAt of nextKey is invalid"))?;
            Some((end.unix_timestamp_nanos() / 1_000_000, id))
        }
        _ => return Err(LegacyError::bad("Give both id and endAt of nextKey")),
    };
    let all = by_end(&state, caller).await?;
    let rest: Vec<&Application> = all
        .iter()
        .filter(|a| after.is_none_or(|key| sort_key(a) < key))
        .collect();
    let page = &rest[..rest.len().min(PAGE)];
    let policy = state.policy();
    let mut body = json!({ "passes": page.iter().map(|a| item(a, &policy)).collect::<Vec<_>>() });
    if rest.len() > PAGE
        && let Some(last) = page.last()
    {
        body["nextKey"] = json!({ "id": last.id.0.simple().to_string(), "endAt": iso_ms(last.details.end()) });
    }
    Ok(Json(body))
}

/// `GET /v1/passes/{id}` → the pass and its `applicant`; 404 unless it is the caller's.
pub(crate) async fn detail(
    State(state): State<AppState>,
    caller: LegacyCaller,
    Path(raw): Path<String>,
) -> Result<Json<Value>, LegacyError> {
    let id = ApplicationId::parse(&raw).ok_or_else(LegacyError::not_found)?;
    let app = state
        .store
        .application(id)
        .await?
        .filter(|a| a.user_id == caller.user_id)
        .ok_or_else(LegacyError::not_found)?;
    let user = state
        .store
        .user(caller.user_id)
        .await?
        .ok_or_else(LegacyError::not_found)?;
    let profile = state.store.profile(caller.user_id).await?;
    let reg = state.store.legacy_registration(caller.user_id).await?;
    // "You took a movement pass N times": approved passes among the latest applications.
    let approved_count = state
        .store
        .applications_of(caller.user_id, None, 500)
        .await?
        .iter()
        .filter(|a| a.status == mpass_domain::application::Status::Approved)
        .count();
    // A native profile has no legacy numbers: those that show its home area.
    let (district, thana) = reg
        .as_ref()
        .map(|r| (r.district, r.thana))
        .or_else(|| profile.as_ref().and_then(|p| numbers_for_area(&p.profile.home_area)))
        .unzip();
    let mut body = item(&app, &state.policy());
    body["applicant"] = json!({
        "id": user.phone.national(),
        "mobilePhone": user.phone.national(),
        "name": profile.as_ref().map(|p| p.profile.name.clone()),
        "dateOfBirth": profile.as_ref().map(|p| p.profile.date_of_birth.to_string()),
        "gender": profile.as_ref().map(|p| format!("{:?}", p.profile.gender)),
        "idType": profile.as_ref().map(|p| p.profile.id_type.as_str()),
        "idNumber": profile.as_ref().map(|p| p.profile.id_number.clone()),
        "district": district,
        "thana": thana,
        "photo": reg.as_ref().map(|r| r.photo_url.clone()),
        "approvedCount": approved_count,
    });
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREAS: Areas<'static> = Areas {
        home: "60910020",
        fallback: "30260014",
    };

    fn body(v: Value) -> Apply {
        serde_json::from_value(v).unwrap()
    }

    fn valid(now: OffsetDateTime) -> Value {
        json!({
            "fromLocation": "Mirpur 10", "toLocation": "Dhaka Medical", "district": 1047, "thana": 10309,
            "dateTime": iso_ms(now + Duration::hours(2)), "durationInHour": 3, "type": "R",
            "reason": "Medical", "includeVehicle": false
        })
    }

    #[test]
    fn translates_a_valid_body() {
        let now = OffsetDateTime::now_utc();
        let (input, origin) = translate(&body(valid(now)), &AREAS, &|r| r == "medical", now).unwrap();
        assert_eq!(input.reason.as_deref(), Some("medical"));
        // Legacy thana 10309 (Khulna, Paikgasa) is our Paikgachha; the origin is home.
        assert_eq!(input.to.as_ref().and_then(|p| p.area.as_deref()), Some("40470064"));
        assert_eq!(input.from.as_ref().and_then(|p| p.area.as_deref()), Some(AREAS.home));
        assert_eq!(input.trip.as_deref(), Some("round_trip"));
        assert_eq!(origin.thana, 10309);
        let mut v = valid(now);
        v["reason"] = json!("Visit my mother");
        let (input, _) = translate(&body(v.clone()), &AREAS, &|r| r == "medical", now).unwrap();
        assert_eq!(input.reason.as_deref(), Some("other"));
        assert_eq!(input.reason_note.as_deref(), Some("Visit my mother"));
        // The old client's "Treatment" is the medical category; a Dhaka Metro thana has
        // no mapping, so the destination is the configured area.
        v["reason"] = json!("Treatment");
        v["thana"] = json!(10173);
        let (input, origin) = translate(&body(v), &AREAS, &|r| r == "medical", now).unwrap();
        assert_eq!((input.reason.as_deref(), input.reason_note), (Some("medical"), None));
        assert_eq!(input.to.as_ref().and_then(|p| p.area.as_deref()), Some(AREAS.fallback));
        assert_eq!((origin.thana, origin.reason.as_str()), (10173, "Treatment"));
    }

    #[test]
    fn refuses_every_bad_field() {
        let now = OffsetDateTime::now_utc();
        let mut v = valid(now);
        v["dateTime"] = json!(iso_ms(now + Duration::hours(30)));
        v["durationInHour"] = json!(13);
        v["type"] = json!("X");
        v["district"] = json!(999);
        v["includeVehicle"] = json!(true);
        v["selfDriven"] = json!(false);
        let e = translate(&body(v), &AREAS, &|_| true, now).unwrap_err();
        assert_eq!(e.messages.len(), 7, "{:?}", e.messages);
    }
}
