//! Cookie sessions of the web pages, CSRF tokens and the headers every page carries.
//!
//! Why cookies hold the tokens: the pages are server-rendered, so the browser must prove
//! who it is on every plain navigation. The `mp_auth` cookie carries the same short-lived
//! access token and rotating refresh token the API issues (HttpOnly, so page scripts never
//! see them; SameSite=Lax; Secure over https), and the extractor refreshes an expired access
//! token transparently. `mp_sid` is a random per-browser id, rotated at login, that the CSRF
//! token of every form is an HMAC of: a synchronizer token tied to the session that a
//! cross-site page can neither read nor forge.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use mpass_domain::ids::UserId;
use mpass_domain::otp;
use mpass_domain::token::new_refresh_token;
use time::OffsetDateTime;

use super::i18n::Lang;
use crate::auth::Caller;
use crate::service::{self, Tokens};
use crate::state::AppState;

/// The per-browser random id that CSRF tokens are tied to.
pub const SID: &str = "mp_sid";
/// The access and refresh tokens, `access~refresh`.
pub const AUTH: &str = "mp_auth";
/// The phone number between the two login steps (never in a URL).
pub const LOGIN_PHONE: &str = "mp_phone";
/// The chosen language.
pub const LANG: &str = "lang";
/// A one-time notice for the next page ("profile saved"), a fixed code, never data.
pub const FLASH: &str = "mp_flash";

const MONTH: i64 = 30 * 24 * 3600;

/// The Content-Security-Policy of every page: only our own script, style and images.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Set-Cookie lines the handler's extractors want sent with the response.
#[derive(Clone, Default)]
pub struct PendingCookies(Arc<Mutex<Vec<(String, String)>>>);

impl PendingCookies {
    fn push(&self, name: &str, line: String) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.retain(|(n, _)| n != name);
        v.push((name.to_string(), line));
    }
}

/// The browser's session as the pages see it.
#[derive(Clone)]
pub struct Session {
    pub lang: Lang,
    /// The logged-in citizen, if any.
    pub user: Option<UserId>,
    /// Who is logged in, with their roles and districts (as of their last login).
    pub caller: Option<Caller>,
    /// The CSRF token for this session's forms.
    pub csrf: String,
    /// The refresh token, for logout.
    pub refresh_token: Option<String>,
    /// The phone number of a login in progress.
    pub login_phone: Option<String>,
    /// The one-time notice code sent by the previous action, if any.
    pub flash: Option<String>,
    secure: bool,
    pending: PendingCookies,
}

/// The cookie `name` of a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn csrf_for(state: &AppState, sid: &str) -> String {
    otp::hash_code(&state.settings.otp_key, "mpass-web-csrf", sid)
}

fn valid_sid(s: &str) -> bool {
    (20..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn caller_of(state: &AppState, access: &str) -> Option<Caller> {
    let claims = state
        .tokens
        .verify_access(access, OffsetDateTime::now_utc().unix_timestamp())
        .ok()?;
    Caller::of(claims)
}

impl Session {
    /// A `Set-Cookie` for this response (HttpOnly, SameSite=Lax, Secure over https).
    pub fn set_cookie(&self, name: &str, value: &str, max_age: Option<i64>) {
        let mut line = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            line.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            line.push_str("; Secure");
        }
        self.pending.push(name, line);
    }

    /// Leaves a one-time notice for the page the browser is sent to next.
    pub fn flash(&self, code: &str) {
        self.set_cookie(FLASH, code, Some(120));
    }

    /// Removes a cookie from the browser.
    pub fn clear_cookie(&self, name: &str) {
        self.set_cookie(name, "", Some(0));
    }

    /// Starts a logged-in session: new tokens, and a new session id (so a session id fixed
    /// by someone else before login is worthless).
    pub fn log_in(&mut self, state: &AppState, tokens: &Tokens) {
        self.store_tokens(tokens);
        let sid = new_refresh_token().0;
        self.csrf = csrf_for(state, &sid);
        self.set_cookie(SID, &sid, Some(MONTH));
        self.set_caller(caller_of(state, &tokens.access));
    }

    fn store_tokens(&mut self, tokens: &Tokens) {
        self.set_cookie(AUTH, &format!("{}~{}", tokens.access, tokens.refresh), Some(MONTH));
        self.refresh_token = Some(tokens.refresh.clone());
    }

    /// Ends the session in this browser.
    pub fn log_out(&mut self) {
        self.clear_cookie(AUTH);
        self.set_caller(None);
        self.refresh_token = None;
    }

    fn set_caller(&mut self, caller: Option<Caller>) {
        self.user = caller.as_ref().map(|c| c.user_id);
        self.caller = caller;
    }

    /// The logged-in user with `role`, if that is who this is.
    pub fn with_role(&self, role: &str) -> Option<&Caller> {
        self.caller.as_ref().filter(|c| c.has_role(role))
    }

    /// Whether a submitted CSRF token belongs to this session (constant-time compare).
    pub fn csrf_ok(&self, token: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let pending = parts.extensions.get::<PendingCookies>().cloned().unwrap_or_default();
        let h = &parts.headers;
        let lang = cookie(h, LANG)
            .and_then(Lang::parse)
            .unwrap_or_else(|| accept_language(h));
        let secure = state.settings.secure_cookies
            || (state.settings.trust_forwarded_for
                && h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https"));
        let mut session = Session {
            lang,
            user: None,
            caller: None,
            csrf: String::new(),
            refresh_token: None,
            login_phone: cookie(h, LOGIN_PHONE).filter(|p| !p.is_empty()).map(str::to_string),
            flash: cookie(h, FLASH)
                .filter(|f| {
                    !f.is_empty()
                        && f.len() <= 32
                        && f.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                })
                .map(str::to_string),
            secure,
            pending,
        };
        let sid = match cookie(h, SID).filter(|s| valid_sid(s)) {
            Some(s) => s.to_string(),
            None => {
                let s = new_refresh_token().0;
                session.set_cookie(SID, &s, Some(MONTH));
                s
            }
        };
        session.csrf = csrf_for(state, &sid);
        if session.flash.is_some() {
            session.clear_cookie(FLASH);
        }
        if let Some((access, refresh)) = cookie(h, AUTH).and_then(|v| v.split_once('~')) {
            session.refresh_token = Some(refresh.to_string());
            session.set_caller(caller_of(state, access));
            if session.user.is_none() {
                match service::refresh(state, refresh).await {
                    Ok(tokens) => {
                        session.store_tokens(&tokens);
                        session.set_caller(caller_of(state, &tokens.access));
                    }
                    Err(_) => session.log_out(),
                }
            }
        }
        if parts.method == Method::POST {
            // For a form's body that cannot be read: its page needs the session
            // (`form::FormBody`), and extracting it again would refresh the tokens twice.
            parts.extensions.insert(session.clone());
        }
        Ok(session)
    }
}

fn accept_language(h: &HeaderMap) -> Lang {
    let first = h
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("");
    if first.trim().to_ascii_lowercase().starts_with("bn") {
        Lang::Bn
    } else {
        Lang::En
    }
}

/// Middleware of the web routes: sends the cookies extractors asked for, and the security
/// headers of a page that shows personal data.
pub async fn finish(mut req: Request, next: Next) -> Response {
    let pending = PendingCookies::default();
    req.extensions_mut().insert(pending.clone());
    let mut res = next.run(req).await;
    let lines = std::mem::take(&mut *pending.0.lock().unwrap_or_else(|p| p.into_inner()));
    let headers = res.headers_mut();
    for (_, line) in lines {
        if let Ok(v) = HeaderValue::from_str(&line) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
