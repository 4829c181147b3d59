//! Logging in with a phone number and an SMS code (two steps), and logging out.
//!
//! The phone number travels between the two steps in an HttpOnly cookie, never in a URL.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mpass_domain::otp;
use mpass_domain::phone::Phone;
use mpass_domain::token::hash_refresh_token;
use time::OffsetDateTime;

use super::form::{Fields, FormBody};
use super::html::{Input, Page, csrf_field, esc};
use super::i18n::Lang;
use super::messages::{FormErrors, wait_in_units};
use super::session::{LOGIN_PHONE, Session};
use super::{csrf_failed, see_other};
use crate::error::ApiError;
use crate::service::{self, Peer};
use crate::state::AppState;

/// Digits typed in Bangla count as digits.
fn ascii_digits(s: &str) -> String {
    s.chars().map(mpass_domain::phone::ascii_digit).collect()
}

fn phone_form(session: &Session, phone: &str, errors: &FormErrors) -> Response {
    let l = session.lang;
    let mut b = errors.summary(l, &|_| Some(l.t("Mobile number", "মোবাইল নম্বর").to_string()));
    b.push_str(&format!(
        "<p>{}</p><form method=\"post\" action=\"/login\" novalidate>{}{}<button type=\"submit\">{}</button></form>",
        l.t(
            "Enter your mobile number. We will send you a 6-digit code by SMS.",
            "আপনার মোবাইল নম্বর দিন। আমরা এসএমএসে ৬ অঙ্কের একটি কোড পাঠাব।"
        ),
        csrf_field(session),
        Input {
            name: "phone",
            label: l.t("Mobile number", "মোবাইল নম্বর"),
            value: phone,
            kind: "tel",
            hint: Some(l.t("For example 01712345678", "যেমন ০১৭১২৩৪৫৬৭৮")),
            attrs: "inputmode=\"tel\" autocomplete=\"tel\" required maxlength=\"20\"",
        }
        .render(errors),
        l.t("Send code", "কোড পাঠান"),
    ));
    if session.login_phone.is_some() && !errors.is_empty() {
        b.push_str(&format!(
            "<p><a href=\"/login/code\">{}</a></p>",
            l.t("I already have a code", "আমার কাছে কোড আছে")
        ));
    }
    let mut page = Page::new(session, "/login", l.t("Log in", "লগ ইন"), b);
    if !errors.is_empty() {
        page.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page.into_response()
}

/// `GET /login`: step one, the phone number.
pub async fn phone_page(session: Session) -> Response {
    if session.user.is_some() {
        return see_other("/applications");
    }
    phone_form(&session, "", &FormErrors::default())
}

/// `POST /login`: sends the code and moves on to step two.
pub async fn send_code(
    State(state): State<AppState>,
    session: Session,
    Peer(peer): Peer,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let raw = ascii_digits(f.get("phone").unwrap_or(""));
    let ip = service::client_ip(&state, &headers, peer);
    let result = service::send_otp(&state, &raw, ip, session.lang).await;
    let phone = Phone::parse(&raw);
    if let Some(phone) = &phone {
        session.set_cookie(LOGIN_PHONE, phone.as_str(), Some(600));
    }
    // "Send a new code" from the code page, too soon: stay there, the code sent still works.
    let resent = f.checked("resend")
        && phone
            .as_ref()
            .map(Phone::as_str)
            .is_some_and(|p| session.login_phone.as_deref() == Some(p));
    match result {
        Ok(()) => see_other("/login/code"),
        // Back to the code page by a redirect (a reload then asks for nothing to be sent
        // again), the wait carried in the one-time notice.
        Err(ApiError::RateLimited { retry_after }) if resent => {
            session.flash(&format!("{RESEND_WAIT}{retry_after}"));
            see_other("/login/code")
        }
        Err(e) => {
            let errors = FormErrors::from_api(session.lang, &e, &|f| (f == "phone").then(|| f.to_string()));
            let mut s = session;
            s.login_phone = Phone::parse(&raw).map(|p| p.as_str().to_string());
            phone_form(&s, &raw, &errors)
        }
    }
}

/// The number shown back to the citizen, mostly hidden: `•••••••5678`.
fn masked(lang: Lang, phone: &str) -> String {
    let national = phone.trim_start_matches("+88");
    let n = national.len();
    let tail = &national[n.saturating_sub(3)..];
    format!("{}{}", "•".repeat(n.saturating_sub(3)), lang.digits(tail))
}

/// The one-time notice that a new code was asked for too soon, followed by the seconds to
/// wait (`resend_wait_59`).
const RESEND_WAIT: &str = "resend_wait_";
/// The longest wait the code page shows: the notice comes back from the browser, and
/// sending a new code is limited to a few an hour.
const MAX_SHOWN_WAIT: i64 = 3_600;

/// Why a new code cannot go out yet, on the code page: when one can, and that the code
/// already sent still works. A wait of a minute at most is the gap the store keeps between
/// two sends to one phone, so the last code (valid for five minutes) went out within that
/// minute; a longer wait (the hourly limit) says how long codes last instead.
fn resend_wait_text(lang: Lang, retry_after: i64) -> String {
    let ttl_min = otp::CODE_TTL_SECS / 60;
    if retry_after <= otp::RESEND_AFTER_SECS {
        match lang {
            Lang::En => format!(
                "You can ask for a new code in {retry_after} seconds. The code we already sent is still valid: enter it below."
            ),
            Lang::Bn => format!(
                "{} সেকেন্ড পরে নতুন কোড চাইতে পারবেন। আগে পাঠানো কোডটি এখনো বৈধ: নিচে সেটি লিখুন।",
                lang.num(retry_after)
            ),
        }
    } else {
        let (n, unit) = wait_in_units(lang, retry_after);
        match lang {
            Lang::En => format!(
                "You can ask for a new code in {n} {unit}. A code we sent in the last {ttl_min} minutes is still valid: enter it below."
            ),
            Lang::Bn => format!(
                "{} {unit} পরে নতুন কোড চাইতে পারবেন। গত {} মিনিটের মধ্যে পাঠানো কোড এখনো বৈধ: নিচে সেটি লিখুন।",
                lang.num(n),
                lang.num(ttl_min)
            ),
        }
    }
}

fn code_form(session: &Session, phone: &str, errors: &FormErrors, status: StatusCode) -> Response {
    let l = session.lang;
    let mut b = errors.summary(l, &|_| Some(l.t("6-digit code", "৬ অঙ্কের কোড").to_string()));
    b.push_str(&format!(
        "<p role=\"status\">{} <strong>{}</strong>{} {}</p>\
         <form method=\"post\" action=\"/login/code\" novalidate>{}{}<button type=\"submit\">{}</button></form>\
         <form method=\"post\" action=\"/login\" class=\"actions\">{}<input type=\"hidden\" name=\"phone\" value=\"{}\">\
         <input type=\"hidden\" name=\"resend\" value=\"1\">\
         <button type=\"submit\" class=\"secondary\">{}</button> <a href=\"/login\">{}</a></form>",
        l.t("We sent a code by SMS to", "এসএমএসে কোড পাঠানো হয়েছে এই নম্বরে:"),
        esc(&masked(l, phone)),
        l.t(".", "।"),
        l.t("It is valid for 5 minutes.", "কোডটি ৫ মিনিট বৈধ।"),
        csrf_field(session),
        Input {
            name: "code",
            label: l.t("6-digit code", "৬ অঙ্কের কোড"),
            value: "",
            kind: "text",
            hint: None,
            attrs: "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" required autofocus",
        }
        .render(errors),
        l.t("Log in", "লগ ইন"),
        csrf_field(session),
        esc(phone),
        l.t("Send a new code", "নতুন কোড পাঠান"),
        l.t("Use another number", "অন্য নম্বর ব্যবহার করুন"),
    ));
    let mut page = Page::new(session, "/login/code", l.t("Enter your code", "কোডটি লিখুন"), b);
    page.status = status;
    page.into_response()
}

/// `GET /login/code`: step two, the code.
pub async fn code_page(session: Session) -> Response {
    let Some(phone) = session.login_phone.clone() else {
        return see_other("/login");
    };
    let wait = session
        .flash
        .as_deref()
        .and_then(|f| f.strip_prefix(RESEND_WAIT))
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| n.clamp(1, MAX_SHOWN_WAIT));
    let errors = wait.map_or_else(FormErrors::default, |n| {
        FormErrors::notice(resend_wait_text(session.lang, n))
    });
    code_form(&session, &phone, &errors, StatusCode::OK)
}

/// `POST /login/code`: checks the code and starts the session.
pub async fn verify(State(state): State<AppState>, mut session: Session, FormBody(body): FormBody) -> Response {
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let Some(phone) = session.login_phone.clone() else {
        return see_other("/login");
    };
    let code = ascii_digits(f.get("code").unwrap_or(""));
    match service::login(&state, &phone, &code).await {
        Ok(tokens) => {
            session.log_in(&state, &tokens);
            session.clear_cookie(LOGIN_PHONE);
            let has_profile = match session.user {
                Some(u) => matches!(state.store.profile(u).await, Ok(Some(_))),
                None => false,
            };
            see_other(if has_profile { "/applications" } else { "/profile" })
        }
        Err(e) => {
            let errors = FormErrors::from_api(session.lang, &e, &|f| (f == "code").then(|| f.to_string()));
            code_form(&session, &phone, &errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `POST /logout`: revokes this browser's refresh token and forgets the session.
pub async fn logout(State(state): State<AppState>, mut session: Session, FormBody(body): FormBody) -> Response {
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    if let Some(t) = session.refresh_token.as_deref().filter(|t| t.len() <= 128)
        && let Err(e) = state
            .store
            .refresh_revoke(&hash_refresh_token(t), OffsetDateTime::now_utc())
            .await
    {
        super::messages::log_failure(&ApiError::from(e));
    }
    session.log_out();
    see_other("/")
}
