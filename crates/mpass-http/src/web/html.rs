//! A tiny HTML builder: escaping, the page layout shared by every page, and form fields
//! that carry their label, hint and error (`aria-describedby`) so every form is accessible.

use std::fmt::{self, Display, Write};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::messages::FormErrors;
use super::session::Session;

/// Text escaped for HTML content and quoted attribute values.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Shorthand for [`Esc`].
pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// One page, rendered inside the shared layout.
pub struct Page<'a> {
    pub session: &'a Session,
    pub title: &'a str,
    /// Where the language switch returns to (a path of this site).
    pub path: &'a str,
    pub body: String,
    /// Reload the page after this many seconds (works without JavaScript).
    pub refresh_secs: Option<u32>,
    pub status: StatusCode,
}

impl<'a> Page<'a> {
    pub fn new(session: &'a Session, path: &'a str, title: &'a str, body: String) -> Self {
        Page {
            session,
            title,
            path,
            body,
            refresh_secs: None,
            status: StatusCode::OK,
        }
    }

    pub fn render(&self) -> String {
        let l = self.session.lang;
        let mut h = String::with_capacity(self.body.len() + 2048);
        let _ = write!(
            h,
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title} · {brand}</title><link rel=\"icon\" href=\"{icon}\" type=\"image/svg+xml\">\
             <link rel=\"stylesheet\" href=\"{css}\">\
             <script src=\"{js}\" defer></script>",
            lang = l.code(),
            title = esc(self.title),
            brand = l.t("Movement Pass", "মুভমেন্ট পাস"),
            icon = assets::icon_url(),
            css = assets::css_url(),
            js = assets::js_url(),
        );
        if let Some(s) = self.refresh_secs {
            let _ = write!(h, "<meta http-equiv=\"refresh\" content=\"{s}\">");
        }
        let _ = write!(
            h,
            "</head><body><a class=\"skip\" href=\"#main\">{skip}</a><header class=\"top\">\
             <a class=\"brand\" href=\"/\">{brand}</a><nav aria-label=\"{menu}\">",
            skip = l.t("Skip to content", "মূল অংশে যান"),
            brand = l.t("Movement Pass", "মুভমেন্ট পাস"),
            menu = l.t("Main menu", "প্রধান মেনু"),
        );
        if self.session.with_role("analyst").is_some() || self.session.with_role("admin").is_some() {
            let _ = write!(h, "<a href=\"/dashboard\">{}</a>", l.t("Dashboard", "ড্যাশবোর্ড"));
        }
        if self.session.with_role("admin").is_some() {
            let _ = write!(h, "<a href=\"/admin\">{}</a>", l.t("Administration", "প্রশাসন"));
        }
        if self.session.with_role("reviewer").is_some() {
            let _ = write!(h, "<a href=\"/review\">{}</a>", l.t("Review queue", "যাচাইয়ের তালিকা"));
        }
        if self.session.user.is_some() {
            let _ = write!(
                h,
                "<a href=\"/apply\">{}</a><a href=\"/applications\">{}</a><a href=\"/profile\">{}</a>\
                 <form method=\"post\" action=\"/logout\" class=\"inline\">{}<button class=\"link\">{}</button></form>",
                l.t("Apply", "আবেদন"),
                l.t("My applications", "আমার আবেদন"),
                l.t("Profile", "প্রোফাইল"),
                csrf_field(self.session),
                l.t("Log out", "লগ আউট"),
            );
        } else {
            let _ = write!(h, "<a href=\"/login\">{}</a>", l.t("Log in", "লগ ইন"));
        }
        let other = l.other();
        let _ = write!(
            h,
            "<a class=\"lang\" href=\"/lang/{code}?next={next}\" lang=\"{code}\" hreflang=\"{code}\">{name}</a>\
             </nav></header><main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>{body}</main>\
             <footer><p>{foot}</p></footer></body></html>",
            code = other.code(),
            next = esc(&url_encode(self.path)),
            name = other.t("English", "বাংলা"),
            title = esc(self.title),
            body = self.body,
            foot = l.t(
                "Movement Pass — a service of the Government of Bangladesh. Your code is never asked for by phone.",
                "মুভমেন্ট পাস — বাংলাদেশ সরকারের একটি সেবা। কেউ ফোনে আপনার কোড চাইবে না।"
            ),
        );
        h
    }
}

impl IntoResponse for Page<'_> {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.render()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        res
    }
}

/// Percent-encodes a path for a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(session: &Session) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(&session.csrf))
}

/// The id of the input for a form field name (`from.area` → `f-from-area`).
pub fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' });
    }
    id
}

/// Attributes tying an input to its hint and error: `aria-describedby`, `aria-invalid`.
pub fn described(name: &str, errors: &FormErrors, hint: bool) -> String {
    let id = field_id(name);
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    let bad = errors.get(name).is_some();
    if bad {
        ids.push(format!("{id}-err"));
    }
    let mut out = String::new();
    if !ids.is_empty() {
        let _ = write!(out, " aria-describedby=\"{}\"", ids.join(" "));
    }
    if bad {
        out.push_str(" aria-invalid=\"true\"");
    }
    out
}

/// The hint and error paragraphs that follow an input.
pub fn notes(name: &str, errors: &FormErrors, hint: Option<&str>) -> String {
    let id = field_id(name);
    let mut out = String::new();
    if let Some(h) = hint {
        let _ = write!(out, "<p class=\"hint\" id=\"{id}-hint\">{}</p>", esc(h));
    }
    if let Some(e) = errors.get(name) {
        let _ = write!(out, "<p class=\"error\" id=\"{id}-err\">{}</p>", esc(e));
    }
    out
}

/// A labelled text-like input with its hint and error.
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'a str,
    pub hint: Option<&'a str>,
    /// Extra attributes, already safe (e.g. `required autocomplete="name"`).
    pub attrs: &'a str,
}

impl Input<'_> {
    pub fn render(&self, errors: &FormErrors) -> String {
        let id = field_id(self.name);
        format!(
            "<div class=\"field{bad}\"><label for=\"{id}\">{label}</label>\
             <input id=\"{id}\" name=\"{name}\" type=\"{kind}\" value=\"{value}\"{desc} {attrs}>{notes}</div>",
            bad = if errors.get(self.name).is_some() { " bad" } else { "" },
            label = esc(self.label),
            name = esc(self.name),
            kind = self.kind,
            value = esc(self.value),
            desc = described(self.name, errors, self.hint.is_some()),
            attrs = self.attrs,
            notes = notes(self.name, errors, self.hint),
        )
    }
}

/// `<option>` elements from `(value, label)` pairs, with `selected` on the current one.
pub fn options<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>, current: &str) -> String {
    let mut out = String::new();
    for (value, label) in items {
        let sel = if value == current { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(value), esc(label));
    }
    out
}

/// A labelled `<select>` with its hint and error.
pub fn select(name: &str, label: &str, options_html: &str, errors: &FormErrors, extra: &str) -> String {
    let id = field_id(name);
    format!(
        "<div class=\"field{bad}\"><label for=\"{id}\">{label}</label>\
         <select id=\"{id}\" name=\"{name}\"{desc} {extra}>{options_html}</select>{notes}</div>",
        bad = if errors.get(name).is_some() { " bad" } else { "" },
        label = esc(label),
        name = esc(name),
        desc = described(name, errors, false),
        notes = notes(name, errors, None),
    )
}

/// A message box announced to screen readers (`role="status"` or `role="alert"`).
pub fn notice(kind: &str, text: &str) -> String {
    let role = if kind == "error" { "alert" } else { "status" };
    format!("<div class=\"notice {kind}\" role=\"{role}\">{}</div>", esc(text))
}
