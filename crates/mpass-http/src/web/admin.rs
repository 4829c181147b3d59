//! The admin's pages (issue 7): who holds which role (grant and revoke by phone), the
//! master data of the policy in force (restricted areas, curfew hours), and the audited
//! application search. Server-rendered forms with the session's CSRF token; access keys:
//! Alt+G grant, Alt+S search, Alt+P save the policy.

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use mpass_domain::audit::Actor;
use mpass_domain::phone::Phone;
use mpass_domain::policy::master::{self, MasterData};
use mpass_domain::ports::Role;
use time::OffsetDateTime;

use super::areas::place_name;
use super::form::{Fields, FormBody};
use super::html::{Page, csrf_field, esc, notice};
use super::i18n::Lang;
use super::messages::{flash_box, problem_text};
use super::session::Session;
use super::{csrf_failed, error_page, login_first, role_needed, see_other};
use crate::admin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

#[expect(
    clippy::result_large_err,
    reason = "the error is the response itself, built once per request"
)]
fn admin_of(session: &Session) -> Result<&Caller, Response> {
    match (&session.caller, session.with_role("admin")) {
        (None, _) => Err(login_first()),
        (Some(_), None) => Err(role_needed(session, "/admin", Role::Admin)),
        (Some(_), Some(c)) => Ok(c),
    }
}

fn menu(l: Lang) -> String {
    format!(
        "<nav class=\"actions\" aria-label=\"{}\"><a href=\"/admin\">{}</a> · <a href=\"/admin/policy\">{}</a> · \
         <a href=\"/admin/search\">{}</a></nav>",
        l.t("Administration", "প্রশাসন"),
        l.t("Roles", "ভূমিকা"),
        l.t("Policy", "নীতিমালা"),
        l.t("Search applications", "আবেদন খুঁজুন"),
    )
}

fn role_label(l: Lang, r: Role) -> &'static str {
    match r {
        Role::Citizen => l.t("Citizen", "নাগরিক"),
        Role::Reviewer => l.t("Reviewer", "যাচাইকারী"),
        Role::Police => l.t("Police", "পুলিশ"),
        Role::PoliceSupervisor => l.t("Police supervisor", "পুলিশ তত্ত্বাবধায়ক"),
        Role::Analyst => l.t("Analyst", "বিশ্লেষক"),
        Role::Admin => l.t("Admin", "প্রশাসক"),
    }
}

fn district_names(l: Lang, codes: &[String]) -> String {
    codes
        .iter()
        .map(|d| {
            mpass_domain::geo::areas()
                .district(d)
                .map_or_else(|| d.clone(), |a| format!("{} ({d})", l.pick(&a.name_en, &a.name_bn)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /admin`: the role grants and the form to grant or revoke.
pub async fn roles(State(state): State<AppState>, session: Session) -> Response {
    if let Err(r) = admin_of(&session) {
        return r;
    }
    roles_page(&state, &session, None).await
}

async fn roles_page(state: &AppState, session: &Session, problem: Option<&str>) -> Response {
    let l = session.lang;
    let grants = match state.store.role_grants_list().await {
        Ok(g) => g,
        Err(e) => return error_page(session, &ApiError::from(e)),
    };
    let mut b = menu(l);
    b.push_str(&flash_box(l, session.flash.as_deref()));
    if let Some(p) = problem {
        b.push_str(&notice("error", p));
    }
    let mut role_opts = String::new();
    for r in Role::ALL.into_iter().filter(|r| *r != Role::Citizen) {
        let _ = write!(
            role_opts,
            "<option value=\"{}\">{}</option>",
            r.as_str(),
            esc(role_label(l, r))
        );
    }
    let _ = write!(
        b,
        "<section><h2>{h}</h2><form method=\"post\" action=\"/admin/roles\" class=\"stack\">{csrf}\
         <div class=\"field\"><label for=\"f-phone\">{phone_l}</label>\
         <input id=\"f-phone\" name=\"phone\" type=\"tel\" inputmode=\"tel\" autocomplete=\"off\" required autofocus></div>\
         <div class=\"field\"><label for=\"f-role\">{role_l}</label><select id=\"f-role\" name=\"role\">{role_opts}</select></div>\
         <div class=\"field\"><label for=\"f-districts\">{dist_l}</label>\
         <input id=\"f-districts\" name=\"districts\" aria-describedby=\"f-districts-hint\">\
         <p class=\"hint\" id=\"f-districts-hint\">{dist_hint}</p></div>\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"grant\" accesskey=\"g\">{grant}</button>\
         <button type=\"submit\" name=\"action\" value=\"revoke\" class=\"danger\">{revoke}</button></div></form></section>",
        h = l.t("Grant or revoke a role", "ভূমিকা দিন বা প্রত্যাহার করুন"),
        csrf = csrf_field(session),
        phone_l = l.t("Mobile number", "মোবাইল নম্বর"),
        role_l = l.t("Role", "ভূমিকা"),
        dist_l = l.t("Districts (codes)", "জেলা (কোড)"),
        dist_hint = l.t(
            "District geocodes separated by commas, e.g. 3026, 3033. Reviewers need at least one. Granting again replaces the districts.",
            "কমা দিয়ে আলাদা করা জেলার জিওকোড, যেমন 3026, 3033। যাচাইকারীর অন্তত একটি জেলা লাগবে। আবার দিলে জেলাগুলো বদলে যাবে।"
        ),
        grant = l.t("Grant (Alt+G)", "দিন (Alt+G)"),
        revoke = l.t("Revoke", "প্রত্যাহার"),
    );
    let _ = write!(
        b,
        "<section><h2>{h}</h2><table class=\"grants\"><thead><tr><th scope=\"col\">{role}</th><th scope=\"col\">{phone}</th>\
         <th scope=\"col\">{dist}</th><th scope=\"col\">{since}</th></tr></thead><tbody>",
        h = l.t("Who holds which role", "কার কোন ভূমিকা"),
        role = l.t("Role", "ভূমিকা"),
        phone = l.t("Mobile number", "মোবাইল নম্বর"),
        dist = l.t("Districts", "জেলা"),
        since = l.t("Granted", "দেওয়া হয়েছে"),
    );
    for g in &grants {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(role_label(l, g.grant.role)),
            esc(g.phone.as_str()),
            esc(&district_names(l, &g.grant.districts)),
            esc(&l.datetime(g.granted_at)),
        );
    }
    b.push_str("</tbody></table></section>");
    let mut page = Page::new(session, "/admin", l.t("Administration: roles", "প্রশাসন: ভূমিকা"), b);
    if problem.is_some() {
        page.status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    page.into_response()
}

/// `POST /admin/roles`: grant (audited `role.granted`) or revoke (`role.revoked`).
pub async fn change_role(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let caller = match admin_of(&session) {
        Ok(c) => c.clone(),
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let l = session.lang;
    let Some(phone) = Phone::parse(&f.text("phone")) else {
        let msg = l.t("Enter a Bangladeshi mobile number.", "একটি বাংলাদেশি মোবাইল নম্বর লিখুন।");
        return roles_page(&state, &session, Some(msg)).await;
    };
    let now = OffsetDateTime::now_utc();
    let actor = Actor::user(caller.user_id);
    let result = if f.get("action") == Some("revoke") {
        let Some(role) = Role::parse(&f.text("role")) else {
            return roles_page(&state, &session, Some(l.t("Choose a role.", "একটি ভূমিকা বেছে নিন।"))).await;
        };
        match state.store.user_by_phone(&phone).await {
            Ok(Some(u)) => state
                .store
                .revoke_role(u.id, role, actor, now)
                .await
                .map(|done| done.then_some("role_revoked")),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        let grant = match admin::parse_grant(&f.text("role"), &f.text("districts")) {
            Ok(g) => g,
            Err(msg) => return roles_page(&state, &session, Some(&msg)).await,
        };
        match state.store.user_by_phone_or_create(&phone, now).await {
            Ok(u) => state
                .store
                .grant_role(u.id, grant, actor, now)
                .await
                .map(|()| Some("role_granted")),
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(Some(flash)) => {
            session.flash(flash);
            see_other("/admin")
        }
        Ok(None) => {
            let msg = l.t("That number does not hold this role.", "এই নম্বরের এই ভূমিকা নেই।");
            roles_page(&state, &session, Some(msg)).await
        }
        Err(e) => error_page(&session, &ApiError::from(e)),
    }
}

/// `GET /admin/policy`: the policy in force and the master-data form.
pub async fn policy(State(state): State<AppState>, session: Session) -> Response {
    if let Err(r) = admin_of(&session) {
        return r;
    }
    policy_page(&state, &session, None, None).await
}

async fn policy_page(
    state: &AppState,
    session: &Session,
    problem: Option<&str>,
    entered: Option<&MasterData>,
) -> Response {
    let l = session.lang;
    let text = match admin::policy_text(state).await {
        Ok(t) => t,
        Err(e) => return error_page(session, &e),
    };
    let current = match master::master_data(&text) {
        Ok(d) => d,
        Err(e) => return error_page(session, &ApiError::Internal(e.to_string())),
    };
    let shown = entered.unwrap_or(&current);
    let policy = state.policy();
    let mut b = menu(l);
    b.push_str(&flash_box(l, session.flash.as_deref()));
    if let Some(p) = problem {
        let _ = write!(
            b,
            "<div class=\"notice error\" role=\"alert\" tabindex=\"-1\" data-focus><p><strong>{}</strong></p><p>{}</p></div>",
            l.t("The policy was not changed:", "নীতিমালা বদলানো হয়নি:"),
            esc(p)
        );
    }
    let _ = write!(
        b,
        "<dl class=\"facts\"><dt>{ver_l}</dt><dd><code>{ver}</code></dd><dt>{areas_l}</dt><dd>{areas}</dd>\
         <dt>{curfew_l}</dt><dd>{start}–{end}</dd></dl><h2>{cat_l}</h2><ul class=\"categories\">",
        ver_l = l.t("Version in force", "চালু সংস্করণ"),
        ver = esc(policy.version()),
        areas_l = l.t("Restricted areas", "নিয়ন্ত্রিত এলাকা"),
        areas = if current.restricted_areas.is_empty() {
            l.t("none", "নেই").to_string()
        } else {
            esc(&current
                .restricted_areas
                .iter()
                .map(|a| place_name(l, a))
                .collect::<Vec<_>>()
                .join(", "))
            .to_string()
        },
        curfew_l = l.t("Curfew hours", "কারফিউর সময়"),
        start = esc(&current.curfew_start),
        end = esc(&current.curfew_end),
        cat_l = l.t("Reason categories", "কারণের ধরন"),
    );
    for c in policy.categories() {
        let _ = write!(
            b,
            "<li><code>{}</code> {}</li>",
            esc(&c.code),
            esc(l.pick(&c.label_en, &c.label_bn))
        );
    }
    let _ = write!(
        b,
        "</ul><section><h2>{h}</h2><form method=\"post\" action=\"/admin/policy\" class=\"stack\">{csrf}\
         <div class=\"field\"><label for=\"f-areas\">{areas_l}</label>\
         <input id=\"f-areas\" name=\"areas\" value=\"{areas}\" aria-describedby=\"f-areas-hint\">\
         <p class=\"hint\" id=\"f-areas-hint\">{areas_hint}</p></div>\
         <div class=\"field\"><label for=\"f-curfew_start\">{start_l}</label>\
         <input id=\"f-curfew_start\" name=\"curfew_start\" value=\"{start}\" pattern=\"[0-9]{{2}}:[0-9]{{2}}\" required></div>\
         <div class=\"field\"><label for=\"f-curfew_end\">{end_l}</label>\
         <input id=\"f-curfew_end\" name=\"curfew_end\" value=\"{end}\" pattern=\"[0-9]{{2}}:[0-9]{{2}}\" required></div>\
         <div class=\"actions\"><button type=\"submit\" accesskey=\"p\">{save}</button></div></form>\
         <p class=\"hint\">{note}</p></section>",
        h = l.t(
            "Change restricted areas and curfew hours",
            "নিয়ন্ত্রিত এলাকা ও কারফিউর সময় বদলান"
        ),
        csrf = csrf_field(session),
        areas_l = l.t("Restricted areas (geocodes)", "নিয়ন্ত্রিত এলাকা (জিওকোড)"),
        areas = esc(&shown.restricted_areas.join(", ")),
        areas_hint = l.t(
            "Division (2 digits), district (4) or thana (8) codes separated by commas; empty for none.",
            "বিভাগ (২ অঙ্ক), জেলা (৪) বা থানা (৮) কোড, কমা দিয়ে আলাদা; না থাকলে খালি রাখুন।"
        ),
        start_l = l.t("Curfew begins (HH:MM)", "কারফিউ শুরু (ঘণ্টা:মিনিট)"),
        end_l = l.t("Curfew ends (HH:MM)", "কারফিউ শেষ (ঘণ্টা:মিনিট)"),
        start = esc(&shown.curfew_start),
        end = esc(&shown.curfew_end),
        save = l.t("Put in force (Alt+P)", "চালু করুন (Alt+P)"),
        note = l.t(
            "Saving puts a new policy version in force on every node within seconds; the change is audited.",
            "সংরক্ষণ করলে কয়েক সেকেন্ডের মধ্যে সব নোডে নতুন সংস্করণ চালু হবে; পরিবর্তনটি অডিট লগে থাকবে।"
        ),
    );
    let mut page = Page::new(
        session,
        "/admin/policy",
        l.t("Administration: policy", "প্রশাসন: নীতিমালা"),
        b,
    );
    if problem.is_some() {
        page.status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    page.into_response()
}

/// `POST /admin/policy`: puts the edited policy in force, or shows why it was refused.
pub async fn save_policy(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let caller = match admin_of(&session) {
        Ok(c) => c.clone(),
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let data = MasterData {
        restricted_areas: f
            .text("areas")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        curfew_start: f.text("curfew_start").trim().to_string(),
        curfew_end: f.text("curfew_end").trim().to_string(),
    };
    match admin::change_master_data(&state, &caller, &data).await {
        Ok(_) => {
            session.flash("policy_changed");
            see_other("/admin/policy")
        }
        Err(Ok(refused)) => policy_page(&state, &session, Some(&refused), Some(&data)).await,
        Err(Err(e)) => error_page(&session, &e),
    }
}

/// `GET /admin/search`: the search form.
pub async fn search_form(State(state): State<AppState>, session: Session) -> Response {
    if let Err(r) = admin_of(&session) {
        return r;
    }
    search_page(&state, &session, "phone", "", None).await
}

async fn search_page(
    state: &AppState,
    session: &Session,
    field: &str,
    value: &str,
    result: Option<Result<Vec<mpass_domain::ports::SearchHit>, ApiError>>,
) -> Response {
    let l = session.lang;
    let mut b = menu(l);
    let opt = |v: &str, label: &str| {
        format!(
            "<option value=\"{v}\"{}>{}</option>",
            if v == field { " selected" } else { "" },
            esc(label)
        )
    };
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/admin/search\" class=\"stack\" role=\"search\">{csrf}\
         <div class=\"field\"><label for=\"f-field\">{by_l}</label><select id=\"f-field\" name=\"field\">{o1}{o2}{o3}</select></div>\
         <div class=\"field\"><label for=\"f-value\">{value_l}</label>\
         <input id=\"f-value\" name=\"value\" value=\"{value}\" required autofocus aria-describedby=\"f-value-hint\">\
         <p class=\"hint\" id=\"f-value-hint\">{hint}</p></div>\
         <div class=\"actions\"><button type=\"submit\" accesskey=\"s\">{go}</button></div></form>",
        csrf = csrf_field(session),
        by_l = l.t("Search by", "যা দিয়ে খুঁজবেন"),
        o1 = opt("phone", l.t("Mobile number", "মোবাইল নম্বর")),
        o2 = opt("document", l.t("Document number", "পরিচয়পত্রের নম্বর")),
        o3 = opt("id", l.t("Application id", "আবেদনের আইডি")),
        value_l = l.t("Value", "মান"),
        value = esc(value),
        hint = l.t(
            "Every search is recorded in the audit log with your name and what you searched for.",
            "প্রতিটি অনুসন্ধান আপনার নাম ও খোঁজার বিষয়সহ অডিট লগে সংরক্ষিত হয়।"
        ),
        go = l.t("Search (Alt+S)", "খুঁজুন (Alt+S)"),
    );
    match result {
        None => {}
        Some(Err(e)) => b.push_str(&notice("error", &problem_text(l, &e))),
        Some(Ok(hits)) if hits.is_empty() => {
            let _ = write!(
                b,
                "<p role=\"status\">{}</p>",
                l.t("No application found.", "কোনো আবেদন পাওয়া যায়নি।")
            );
        }
        Some(Ok(hits)) => {
            let _ = write!(
                b,
                "<table class=\"results\"><caption role=\"status\">{n} {found}</caption><thead><tr>\
                 <th scope=\"col\">{id}</th><th scope=\"col\">{status}</th><th scope=\"col\">{phone}</th>\
                 <th scope=\"col\">{reason}</th><th scope=\"col\">{route}</th><th scope=\"col\">{sent}</th></tr></thead><tbody>",
                n = l.num(hits.len()),
                found = l.t("found, newest first", "টি পাওয়া গেছে, নতুনটি আগে"),
                id = l.t("Application", "আবেদন"),
                status = l.t("Status", "অবস্থা"),
                phone = l.t("Mobile number", "মোবাইল নম্বর"),
                reason = l.t("Reason", "কারণ"),
                route = l.t("Route", "যাত্রাপথ"),
                sent = l.t("Sent", "পাঠানো"),
            );
            for h in &hits {
                let a = &h.application;
                let _ = write!(
                    b,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
                    a.id,
                    esc(a.status.as_str()),
                    esc(h.phone.as_str()),
                    esc(&a.details.reason),
                    esc(&place_name(l, &a.details.from.area)),
                    esc(&place_name(l, &a.details.to.area)),
                    esc(&l.datetime(a.submitted_at)),
                );
            }
            b.push_str("</tbody></table>");
        }
    }
    let _ = state;
    Page::new(
        session,
        "/admin/search",
        l.t("Administration: search", "প্রশাসন: অনুসন্ধান"),
        b,
    )
    .into_response()
}

/// `POST /admin/search`: runs the audited search (a POST with the CSRF token, so another
/// site cannot make an admin's browser write searches into the audit log).
pub async fn search(State(state): State<AppState>, session: Session, FormBody(body): FormBody) -> Response {
    let caller = match admin_of(&session) {
        Ok(c) => c.clone(),
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    if !session.csrf_ok(f.get("csrf").unwrap_or("")) {
        return csrf_failed(&session);
    }
    let field = f.text("field");
    let value = f.text("value");
    let parsed = match field.as_str() {
        "phone" => admin::parse_search(Some(&value), None, None),
        "document" => admin::parse_search(None, Some(&value), None),
        "id" => admin::parse_search(None, None, Some(&value)),
        _ => admin::parse_search(None, None, None),
    };
    let result = match parsed {
        Ok(q) => admin::search(&state, &caller, &q).await,
        Err(e) => Err(e),
    };
    search_page(&state, &session, &field, &value, Some(result)).await
}
