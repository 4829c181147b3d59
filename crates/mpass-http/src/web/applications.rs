//! "My applications": each application with its status and the reasons of its decision,
//! refreshing itself while a decision is pending; cancelling one.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use mpass_domain::application::{Application, Status};
use mpass_domain::ids::ApplicationId;
use mpass_domain::ports::ThreadMessage;

use super::areas::place_name;
use super::form::{Fields, FormBody};
use super::html::{Page, csrf_field, esc};
use super::i18n::Lang;
use super::messages::flash_box;
use super::session::Session;
use super::{csrf_failed, error_page, login_first, see_other};
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;

/// Seconds between reloads while a decision is pending.
const PENDING_REFRESH_SECS: u32 = 3;

/// A status as the citizen reads it.
pub fn status_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "submitted" => lang.t("Waiting for a decision", "সিদ্ধান্তের অপেক্ষায়"),
        "approved" => lang.t("Approved", "অনুমোদিত"),
        "rejected" => lang.t("Rejected", "প্রত্যাখ্যাত"),
        "in_review" => lang.t("Being reviewed by an official", "একজন কর্মকর্তা যাচাই করছেন"),
        "info_requested" => lang.t("More information requested", "আরও তথ্য চাওয়া হয়েছে"),
        "cancelled" => lang.t("Cancelled", "বাতিল"),
        "revoked" => lang.t("Revoked", "প্রত্যাহার করা হয়েছে"),
        "active" => lang.t("Valid", "বৈধ"),
        "not_yet_valid" => lang.t("Not yet valid", "এখনো বৈধ নয়"),
        "expired" => lang.t("Expired", "মেয়াদ শেষ"),
        _ => lang.t("Unknown", "অজানা"),
    }
}

/// The information thread and, while a question waits, the answer form.
fn thread_part(session: &Session, app: &Application, thread: &[ThreadMessage]) -> String {
    let l = session.lang;
    let mut h = super::review::thread_section(l, thread);
    if app.status == Status::InfoRequested {
        let _ = write!(
            h,
            "<form method=\"post\" action=\"/applications/{id}/reply\" class=\"reply\">{csrf}\
             <div class=\"field\"><label for=\"f-reply-{id}\">{label}</label>\
             <textarea id=\"f-reply-{id}\" name=\"body\" rows=\"3\" maxlength=\"1000\" required></textarea></div>\
             <button type=\"submit\">{send}</button></form>",
            id = app.id,
            csrf = csrf_field(session),
            label = l.t("Your answer", "আপনার উত্তর"),
            send = l.t("Send the answer", "উত্তর পাঠান"),
        );
    }
    h
}

fn card(session: &Session, reason_label: &str, app: &Application, thread: &[ThreadMessage]) -> String {
    let l = session.lang;
    let d = &app.details;
    let status = app.status.as_str();
    let mut h = format!(
        "<li class=\"card\"><h2>{reason}: {from} → {to}</h2>\
         <p><span class=\"status {status}\">{label}</span></p><dl class=\"kv\">\
         <dt>{when}</dt><dd>{start} – {end}</dd><dt>{sent}</dt><dd>{submitted}</dd></dl>",
        reason = esc(reason_label),
        from = esc(&place_name(l, &d.from.area)),
        to = esc(&place_name(l, &d.to.area)),
        label = status_label(l, status),
        when = l.t("When", "কখন"),
        start = esc(&l.datetime(d.start)),
        end = esc(&l.datetime(d.end())),
        sent = l.t("Sent", "পাঠানো হয়েছে"),
        submitted = esc(&l.datetime(app.submitted_at)),
    );
    // After a cancel or a revocation, the decision's words ("Your movement pass is
    // approved.") no longer hold: say what happened instead.
    let ended = match (app.status, app.pass_id.is_some()) {
        (Status::Cancelled, true) => Some(l.t(
            "This application was cancelled. Its pass no longer works at checkpoints.",
            "এই আবেদনটি বাতিল করা হয়েছে। এর পাস চেকপোস্টে আর কাজ করবে না।",
        )),
        (Status::Cancelled, false) => Some(l.t("This application was cancelled.", "এই আবেদনটি বাতিল করা হয়েছে।")),
        (Status::Revoked, _) => Some(l.t(
            "An official revoked this pass. It no longer works at checkpoints.",
            "একজন কর্মকর্তা এই পাসটি প্রত্যাহার করেছেন। এটি চেকপোস্টে আর কাজ করবে না।",
        )),
        _ => None,
    };
    if let Some(text) = ended {
        let _ = write!(h, "<p>{}</p>", esc(text));
    } else if let Some(dec) = &app.decision {
        let _ = write!(h, "<ul class=\"reasons\">");
        for r in &dec.reasons {
            let _ = write!(h, "<li>{}</li>", esc(l.pick(&r.message_en, &r.message_bn)));
        }
        h.push_str("</ul>");
    }
    h.push_str(&thread_part(session, app, thread));
    h.push_str("<div class=\"actions\">");
    if let (Some(pass), Status::Approved) = (app.pass_id, app.status) {
        let _ = write!(
            h,
            "<a class=\"button\" href=\"/passes/{pass}\">{}</a>",
            l.t("Open the pass", "পাস দেখুন")
        );
    }
    if app.status.cancellable() {
        // Cancelling cannot be undone (an approved pass stops working), so the button only
        // opens the question; the real submit is inside. A disclosure works without script.
        let _ = write!(
            h,
            "<details class=\"confirm\"><summary class=\"button secondary\">{}</summary>{}</details>",
            l.t("Cancel…", "বাতিল করুন…"),
            cancel_question(session, app.id, Some(app.status == Status::Approved)),
        );
    }
    h.push_str("</div></li>");
    h
}

/// "Cancel this application?" with the form that does it; `approved` says whether a pass
/// would stop working (`None`: not known here).
fn cancel_question(session: &Session, id: ApplicationId, approved: Option<bool>) -> String {
    let l = session.lang;
    let question = match approved {
        Some(true) => l.t(
            "Cancel this application? Its pass stops working at once. This cannot be undone.",
            "আবেদনটি বাতিল করবেন? এর পাসটি সঙ্গে সঙ্গে অকার্যকর হয়ে যাবে। এটি আর ফেরানো যাবে না।",
        ),
        Some(false) => l.t(
            "Cancel this application? This cannot be undone.",
            "আবেদনটি বাতিল করবেন? এটি আর ফেরানো যাবে না।",
        ),
        None => l.t(
            "Cancel this application? If it has a pass, the pass stops working at once. This cannot be undone.",
            "আবেদনটি বাতিল করবেন? এর পাস থাকলে সেটি সঙ্গে সঙ্গে অকার্যকর হয়ে যাবে। এটি আর ফেরানো যাবে না।",
        ),
    };
    format!(
        "<div class=\"notice error\"><p>{question}</p>\
         <form method=\"post\" action=\"/applications/{id}/cancel\">{csrf}\
         <input type=\"hidden\" name=\"confirm\" value=\"1\">\
         <button type=\"submit\" class=\"danger\">{yes}</button></form></div>",
        csrf = csrf_field(session),
        yes = l.t("Yes, cancel it", "হ্যাঁ, বাতিল করুন"),
    )
}

/// `GET /applications`.
pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let apps = match state.store.applications_of(user, None, 50).await {
        Ok(a) => a,
        Err(e) => return error_page(&session, &ApiError::from(e)),
    };
    let l = session.lang;
    let policy = state.policy();
    let mut b = flash_box(l, session.flash.as_deref());
    let pending = apps.iter().any(|a| a.status == Status::Submitted);
    if pending {
        b.push_str(&super::html::notice(
            "ok",
            l.t(
                "A decision is being taken. This page updates by itself.",
                "সিদ্ধান্ত নেওয়া হচ্ছে। এই পাতাটি নিজে থেকেই হালনাগাদ হবে।",
            ),
        ));
    }
    let _ = write!(
        b,
        "<p class=\"actions\"><a class=\"button\" href=\"/apply\">{}</a></p>",
        l.t("New application", "নতুন আবেদন")
    );
    if apps.is_empty() {
        let _ = write!(
            b,
            "<p>{}</p>",
            l.t("You have no applications yet.", "আপনার এখনো কোনো আবেদন নেই।")
        );
    } else {
        b.push_str("<ul class=\"cards\" aria-live=\"polite\">");
        for app in &apps {
            let label = policy
                .category(&app.details.reason)
                .map(|c| l.pick(&c.label_en, &c.label_bn).to_string())
                .unwrap_or_else(|| app.details.reason.clone());
            // Only applications that went to a reviewer can have a thread.
            let thread = if matches!(app.status, Status::InfoRequested | Status::InReview) {
                match state.store.thread(app.id).await {
                    Ok(t) => t,
                    Err(e) => return error_page(&session, &ApiError::from(e)),
                }
            } else {
                Vec::new()
            };
            b.push_str(&card(&session, &label, app, &thread));
        }
        b.push_str("</ul>");
    }
    let mut page = Page::new(&session, "/applications", l.t("My applications", "আমার আবেদন"), b);
    if pending {
        page.refresh_secs = Some(PENDING_REFRESH_SECS);
    }
    page.into_response()
}

/// `POST /applications/{id}/cancel`: cancels once confirmed (the form's `confirm`), asks first
/// otherwise.
pub async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    FormBody(body): FormBody,
) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let Some(id) = ApplicationId::parse(&id) else {
        return error_page(&session, &ApiError::NotFound);
    };
    if !f.checked("confirm") {
        // A form without the question (an old page, say): ask it first.
        let l = session.lang;
        let body = format!(
            "{}<p><a href=\"/applications\">{}</a></p>",
            cancel_question(&session, id, None),
            l.t("No, keep it", "না, রেখে দিন")
        );
        let title = l.t("Cancel the application?", "আবেদন বাতিল করবেন?");
        return Page::new(&session, "/applications", title, body).into_response();
    }
    match service::cancel_application(&state, user, id).await {
        Ok(_) => {
            session.flash("cancelled");
            see_other("/applications")
        }
        Err(e) => error_page(&session, &e),
    }
}

/// `POST /applications/{id}/reply`: the citizen answers an official's question.
pub async fn reply(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    FormBody(body): FormBody,
) -> Response {
    let Some(caller) = session.caller.clone() else {
        return login_first();
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let Some(id) = ApplicationId::parse(&id) else {
        return error_page(&session, &ApiError::NotFound);
    };
    match crate::threads::reply(&state, &caller, id, &f.text("body")).await {
        Ok(_) => {
            session.flash("answer_sent");
            see_other("/applications")
        }
        Err(e) => error_page(&session, &e),
    }
}
