//! The stylesheet, the scripts (the pages' one and the police app's) and the tab icon,
//! compiled in and served under content-hashed names, so browsers keep them for a year and
//! a new release is fetched at once. The police app's service worker is generated from a
//! template that names the current files, so a release also replaces the worker and its
//! cache.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");
const VERIFY_JS: &str = include_str!("../../assets/verify.js");
const VERIFY_SW: &str = include_str!("../../assets/verify-sw.js");
/// The tab icon: linked from every page, so browsers do not ask for `/favicon.ico`.
const ICON: &str = include_str!("../../assets/icon.svg");

struct Hashed {
    css: String,
    js: String,
    verify_js: String,
    icon: String,
    sw: String,
}

fn short_hash(text: &str) -> String {
    mpass_domain::otp::hex(&Sha256::digest(text.as_bytes())[..5])
}

fn names() -> &'static Hashed {
    static NAMES: OnceLock<Hashed> = OnceLock::new();
    NAMES.get_or_init(|| {
        let css = format!("app.{}.css", short_hash(CSS));
        let js = format!("app.{}.js", short_hash(JS));
        let verify_js = format!("verify.{}.js", short_hash(VERIFY_JS));
        let icon = format!("icon.{}.svg", short_hash(ICON));
        let version = short_hash(&format!("{css}{js}{verify_js}{VERIFY_SW}"));
        let sw = VERIFY_SW
            .replace("{{VERSION}}", &version)
            .replace("{{CSS}}", &format!("/assets/{css}"))
            .replace("{{APP_JS}}", &format!("/assets/{js}"))
            .replace("{{VERIFY_JS}}", &format!("/assets/{verify_js}"));
        Hashed {
            css,
            js,
            verify_js,
            icon,
            sw,
        }
    })
}

/// The police app's script URL.
pub fn verify_js_url() -> String {
    format!("/assets/{}", names().verify_js)
}

/// The police app's service worker, naming the current asset files.
pub fn verify_sw() -> &'static str {
    &names().sw
}

/// The stylesheet's URL.
pub fn css_url() -> String {
    format!("/assets/{}", names().css)
}

/// The tab icon's URL.
pub fn icon_url() -> String {
    format!("/assets/{}", names().icon)
}

/// The script's URL.
pub fn js_url() -> String {
    format!("/assets/{}", names().js)
}

/// `GET /assets/{name}`: the current file under its hashed name (cached for a year); an
/// older hash of a known file gets the current one without long caching (mid-deploy).
pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, ctype, current) = if name.ends_with(".css") && name.starts_with("app.") {
        (CSS, "text/css; charset=utf-8", name == names().css)
    } else if name.ends_with(".js") && name.starts_with("app.") {
        (JS, "text/javascript; charset=utf-8", name == names().js)
    } else if name.ends_with(".js") && name.starts_with("verify.") {
        (VERIFY_JS, "text/javascript; charset=utf-8", name == names().verify_js)
    } else if name.ends_with(".svg") && name.starts_with("icon.") {
        (ICON, "image/svg+xml", name == names().icon)
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
