//! The reviewer's pages (SPEC §6): the queue of their districts, oldest first; "next"
//! claims the oldest free item; the item page shows the applicant, the trip, the rules
//! that sent it to review and the information thread, and the lease holder approves,
//! rejects or asks the applicant a question.
//!
//! Built for a full day at a laptop: plain server-rendered pages (fast on any link, no
//! script needed), the next action focused on arrival, and access keys for every action
//! (Alt+N next, Alt+A approve, Alt+R reject, Alt+I ask, Alt+Q back to the queue).

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mpass_domain::application::{Application, Status};
use mpass_domain::ids::ApplicationId;
use mpass_domain::ports::{Role, StoredProfile, ThreadAuthor, ThreadMessage};

use super::areas::place_name;
use super::form::{Fields, FormBody};
use super::html::{Page, csrf_field, esc, notice};
use super::i18n::Lang;
use super::messages::{flash_box, problem_text};
use super::session::Session;
use super::{csrf_failed, error_page, login_first, role_needed, see_other};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::{self, ReviewInput};
use crate::state::AppState;

/// Items listed on the queue page.
const QUEUE_PAGE: u32 = 100;

/// Reason codes a reviewer picks from, with their labels.
const REVIEW_REASONS: [(&str, &str, &str); 7] = [
    ("documents_verified", "Documents verified", "কাগজপত্র যাচাই করা হয়েছে"),
    ("essential_trip", "Essential trip confirmed", "জরুরি যাত্রা নিশ্চিত"),
    ("information_provided", "Information provided", "তথ্য দেওয়া হয়েছে"),
    ("not_essential", "Not an essential trip", "জরুরি যাত্রা নয়"),
    ("insufficient_information", "Not enough information", "যথেষ্ট তথ্য নেই"),
    ("suspected_fraud", "Suspected fraud", "প্রতারণার সন্দেহ"),
    ("duplicate", "Duplicate application", "একই আবেদন আগে করা হয়েছে"),
];

/// The logged-in reviewer, or the page a visitor without the role gets.
#[expect(
    clippy::result_large_err,
    reason = "the error is the response itself, built once per request"
)]
fn reviewer(session: &Session) -> Result<&Caller, Response> {
    match (&session.caller, session.with_role("reviewer")) {
        (None, _) => Err(login_first()),
        (Some(_), None) => Err(role_needed(session, "/review", Role::Reviewer)),
        (Some(_), Some(c)) => Ok(c),
    }
}

fn district_of(app: &Application) -> Option<String> {
    mpass_domain::geo::areas()
        .district_of(&app.details.from.area)
        .map(|d| d.code.clone())
}

/// The application, if it is in one of the reviewer's districts and still before a
/// decision (in review, or waiting for the applicant); 404 otherwise.
async fn reviewable(state: &AppState, caller: &Caller, id: &str) -> Result<Application, ApiError> {
    let id = ApplicationId::parse(id).ok_or(ApiError::NotFound)?;
    let app = state.store.application(id).await?.ok_or(ApiError::NotFound)?;
    let mine = district_of(&app).is_some_and(|d| caller.reviews_district(&d));
    if !mine || !matches!(app.status, Status::InReview | Status::InfoRequested) {
        return Err(ApiError::NotFound);
    }
    Ok(app)
}

fn reason_label(state: &AppState, l: Lang, code: &str) -> String {
    state
        .policy()
        .category(code)
        .map_or_else(|| code.to_string(), |c| l.pick(&c.label_en, &c.label_bn).to_string())
}

fn hits(l: Lang, app: &Application) -> String {
    let mut h = String::from("<ul class=\"reasons\">");
    for r in app.decision.iter().flat_map(|d| &d.reasons) {
        let _ = write!(
            h,
            "<li><code>{}</code> {}</li>",
            esc(&r.code),
            esc(l.pick(&r.message_en, &r.message_bn))
        );
    }
    h.push_str("</ul>");
    h
}

/// `GET /review`: the queue of the reviewer's districts.
pub async fn queue(State(state): State<AppState>, session: Session) -> Response {
    let caller = match reviewer(&session) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = session.lang;
    let apps = match service::review_queue(&state, caller, QUEUE_PAGE).await {
        Ok(a) => a,
        Err(e) => return error_page(&session, &e),
    };
    let mut b = flash_box(l, session.flash.as_deref());
    let districts: Vec<String> = caller
        .districts()
        .iter()
        .map(|d| {
            mpass_domain::geo::areas()
                .district(d)
                .map_or_else(|| d.clone(), |a| l.pick(&a.name_en, &a.name_bn).to_string())
        })
        .collect();
    let _ = write!(
        b,
        "<p>{} {}</p><form method=\"post\" action=\"/review/next\" class=\"actions\">{}\
         <button type=\"submit\" accesskey=\"n\" autofocus{}>{}</button></form>\
         <p class=\"hint\">{}</p>",
        l.t("Your districts:", "আপনার জেলা:"),
        esc(&districts.join(", ")),
        csrf_field(&session),
        if apps.is_empty() { " disabled" } else { "" },
        l.t("Claim the next application", "পরের আবেদনটি নিন"),
        l.t(
            "Keys: Alt+N next · Alt+A approve · Alt+R reject · Alt+I ask for information · Alt+Q queue",
            "কী: Alt+N পরেরটি · Alt+A অনুমোদন · Alt+R প্রত্যাখ্যান · Alt+I তথ্য চাওয়া · Alt+Q তালিকা"
        ),
    );
    if apps.is_empty() {
        let _ = write!(b, "<p>{}</p>", l.t("The queue is empty.", "তালিকায় কোনো আবেদন নেই।"));
    } else {
        let _ = write!(
            b,
            "<table class=\"queue\"><caption>{caption}</caption><thead><tr><th scope=\"col\">{sent}</th>\
             <th scope=\"col\">{reason}</th><th scope=\"col\">{route}</th><th scope=\"col\">{why}</th></tr></thead><tbody>",
            caption = l.t("Oldest first", "পুরোনোটি আগে"),
            sent = l.t("Sent", "পাঠানো"),
            reason = l.t("Reason", "কারণ"),
            route = l.t("Route", "যাত্রাপথ"),
            why = l.t("Sent to review because", "যাচাইয়ের কারণ"),
        );
        for app in &apps {
            let d = &app.details;
            let _ = write!(
                b,
                "<tr><td><a href=\"/review/{id}\">{sent}</a></td><td>{reason}</td><td>{from} → {to}</td><td>{hits}</td></tr>",
                id = app.id,
                sent = esc(&l.datetime(app.submitted_at)),
                reason = esc(&reason_label(&state, l, &d.reason)),
                from = esc(&place_name(l, &d.from.area)),
                to = esc(&place_name(l, &d.to.area)),
                hits = hits(l, app),
            );
        }
        b.push_str("</tbody></table>");
    }
    let mut page = Page::new(&session, "/review", l.t("Review queue", "যাচাইয়ের তালিকা"), b);
    // New items arrive all the time; the page keeps itself current.
    page.refresh_secs = Some(30);
    page.into_response()
}

/// `POST /review/next`: claims the oldest item nobody holds and opens it.
pub async fn next(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let caller = match reviewer(&session) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !session.csrf_ok(Fields::parse(&body).get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let apps = match service::review_queue(&state, caller, QUEUE_PAGE).await {
        Ok(a) => a,
        Err(e) => return error_page(&session, &e),
    };
    for app in apps {
        match service::review_claim(&state, caller, app.id).await {
            Ok(_) => return see_other(&format!("/review/{}", app.id)),
            Err(ApiError::Conflict { .. } | ApiError::NotFound) => continue,
            Err(e) => return error_page(&session, &e),
        }
    }
    session.flash("queue_empty");
    see_other("/review")
}

fn thread_html(l: Lang, messages: &[ThreadMessage]) -> String {
    if messages.is_empty() {
        return String::new();
    }
    let mut h = format!("<section class=\"thread\"><h2>{}</h2><ol>", l.t("Messages", "বার্তা"));
    for m in messages {
        let who = match m.author {
            ThreadAuthor::Reviewer => l.t("Official", "কর্মকর্তা"),
            ThreadAuthor::Applicant => l.t("Applicant", "আবেদনকারী"),
        };
        let _ = write!(
            h,
            "<li class=\"{cls}\"><p class=\"meta\">{who} · {at}</p><p class=\"body\">{body}</p></li>",
            cls = m.author.as_str(),
            at = esc(&l.datetime(m.created_at)),
            body = esc(&m.body),
        );
    }
    h.push_str("</ol></section>");
    h
}

/// The message thread of an application (for the citizen's pages too).
pub(crate) fn thread_section(l: Lang, messages: &[ThreadMessage]) -> String {
    thread_html(l, messages)
}

fn applicant_html(l: Lang, app: &Application, phone: &str, profile: Option<&StoredProfile>) -> String {
    let Some(p) = profile else {
        return notice("error", l.t("The applicant has no profile.", "আবেদনকারীর প্রোফাইল নেই।"));
    };
    let photo = if p.photo_key.is_some() {
        format!(
            "<img class=\"photo\" src=\"/review/{}/photo\" alt=\"{}\" width=\"120\">",
            app.id,
            l.t("Applicant's photo", "আবেদনকারীর ছবি")
        )
    } else {
        format!("<p class=\"hint\">{}</p>", l.t("No photo.", "ছবি নেই।"))
    };
    let pr = &p.profile;
    format!(
        "<section class=\"applicant\"><h2>{title}</h2>{photo}<dl class=\"kv\">\
         <dt>{name_l}</dt><dd>{name}</dd><dt>{phone_l}</dt><dd>{phone}</dd>\
         <dt>{born_l}</dt><dd>{born}</dd><dt>{doc_l}</dt><dd>{doc_type} {doc}</dd>\
         <dt>{home_l}</dt><dd>{home}</dd></dl></section>",
        title = l.t("Applicant", "আবেদনকারী"),
        name_l = l.t("Name", "নাম"),
        name = esc(&pr.name),
        phone_l = l.t("Phone", "ফোন"),
        phone = esc(phone),
        born_l = l.t("Born", "জন্ম"),
        born = esc(&l.date(pr.date_of_birth)),
        doc_l = l.t("Document", "পরিচয়পত্র"),
        doc_type = esc(&format!("{:?}", pr.id_type)),
        doc = esc(&pr.id_number),
        home_l = l.t("Home", "ঠিকানা"),
        home = esc(&place_name(l, &pr.home_area)),
    )
}

fn trip_html(state: &AppState, l: Lang, app: &Application) -> String {
    let d = &app.details;
    let mut h = format!(
        "<section class=\"trip\"><h2>{title}</h2><dl class=\"kv\">\
         <dt>{reason_l}</dt><dd>{reason}</dd>",
        title = l.t("Trip", "যাত্রা"),
        reason_l = l.t("Reason", "কারণ"),
        reason = esc(&reason_label(state, l, &d.reason)),
    );
    if let Some(note) = &d.reason_note {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", l.t("Note", "বিবরণ"), esc(note));
    }
    let _ = write!(
        h,
        "<dt>{from_l}</dt><dd>{from}<br>{from_addr}</dd><dt>{to_l}</dt><dd>{to}<br>{to_addr}</dd>\
         <dt>{when_l}</dt><dd>{start} – {end}</dd><dt>{sent_l}</dt><dd>{sent}</dd>",
        from_l = l.t("From", "কোথা থেকে"),
        from = esc(&place_name(l, &d.from.area)),
        from_addr = esc(&d.from.address),
        to_l = l.t("To", "কোথায়"),
        to = esc(&place_name(l, &d.to.area)),
        to_addr = esc(&d.to.address),
        when_l = l.t("When", "কখন"),
        start = esc(&l.datetime(d.start)),
        end = esc(&l.datetime(d.end())),
        sent_l = l.t("Sent", "পাঠানো"),
        sent = esc(&l.datetime(app.submitted_at)),
    );
    if let Some(v) = &d.vehicle {
        let _ = write!(
            h,
            "<dt>{}</dt><dd>{} {}</dd>",
            l.t("Vehicle", "যানবাহন"),
            esc(&v.kind),
            esc(&v.registration)
        );
    }
    if !d.companions.is_empty() {
        let names: Vec<String> = d
            .companions
            .iter()
            .map(|c| format!("{} ({}, {})", c.name, c.relation, c.age))
            .collect();
        let _ = write!(
            h,
            "<dt>{}</dt><dd>{}</dd>",
            l.t("Companions", "সহযাত্রী"),
            esc(&names.join("; "))
        );
    }
    h.push_str("</dl></section>");
    h
}

fn decision_form(session: &Session, app: &Application) -> String {
    let l = session.lang;
    let mut reasons = String::new();
    for (code, en, bn) in REVIEW_REASONS {
        let _ = write!(reasons, "<option value=\"{code}\">{}</option>", esc(l.pick(en, bn)));
    }
    format!(
        "<form method=\"post\" action=\"/review/{id}/decide\" class=\"decide\">{csrf}\
         <div class=\"field\"><label for=\"f-reason_code\">{reason_l}</label>\
         <select id=\"f-reason_code\" name=\"reason_code\">{reasons}</select></div>\
         <div class=\"field\"><label for=\"f-note\">{note_l}</label>\
         <textarea id=\"f-note\" name=\"note\" rows=\"3\" maxlength=\"1000\" autofocus \
          aria-describedby=\"f-note-hint\"></textarea>\
         <p class=\"hint\" id=\"f-note-hint\">{note_hint}</p></div>\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"outcome\" value=\"approve\" accesskey=\"a\">{approve}</button>\
         <button type=\"submit\" name=\"outcome\" value=\"reject\" accesskey=\"r\" class=\"danger\">{reject}</button>\
         <button type=\"submit\" name=\"outcome\" value=\"request_info\" accesskey=\"i\" class=\"secondary\">{ask}</button>\
         </div></form>",
        id = app.id,
        csrf = csrf_field(session),
        reason_l = l.t("Reason for approving or rejecting", "অনুমোদন বা প্রত্যাখ্যানের কারণ"),
        note_l = l.t("Note, or the question for the applicant", "নোট, অথবা আবেদনকারীর কাছে প্রশ্ন"),
        note_hint = l.t(
            "A question is sent to the applicant by SMS; they answer in the app and the application comes back to the queue.",
            "প্রশ্নটি এসএমএসে আবেদনকারীকে জানানো হবে; তিনি অ্যাপে উত্তর দিলে আবেদনটি আবার তালিকায় আসবে।"
        ),
        approve = l.t("Approve (Alt+A)", "অনুমোদন (Alt+A)"),
        reject = l.t("Reject (Alt+R)", "প্রত্যাখ্যান (Alt+R)"),
        ask = l.t("Ask for information (Alt+I)", "তথ্য চান (Alt+I)"),
    )
}

async fn render_item(state: &AppState, session: &Session, app: &Application, problem: Option<&ApiError>) -> Response {
    let l = session.lang;
    let (profile, user, thread) = match tokio::try_join!(
        state.store.profile(app.user_id),
        state.store.user(app.user_id),
        state.store.thread(app.id)
    ) {
        Ok(v) => v,
        Err(e) => return error_page(session, &ApiError::from(e)),
    };
    let mut b = flash_box(l, session.flash.as_deref());
    if let Some(e) = problem {
        b.push_str(&notice("error", &problem_text(l, e)));
    }
    let phone = user.map(|u| u.phone.as_str().to_string()).unwrap_or_default();
    let _ = write!(
        b,
        "<p><a href=\"/review\" accesskey=\"q\">{}</a></p><div class=\"review-item\">{}{}</div>\
         <section><h2>{}</h2>{}</section>{}",
        l.t("← Back to the queue (Alt+Q)", "← তালিকায় ফিরুন (Alt+Q)"),
        applicant_html(l, app, &phone, profile.as_ref()),
        trip_html(state, l, app),
        l.t("Sent to review because", "যাচাইয়ের কারণ"),
        hits(l, app),
        thread_html(l, &thread),
    );
    if app.status == Status::InfoRequested {
        b.push_str(&notice(
            "ok",
            l.t(
                "Waiting for the applicant's answer. The application returns to the queue when they reply.",
                "আবেদনকারীর উত্তরের অপেক্ষা। উত্তর দিলে আবেদনটি আবার তালিকায় আসবে।",
            ),
        ));
    } else {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/review/{}/claim\" class=\"inline\">{}<button type=\"submit\" class=\"secondary\">{}</button></form>",
            app.id,
            csrf_field(session),
            l.t(
                "Claim or renew the 10-minute lease",
                "১০ মিনিটের জন্য নিজের নামে নিন বা সময় বাড়ান"
            )
        );
        b.push_str(&decision_form(session, app));
    }
    let path = format!("/review/{}", app.id);
    let mut page = Page::new(session, &path, l.t("Review an application", "আবেদন যাচাই"), b);
    if let Some(e) = problem {
        page.status = e.status();
    }
    page.into_response()
}

/// `GET /review/{id}`.
pub async fn item(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    let caller = match reviewer(&session) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match reviewable(&state, caller, &id).await {
        Ok(app) => render_item(&state, &session, &app, None).await,
        Err(e) => error_page(&session, &e),
    }
}

/// `POST /review/{id}/claim`.
pub async fn claim(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    FormBody(body): FormBody,
) -> Response {
    let caller = match reviewer(&session) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !session.csrf_ok(Fields::parse(&body).get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let app = match reviewable(&state, caller, &id).await {
        Ok(a) => a,
        Err(e) => return error_page(&session, &e),
    };
    match service::review_claim(&state, caller, app.id).await {
        Ok(_) => see_other(&format!("/review/{}", app.id)),
        Err(e) => render_item(&state, &session, &app, Some(&e)).await,
    }
}

/// `POST /review/{id}/decide`: approve, reject or ask, by the lease holder.
pub async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    FormBody(body): FormBody,
) -> Response {
    let caller = match reviewer(&session) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let app = match reviewable(&state, caller, &id).await {
        Ok(a) => a,
        Err(e) => return error_page(&session, &e),
    };
    let (outcome, reason_code, note) = (f.text("outcome"), f.text("reason_code"), f.text("note"));
    let result = if outcome == "request_info" {
        crate::threads::request_info(&state, caller, app.id, &note).await
    } else {
        let input = ReviewInput {
            outcome: &outcome,
            reason_code: &reason_code,
            note: &note,
        };
        service::review_decide(&state, caller, app.id, input).await
    };
    match result {
        Ok(_) => {
            session.flash(if outcome == "request_info" {
                "info_asked"
            } else {
                "review_decided"
            });
            see_other("/review")
        }
        Err(e) => render_item(&state, &session, &app, Some(&e)).await,
    }
}

/// `GET /review/{id}/photo`: the applicant's photo, for reviewers of the district.
pub async fn photo(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    let Ok(caller) = reviewer(&session) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(app) = reviewable(&state, caller, &id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    super::profile::serve_photo(&state, app.user_id, "private, no-store").await
}
