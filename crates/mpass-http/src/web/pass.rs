//! The pass page: everything an officer may ask to see, the QR code as inline SVG, the
//! short code, and a print layout that fits one page.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use mpass_domain::application::{Application, Trip};
use mpass_domain::ids::UserId;
use mpass_domain::pass::qr_svg;
use mpass_domain::ports::{PassRecord, StoredProfile};
use time::OffsetDateTime;

use super::applications::status_label;
use super::apply_form::vehicle_kind_name;
use super::areas::place_name;
use super::html::{Page, esc, notice};
use super::i18n::Lang;
use super::profile::photo_url;
use super::session::Session;
use super::{error_page, login_first};
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

/// A pass with what its page shows: the application and the holder's profile.
pub struct PassView {
    pub pass: PassRecord,
    pub app: Application,
    pub profile: Option<StoredProfile>,
    /// `active`, `expired`, `cancelled`, … as the API says.
    pub status: &'static str,
}

impl PassView {
    /// Whether the pass can be shown at a checkpoint, now or when its window opens: not
    /// cancelled, revoked or expired.
    pub fn usable(&self) -> bool {
        matches!(self.status, "active" | "not_yet_valid")
    }
}

/// Loads the caller's own pass; anybody else's is "not found".
pub async fn load(state: &AppState, user: UserId, raw_id: &str) -> Result<PassView, ApiError> {
    let (pass, app) = service::visible_pass(state, user, false, raw_id).await?;
    let profile = state.store.profile(user).await?;
    let status = service::pass_status(&pass, app.status, OffsetDateTime::now_utc());
    Ok(PassView {
        pass,
        app,
        profile,
        status,
    })
}

/// The document type's short name.
pub fn id_type_name(lang: Lang, t: &str) -> &'static str {
    match t {
        "NID" => lang.t("NID", "জাতীয় পরিচয়পত্র"),
        "BR" => lang.t("Birth registration", "জন্ম নিবন্ধন"),
        "PP" => lang.t("Passport", "পাসপোর্ট"),
        "DL" => lang.t("Driving licence", "ড্রাইভিং লাইসেন্স"),
        "SID" => lang.t("Student ID", "শিক্ষার্থী পরিচয়পত্র"),
        _ => lang.t("Employee ID", "কর্মী পরিচয়পত্র"),
    }
}

/// The QR code as an inline `<svg>` element (without the XML prolog).
pub fn inline_qr(qr_text: &str, label: &str) -> Result<String, ApiError> {
    let svg = qr_svg(qr_text).map_err(|e| ApiError::Internal(e.to_string()))?;
    let start = svg.find("<svg").unwrap_or(0);
    let svg = &svg[start..];
    Ok(svg.replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(label)), 1))
}

fn row(h: &mut String, k: &str, v: &str) {
    let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
}

/// `GET /passes/{id}`.
pub async fn page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let view = match load(&state, user, &id).await {
        Ok(v) => v,
        Err(e) => return error_page(&session, &e),
    };
    match render(&session, &state, &view) {
        Ok(body) => {
            let l = session.lang;
            let path = format!("/passes/{}", view.pass.id);
            Page::new(&session, &path, l.t("Movement pass", "মুভমেন্ট পাস"), body).into_response()
        }
        Err(e) => error_page(&session, &e),
    }
}

fn render(session: &Session, state: &AppState, v: &PassView) -> Result<String, ApiError> {
    let l = session.lang;
    let d = &v.app.details;
    let policy = state.policy();
    let mut h = String::new();
    let usable = v.usable();
    if !usable {
        h.push_str(&notice(
            "error",
            l.t("This pass cannot be used.", "এই পাসটি ব্যবহার করা যাবে না।"),
        ));
    }
    let _ = write!(
        h,
        "<article class=\"pass\" aria-labelledby=\"pass-holder\"><div><div class=\"head\">"
    );
    if let Some(url) = v.profile.as_ref().and_then(photo_url) {
        let _ = write!(
            h,
            "<img class=\"photo\" src=\"{url}\" alt=\"{}\">",
            l.t("Photo of the holder", "পাসধারীর ছবি")
        );
    }
    let name = v.profile.as_ref().map_or("", |p| p.profile.name.as_str());
    let _ = write!(
        h,
        "<div><h2 id=\"pass-holder\">{}</h2><p><span class=\"status {s}\">{}</span></p></div></div><dl class=\"kv\">",
        esc(name),
        status_label(l, v.status),
        s = v.status,
    );
    if let Some(p) = &v.profile {
        row(
            &mut h,
            l.t("Date of birth", "জন্মতারিখ"),
            &l.date(p.profile.date_of_birth),
        );
        let doc = format!(
            "{} ••••{}",
            id_type_name(l, p.profile.id_type.as_str()),
            l.digits(&p.profile.document_last4())
        );
        row(&mut h, l.t("Document", "পরিচয়পত্র"), &doc);
    }
    let reason = policy
        .category(&d.reason)
        .map_or(d.reason.clone(), |c| l.pick(&c.label_en, &c.label_bn).to_string());
    row(&mut h, l.t("Reason", "কারণ"), &reason);
    let from = format!("{} — {}", d.from.address, place_name(l, &d.from.area));
    let to = format!("{} — {}", d.to.address, place_name(l, &d.to.area));
    row(&mut h, l.t("From", "যাত্রা শুরু"), &from);
    row(&mut h, l.t("To", "গন্তব্য"), &to);
    let trip = match d.trip {
        Trip::OneWay => l.t("One way", "একমুখী"),
        Trip::RoundTrip => l.t("Round trip", "যাওয়া-আসা"),
    };
    row(&mut h, l.t("Trip", "যাত্রা"), trip);
    row(&mut h, l.t("Valid from", "বৈধতা শুরু"), &l.datetime(v.pass.valid_from));
    row(&mut h, l.t("Valid until", "বৈধতা শেষ"), &l.datetime(v.pass.valid_until));
    if let Some(veh) = &d.vehicle {
        let mut text = format!("{} {}", vehicle_kind_name(l, &veh.kind), veh.registration);
        if let Some(drv) = &veh.driver {
            let _ = write!(text, " ({}: {}, {})", l.t("driver", "চালক"), drv.name, drv.licence);
        }
        row(&mut h, l.t("Vehicle", "যানবাহন"), &text);
    }
    if !d.companions.is_empty() {
        let list: Vec<String> = d
            .companions
            .iter()
            .map(|c| format!("{} ({}, {} {})", c.name, c.relation, l.num(c.age), l.t("yrs", "বছর")))
            .collect();
        row(&mut h, l.t("Companions", "সহযাত্রী"), &list.join("; "));
    }
    h.push_str("</dl></div><div class=\"qr\">");
    if usable {
        h.push_str(&inline_qr(
            &v.pass.qr_text,
            l.t("QR code of the pass", "পাসের কিউআর কোড"),
        )?);
    }
    let _ = write!(
        h,
        "<p>{}</p><p class=\"code\" id=\"short-code\">{}</p></div></article>",
        l.t("Short code", "সংক্ষিপ্ত কোড"),
        esc(&v.pass.short_code),
    );
    if !usable {
        // Nothing to show at a checkpoint: no QR (above), no print, no PDF.
        let _ = write!(
            h,
            "<div class=\"actions\"><a class=\"button secondary\" href=\"/applications\">{}</a></div>",
            l.t("My applications", "আমার আবেদন"),
        );
        return Ok(h);
    }
    // The Print button needs the script, which unhides it; without the script the hint
    // (in <noscript>) points to the browser's own Print instead.
    let _ = write!(
        h,
        "<p class=\"hint\">{}<noscript> {}</noscript></p><div class=\"actions\">\
         <button type=\"button\" data-print hidden>{}</button>\
         <a class=\"button secondary\" href=\"/passes/{}/pass.pdf\" download>{}</a>\
         <a class=\"button secondary\" href=\"/applications\">{}</a></div>",
        l.t(
            "Show this page, or a print of it, at checkpoints.",
            "চেকপোস্টে এই পাতাটি বা এর প্রিন্ট দেখান।"
        ),
        l.t(
            "To print it, use your browser's Print.",
            "প্রিন্ট করতে ব্রাউজারের প্রিন্ট ব্যবহার করুন।"
        ),
        l.t("Print", "প্রিন্ট করুন"),
        v.pass.id,
        l.t("Download PDF", "পিডিএফ ডাউনলোড"),
        l.t("My applications", "আমার আবেদন"),
    );
    Ok(h)
}
