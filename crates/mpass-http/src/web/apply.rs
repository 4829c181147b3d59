//! Applying for a pass: the form page and its submission (with an idempotency key in the
//! form, so a double tap or a resent form never files two applications).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mpass_domain::application::{ApplicationInput, CompanionInput, DriverInput, PlaceInput, VehicleInput};
use mpass_domain::token::new_refresh_token;
use time::{Duration, OffsetDateTime};

use super::apply_form::{self, MAX_COMPANIONS};
use super::form::{Fields, FormBody};
use super::html::{Page, notice};
use super::i18n::dhaka;
use super::messages::FormErrors;
use super::session::Session;
use super::{csrf_failed, error_page, login_first, see_other};
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

/// A fresh form: a new idempotency key, from home, the next full hour, two hours, one way.
fn defaults(home_area: &str) -> Fields {
    let next = OffsetDateTime::now_utc().to_offset(dhaka()) + Duration::hours(1);
    Fields(vec![
        ("idem".into(), new_refresh_token().0[..24].to_string()),
        ("start_date".into(), next.date().to_string()),
        ("start_time".into(), format!("{:02}:00", next.hour())),
        ("duration_hours".into(), "2".into()),
        ("trip".into(), "one_way".into()),
        ("from.area".into(), home_area.to_string()),
    ])
}

fn page_with(session: &Session, state: &AppState, f: &Fields, errors: &FormErrors, status: StatusCode) -> Response {
    let l = session.lang;
    let body = apply_form::render(session, &state.policy(), f, errors);
    let mut page = Page::new(
        session,
        "/apply",
        l.t("Apply for a movement pass", "মুভমেন্ট পাসের আবেদন"),
        body,
    );
    page.status = status;
    page.into_response()
}

/// `GET /apply`.
pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    match state.store.profile(user).await {
        Ok(Some(p)) => {
            let fresh = defaults(&p.profile.home_area);
            page_with(&session, &state, &fresh, &FormErrors::default(), StatusCode::OK)
        }
        Ok(None) => {
            let l = session.lang;
            let body = format!(
                "{}<p><a class=\"button\" href=\"/profile\">{}</a></p>",
                notice(
                    "error",
                    l.t(
                        "Complete your profile before applying.",
                        "আবেদন করার আগে আপনার প্রোফাইল পূরণ করুন।"
                    )
                ),
                l.t("Go to your profile", "প্রোফাইলে যান")
            );
            Page::new(
                &session,
                "/apply",
                l.t("Apply for a movement pass", "মুভমেন্ট পাসের আবেদন"),
                body,
            )
            .into_response()
        }
        Err(e) => error_page(&session, &ApiError::from(e)),
    }
}

/// `YYYY-MM-DD` and `HH:MM` in Bangladesh time as RFC 3339, if both look right.
fn start_of(date: Option<&str>, time: Option<&str>) -> Option<String> {
    let date = mpass_domain::profile::parse_date(date?)?;
    let time = time?;
    let (h, m) = time.get(..5)?.split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    let t = time::Time::from_hms(h, m, 0).ok()?;
    let at = date.with_time(t).assume_offset(dhaka());
    at.format(&time::format_description::well_known::Rfc3339).ok()
}

fn number(f: &Fields, name: &str) -> Option<i64> {
    // A value that is not a number is out of range, so the citizen sees the range.
    f.get(name).map(|v| v.parse().unwrap_or(-1))
}

/// The API's input from the form's fields.
fn input_of(f: &Fields) -> ApplicationInput {
    let place = |key: &str| PlaceInput {
        area: f.get(&format!("{key}.area")).map(String::from),
        address: f.get(&format!("{key}.address")).map(String::from),
        lat: None,
        lon: None,
    };
    let vehicle = f.checked("has_vehicle").then(|| {
        let self_driven = f.checked("vehicle.self_driven");
        VehicleInput {
            kind: f.get("vehicle.kind").map(String::from),
            registration: f.get("vehicle.registration").map(String::from),
            self_driven: Some(self_driven),
            driver: (!self_driven).then(|| DriverInput {
                name: f.get("vehicle.driver.name").map(String::from),
                licence: f.get("vehicle.driver.licence").map(String::from),
            }),
        }
    });
    let companions = (0..MAX_COMPANIONS)
        .filter_map(|i| {
            let key = |k: &str| format!("companions[{i}].{k}");
            let c = CompanionInput {
                name: f.get(&key("name")).map(String::from),
                relation: f.get(&key("relation")).map(String::from),
                age: number(f, &key("age")),
            };
            (c.name.is_some() || c.relation.is_some() || c.age.is_some()).then_some(c)
        })
        .collect();
    ApplicationInput {
        reason: f.get("reason").map(String::from),
        reason_note: f.get("reason_note").map(String::from),
        from: Some(place("from")),
        to: Some(place("to")),
        start: start_of(f.get("start_date"), f.get("start_time")),
        duration_hours: number(f, "duration_hours"),
        trip: f.get("trip").map(String::from),
        vehicle,
        companions: Some(companions),
    }
}

/// Which form field shows the API's error about `field`.
fn form_field(field: &str) -> Option<String> {
    let shown = [
        "reason",
        "reason_note",
        "from.area",
        "from.address",
        "to.area",
        "to.address",
        "start",
        "duration_hours",
        "trip",
        "vehicle.kind",
        "vehicle.registration",
        "vehicle.driver.name",
        "vehicle.driver.licence",
        "companions",
    ];
    if shown.contains(&field) || field.starts_with("companions[") {
        return Some(field.to_string());
    }
    (field == "vehicle.driver").then(|| "vehicle.driver.name".to_string())
}

/// `POST /apply`.
pub async fn submit(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let input = input_of(&f);
    let key = f.get("idem").filter(|k| k.len() <= 48).map(|k| format!("web:{k}"));
    // The key covers what was asked for, not the CSRF token or the key itself.
    let canonical: Vec<u8> =
        f.0.iter()
            .filter(|(k, _)| k != "csrf" && k != "idem")
            .flat_map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes(), b"\n"].concat())
            .collect();
    match service::submit_application(&state, user, &input, key.map(|k| (k, &canonical[..]))).await {
        Ok(_) => {
            session.flash("submitted");
            see_other("/applications")
        }
        Err(e) => {
            let l = session.lang;
            let mut errors = FormErrors::from_api(l, &e, &form_field);
            if errors.get("start").is_some() && input.start.is_none() {
                errors.replace(
                    "start",
                    l.t(
                        "Choose the date and the time you set out.",
                        "কোন তারিখে ও কোন সময়ে রওনা দেবেন তা বেছে নিন।",
                    ),
                );
            }
            let status = e.status();
            page_with(&session, &state, &f, &errors, status)
        }
    }
}
