//! The citizen's profile: personal details, identity document, home thana and photo.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::ports::StoredProfile;
use mpass_domain::profile::ProfileInput;

use super::areas::place_select;
use super::form::{BodyRejection, Fields, FormBody, multipart};
use super::html::{Input, Page, csrf_field, esc, options, select};
use super::i18n::Lang;
use super::messages::{FormErrors, flash_box, photo_too_large_text};
use super::session::Session;
use super::{csrf_failed, error_page, login_first, see_other};
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

const FIELDS: [&str; 6] = ["name", "date_of_birth", "gender", "id_type", "id_number", "home_area"];

fn profile_label(l: super::i18n::Lang, field: &str) -> Option<String> {
    let text = match field {
        "name" => l.t("Full name", "পূর্ণ নাম"),
        "date_of_birth" => l.t("Date of birth", "জন্মতারিখ"),
        "gender" => l.t("Gender", "লিঙ্গ"),
        "id_type" => l.t("Identity document", "পরিচয়পত্রের ধরন"),
        "id_number" => l.t("Document number", "পরিচয়পত্রের নম্বর"),
        "home_area" => l.t("Home thana", "নিজ থানা"),
        _ => return None,
    };
    Some(text.to_string())
}

fn values(p: Option<&StoredProfile>) -> Vec<(&'static str, String)> {
    let Some(p) = p else {
        return FIELDS.iter().map(|f| (*f, String::new())).collect();
    };
    let p = &p.profile;
    vec![
        ("name", p.name.clone()),
        ("date_of_birth", p.date_of_birth.to_string()),
        ("gender", format!("{:?}", p.gender)),
        ("id_type", p.id_type.as_str().to_string()),
        ("id_number", p.id_number.clone()),
        ("home_area", p.home_area.clone()),
    ]
}

fn render(
    session: &Session,
    stored: Option<&StoredProfile>,
    vals: &[(&'static str, String)],
    errors: &FormErrors,
    photo_errors: &FormErrors,
) -> Response {
    let l = session.lang;
    let v = |name: &str| vals.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str());
    let mut b = flash_box(l, session.flash.as_deref());
    b.push_str(&errors.summary(l, &|f| profile_label(l, f)));
    b.push_str(&format!(
        "<p>{}</p><form method=\"post\" action=\"/profile\" novalidate>{}",
        l.t(
            "These details appear on your pass. Write them as on your identity document.",
            "এই তথ্যগুলো আপনার পাসে থাকবে। পরিচয়পত্রে যেমন আছে তেমন লিখুন।"
        ),
        csrf_field(session)
    ));
    b.push_str(
        &Input {
            name: "name",
            label: l.t("Full name", "পূর্ণ নাম"),
            value: v("name"),
            kind: "text",
            hint: None,
            attrs: "autocomplete=\"name\" maxlength=\"64\" required",
        }
        .render(errors),
    );
    b.push_str(
        &Input {
            name: "date_of_birth",
            label: l.t("Date of birth", "জন্মতারিখ"),
            value: v("date_of_birth"),
            kind: "date",
            hint: Some(l.t("You must be 18 or older.", "বয়স কমপক্ষে ১৮ বছর হতে হবে।")),
            attrs: "autocomplete=\"bday\" required",
        }
        .render(errors),
    );
    let choose = l.t("Choose…", "বেছে নিন…");
    let genders = options(
        [
            ("", choose),
            ("F", l.t("Female", "নারী")),
            ("M", l.t("Male", "পুরুষ")),
            ("O", l.t("Other", "অন্যান্য")),
        ],
        v("gender"),
    );
    b.push_str(&select("gender", l.t("Gender", "লিঙ্গ"), &genders, errors, "required"));
    let ids = options(
        [
            ("", choose),
            ("NID", l.t("National ID card (NID)", "জাতীয় পরিচয়পত্র (NID)")),
            ("BR", l.t("Birth registration", "জন্ম নিবন্ধন")),
            ("PP", l.t("Passport", "পাসপোর্ট")),
            ("DL", l.t("Driving licence", "ড্রাইভিং লাইসেন্স")),
            ("SID", l.t("Student ID", "শিক্ষার্থী পরিচয়পত্র")),
            ("EID", l.t("Employee ID", "কর্মী পরিচয়পত্র")),
        ],
        v("id_type"),
    );
    b.push_str(&select(
        "id_type",
        l.t("Identity document", "পরিচয়পত্রের ধরন"),
        &ids,
        errors,
        "required",
    ));
    b.push_str(
        &Input {
            name: "id_number",
            label: l.t("Document number", "পরিচয়পত্রের নম্বর"),
            value: v("id_number"),
            kind: "text",
            hint: Some(l.t(
                "NID: 10, 13 or 17 digits. Birth registration: 17 digits.",
                "NID: ১০, ১৩ বা ১৭ অঙ্ক। জন্ম নিবন্ধন: ১৭ অঙ্ক।",
            )),
            attrs: "autocomplete=\"off\" maxlength=\"32\" required",
        }
        .render(errors),
    );
    b.push_str(&place_select(
        l,
        "home_area",
        l.t("Home", "নিজ এলাকা"),
        v("home_area"),
        errors,
        "",
    ));
    b.push_str(&format!(
        "<button type=\"submit\">{}</button></form>",
        l.t("Save profile", "প্রোফাইল সংরক্ষণ করুন")
    ));
    if let Some(p) = stored {
        b.push_str(&photo_section(session, p, photo_errors));
    }
    let status = if errors.is_empty() && photo_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut page = Page::new(session, "/profile", l.t("Your profile", "আপনার প্রোফাইল"), b);
    page.status = status;
    page.into_response()
}

/// The photo's URL, changing whenever the photo does (so caches never show an old one).
pub fn photo_url(p: &StoredProfile) -> Option<String> {
    let key = p.photo_key.as_deref()?;
    let version: String = key.rsplit('/').next().unwrap_or("").chars().take(12).collect();
    Some(format!("/profile/photo?v={}", esc(&version)))
}

fn photo_section(session: &Session, p: &StoredProfile, errors: &FormErrors) -> String {
    let l = session.lang;
    // `data-max-bytes`: app.js makes a larger photo smaller in the browser before sending it.
    let photo_attrs = format!(
        "accept=\"image/jpeg,image/png\" required data-max-bytes=\"{}\"",
        mpass_domain::photo::MAX_PHOTO_BYTES
    );
    let current = match photo_url(p) {
        Some(url) => format!(
            "<p><img class=\"photo\" src=\"{url}\" alt=\"{}\"></p>",
            l.t("Your photo", "আপনার ছবি")
        ),
        None => format!("<p>{}</p>", l.t("No photo yet.", "এখনো কোনো ছবি নেই।")),
    };
    let next = if p.photo_key.is_some() {
        format!(
            "<p class=\"actions\"><a class=\"button\" href=\"/apply\">{}</a></p>",
            l.t("Apply for a pass", "পাসের জন্য আবেদন করুন")
        )
    } else {
        String::new()
    };
    format!(
        "<h2 id=\"photo\">{title}</h2>{summary}{current}\
         <form method=\"post\" action=\"/profile/photo\" enctype=\"multipart/form-data\">{csrf}{input}\
         <button type=\"submit\" class=\"secondary\">{upload}</button></form>{next}",
        title = l.t("Photo", "ছবি"),
        summary = errors.summary(l, &|_| Some(l.t("Photo", "ছবি").to_string())),
        csrf = csrf_field(session),
        input = Input {
            name: "photo",
            label: l.t("A clear photo of your face", "আপনার মুখের একটি স্পষ্ট ছবি"),
            value: "",
            kind: "file",
            hint: Some(l.t("JPEG or PNG, at most 2 MiB.", "JPEG বা PNG, সর্বোচ্চ ২ MiB।")),
            attrs: &photo_attrs,
        }
        .render(errors),
        upload = l.t("Upload photo", "ছবি আপলোড করুন"),
    )
}

/// `GET /profile`.
pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    match state.store.profile(user).await {
        Ok(p) => render(
            &session,
            p.as_ref(),
            &values(p.as_ref()),
            &FormErrors::default(),
            &FormErrors::default(),
        ),
        Err(e) => error_page(&session, &ApiError::from(e)),
    }
}

/// `POST /profile`.
pub async fn save(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let input = ProfileInput {
        name: f.get("name").map(String::from),
        date_of_birth: f.get("date_of_birth").map(String::from),
        gender: f.get("gender").map(String::from),
        id_type: f.get("id_type").map(String::from),
        id_number: f.get("id_number").map(String::from),
        home_area: f.get("home_area").map(String::from),
        language: None,
    };
    match service::save_profile(&state, user, &input).await {
        Ok(_) => {
            session.flash("profile_saved");
            see_other("/profile")
        }
        Err(e) => {
            let errors = FormErrors::from_api(session.lang, &e, &|f| FIELDS.contains(&f).then(|| f.to_string()));
            let stored = state.store.profile(user).await.ok().flatten();
            let vals: Vec<_> = FIELDS.iter().map(|k| (*k, f.text(k))).collect();
            render(&session, stored.as_ref(), &vals, &errors, &FormErrors::default())
        }
    }
}

/// `POST /profile/photo`: a multipart form with the CSRF token and the photo file.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Result<FormBody, BodyRejection>,
) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    // A body over the limit (a phone camera's photo, say) is shown next to the photo, like
    // any other problem with it; nothing is stored, so the missing CSRF check costs nothing.
    let result = match body {
        Ok(FormBody(body)) => {
            let parts = multipart(&headers, &body).unwrap_or_default();
            let csrf = parts.iter().find(|p| p.name == "csrf").map(|p| p.data.clone());
            if !session.csrf_ok(std::str::from_utf8(csrf.as_deref().unwrap_or(b"")).unwrap_or("")) {
                return csrf_failed(&session);
            }
            match parts.iter().find(|p| p.name == "photo" && !p.data.is_empty()) {
                Some(p) => service::save_photo(&state, user, &p.data).await.map(|_| ()),
                None => Err(ApiError::field(
                    "photo",
                    "required",
                    "Choose a photo to upload.",
                    "আপলোড করার জন্য একটি ছবি বেছে নিন।",
                )),
            }
        }
        Err(rejected) => Err(rejected.err),
    };
    match result {
        Ok(()) => {
            session.flash("photo_saved");
            see_other("/profile")
        }
        Err(e) => {
            // On this form, a body over the limit is the photo's file: say so next to it.
            let e = match e {
                ApiError::PayloadTooLarge => ApiError::field(
                    "photo",
                    "photo_too_large",
                    photo_too_large_text(Lang::En),
                    photo_too_large_text(Lang::Bn),
                ),
                other => other,
            };
            let errors = FormErrors::from_api(session.lang, &e, &|f| (f == "photo").then(|| f.to_string()));
            let stored = state.store.profile(user).await.ok().flatten();
            render(
                &session,
                stored.as_ref(),
                &values(stored.as_ref()),
                &FormErrors::default(),
                &errors,
            )
        }
    }
}

/// `GET /profile/photo`: the citizen's own photo.
pub async fn photo(State(state): State<AppState>, session: Session) -> Response {
    match session.user {
        Some(user) => serve_photo(&state, user, "private, max-age=86400").await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The profile photo of `user` with `cache_control`, or 404.
pub(crate) async fn serve_photo(state: &AppState, user: mpass_domain::ids::UserId, cache_control: &str) -> Response {
    let Ok(Some(p)) = state.store.profile(user).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(key), Some(ct)) = (p.photo_key, p.photo_content_type) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.objects.get(&key).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, cache_control.to_string()),
            ],
            bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
