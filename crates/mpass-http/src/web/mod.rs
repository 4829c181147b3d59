//! The citizen web app: server-rendered pages in English and Bangla, one module per page.
//!
//! Every page works without JavaScript; the one small script only makes forms nicer (thana
//! within district, sections that appear when needed). Pages call the same service
//! functions as the JSON API, so both follow the same rules and show the same messages.
//! Sessions, CSRF and security headers live in `session`.

mod admin;
mod applications;
mod apply;
mod apply_form;
mod areas;
mod assets;
mod dashboard;
mod form;
mod home;
mod html;
mod i18n;
mod login;
mod messages;
mod pass;
mod pdf;
mod profile;
mod review;
mod rules;
mod session;
mod verify;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mpass_domain::ports::Role;
use serde::Deserialize;

use crate::error::ApiError;
use crate::service;
use crate::state::AppState;
use html::Page;
use session::Session;

/// Largest photo upload form: the 2 MiB photo plus the multipart framing.
const MAX_PHOTO_FORM: usize = mpass_domain::photo::MAX_PHOTO_BYTES + 64 * 1024;

/// Every page of the web app and its static assets.
pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(home::page))
        .route("/login", get(login::phone_page).post(login::send_code))
        .route("/login/code", get(login::code_page).post(login::verify))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(switch_lang))
        .route("/profile", get(profile::page).post(profile::save))
        .route(
            "/profile/photo",
            get(profile::photo)
                .post(profile::upload)
                .layer(DefaultBodyLimit::max(MAX_PHOTO_FORM)),
        )
        .route("/apply", get(apply::page).post(apply::submit))
        .route("/applications", get(applications::list))
        .route("/applications/{id}/cancel", post(applications::cancel))
        .route("/applications/{id}/reply", post(applications::reply))
        .route("/dashboard", get(dashboard::page))
        .route("/admin", get(admin::roles))
        .route("/admin/roles", post(admin::change_role))
        .route("/admin/policy", get(admin::policy).post(admin::save_policy))
        .route("/admin/search", get(admin::search_form).post(admin::search))
        .route("/review", get(review::queue))
        .route("/review/next", post(review::next))
        .route("/review/{id}", get(review::item))
        .route("/review/{id}/claim", post(review::claim))
        .route("/review/{id}/decide", post(review::decide))
        .route("/review/{id}/photo", get(review::photo))
        .route("/passes/{id}", get(pass::page))
        .route("/passes/{id}/pass.pdf", get(pdf::download))
        .route("/verify", get(verify::page))
        .route("/verify/check", post(verify::check))
        .route(
            "/verify/scans",
            post(verify::upload).layer(DefaultBodyLimit::max(crate::api::MAX_SCANS_BODY)),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(session::finish));
    Router::new()
        .merge(pages)
        .route("/assets/{name}", get(assets::serve))
        .route("/verify/sw.js", get(verify::service_worker))
}

/// A `303 See Other` to a path of this site.
pub(crate) fn see_other(path: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(path) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Where pages that need a login send a visitor who has none.
pub(crate) fn login_first() -> Response {
    see_other("/login")
}

/// The answer to a form whose CSRF token is missing or wrong (an old tab, or a forgery).
pub(crate) fn csrf_failed(session: &Session) -> Response {
    let l = session.lang;
    let body = format!(
        "{}<p><a href=\"/\">{}</a></p>",
        html::notice(
            "error",
            l.t(
                "This form has expired. Go back, reload the page and send it again.",
                "ফর্মটির মেয়াদ শেষ হয়েছে। পেছনে গিয়ে পাতাটি আবার লোড করে আবার পাঠান।"
            )
        ),
        l.t("Home", "প্রথম পাতা")
    );
    let mut page = Page::new(session, "/", l.t("Please try again", "আবার চেষ্টা করুন"), body);
    page.status = StatusCode::FORBIDDEN;
    page.into_response()
}

/// A page for a failure that is not about a form field (not found, busy, internal).
pub(crate) fn error_page(session: &Session, err: &ApiError) -> Response {
    let l = session.lang;
    if matches!(err, ApiError::Unauthorized) {
        return login_first();
    }
    messages::log_failure(err);
    let body = format!(
        "{}<p><a href=\"/applications\">{}</a></p>",
        html::notice("error", &messages::problem_text(l, err)),
        l.t("My applications", "আমার আবেদন")
    );
    let title = match err {
        ApiError::NotFound => l.t("Not found", "পাওয়া যায়নি"),
        ApiError::Forbidden => l.t("Not allowed", "অনুমতি নেই"),
        // A state that no retry changes (a pass that cannot be used, an application past
        // cancelling).
        ApiError::Conflict { .. } => l.t("Cannot be done", "করা যাবে না"),
        ApiError::Internal(_) | ApiError::Unavailable(_) | ApiError::TooManyConnections => {
            l.t("Something went wrong", "একটি সমস্যা হয়েছে")
        }
        _ => l.t("Please try again", "আবার চেষ্টা করুন"),
    };
    let mut page = Page::new(session, "/", title, body);
    page.status = err.status();
    page.into_response()
}

/// The answer to a logged-in visitor whose roles do not include the one the staff page at
/// `path` needs: 403, and which role to ask an administrator for.
pub(crate) fn role_needed(session: &Session, path: &str, role: Role) -> Response {
    let l = session.lang;
    let mut page = Page::new(
        session,
        path,
        l.t("Not allowed", "অনুমতি নেই"),
        html::notice("error", messages::role_needed_text(l, role)),
    );
    page.status = StatusCode::FORBIDDEN;
    page.into_response()
}

/// Whether a request asks for a page (a browser) rather than JSON.
pub(crate) fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// A bare page saying `err` in both languages, for an answer given before the session (and
/// so the page's language) is read: a connection refused for its address.
pub(crate) fn bilingual_problem_page(err: &ApiError) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Movement Pass: busy</title><p>{}</p><p lang=\"bn\">{}</p></html>",
        html::esc(&messages::problem_text(i18n::Lang::En, err)),
        html::esc(&messages::problem_text(i18n::Lang::Bn, err)),
    )
}

/// Any unknown path: a page for browsers, problem+json for everything else (API clients).
async fn not_found(session: Session, headers: axum::http::HeaderMap) -> Response {
    if wants_html(&headers) {
        error_page(&session, &ApiError::NotFound)
    } else {
        ApiError::NotFound.into_response()
    }
}

#[derive(Deserialize)]
struct LangQuery {
    next: Option<String>,
}

/// `GET /lang/{en|bn}?next=/path`: remembers the language and goes back to the page. A
/// logged-in citizen's SMS follow the switch too (their stored language).
async fn switch_lang(
    State(state): State<AppState>,
    session: Session,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Some(lang) = i18n::Lang::parse(&code) {
        session.set_cookie(session::LANG, lang.code(), Some(365 * 24 * 3600));
        if let Some(user) = session.user
            && let Err(e) = service::set_language(&state, user, lang).await
        {
            // The page language still switches; the SMS language is tried again next time.
            messages::log_failure(&e);
        }
    }
    // Only paths of this site, never another host (`//host`, `/\host`).
    let next = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 200)
        .unwrap_or_else(|| "/".into());
    see_other(&next)
}
