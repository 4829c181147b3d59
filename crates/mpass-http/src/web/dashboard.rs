//! The management dashboard (SPEC §9) for analysts and admins: headline numbers, an hourly
//! series, bar charts and a map of the districts, all drawn on the server as SVG (no
//! script, CSP-safe presentation attributes only), refreshed every minute, in English and
//! Bangla. Every number comes from the statistics counters (`crate::stats`).

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use mpass_domain::application::Status;
use mpass_domain::ports::Role;
use mpass_domain::stats::{LatencyHistogram, hour_start, latency_bucket_label};
use time::OffsetDateTime;

use super::html::{Page, esc};
use super::i18n::Lang;
use super::session::Session;
use super::{error_page, login_first, role_needed};
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::stats::{self, AreaCounts, Filters, Level, MAX_SERIES_HOURS, Measure, StatsParams};

mod map;
mod scans;

use map::{MapMeasure, map_section};

/// Seconds between automatic reloads.
const REFRESH_SECS: u32 = 60;

/// Sequential shades (light to dark) for the map.
const SHADES: [&str; 6] = ["#f1f5f9", "#cfe3f3", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

/// Status colours shared by the charts.
fn status_colour(s: Status) -> &'static str {
    match s {
        Status::Submitted => "#94a3b8",
        Status::Approved => "#15803d",
        Status::Rejected => "#b91c1c",
        Status::InReview => "#d97706",
        Status::InfoRequested => "#a16207",
        Status::Cancelled => "#64748b",
        Status::Revoked => "#7f1d1d",
    }
}

fn status_label(l: Lang, s: Status) -> &'static str {
    match s {
        Status::Submitted => l.t("Waiting", "অপেক্ষমাণ"),
        Status::Approved => l.t("Approved", "অনুমোদিত"),
        Status::Rejected => l.t("Rejected", "প্রত্যাখ্যাত"),
        Status::InReview => l.t("In review", "যাচাই চলছে"),
        Status::InfoRequested => l.t("Information asked", "তথ্য চাওয়া হয়েছে"),
        Status::Cancelled => l.t("Cancelled", "বাতিল"),
        Status::Revoked => l.t("Revoked", "প্রত্যাহৃত"),
    }
}

/// `GET /dashboard`.
pub async fn page(State(state): State<AppState>, session: Session, Query(q): Query<StatsParams>) -> Response {
    if session.caller.is_none() {
        return login_first();
    }
    if session.with_role("analyst").is_none() && session.with_role("admin").is_none() {
        return role_needed(&session, "/dashboard", Role::Analyst);
    }
    match render(&state, &session, &q).await {
        Ok(body) => {
            let l = session.lang;
            let mut page = Page::new(&session, "/dashboard", l.t("Dashboard", "ড্যাশবোর্ড"), body);
            page.refresh_secs = Some(REFRESH_SECS);
            page.into_response()
        }
        Err(e) => error_page(&session, &e),
    }
}

async fn render(state: &AppState, session: &Session, q: &StatsParams) -> Result<String, ApiError> {
    q.only(&["from", "to", "district", "reason", "measure", "lat", "lon", "radius_km"])?;
    let l = session.lang;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_SERIES_HOURS)?;
    let map_measure = MapMeasure::parse(q.measure.as_deref())?;
    let store = state.store.as_ref();
    // One question by hour, district and status feeds the headline, both hourly series,
    // the map and the backlog: one pass over the counters instead of five.
    let grid = stats::grid(store, &f).await?;
    let summary = stats::summary_of(store, &f, &grid).await?;
    let series = stats::timeseries_of(&f, Measure::Submitted, &grid);
    let approved = stats::timeseries_of(&f, Measure::Now(Status::Approved), &grid);
    let districts = stats::by_area_of(&f, Level::District, &grid);
    let backlog = stats::backlog_of(districts.clone());
    let busiest = stats::scans::checkpoints(store, &f, None).await?;
    let near = match q.near_form() {
        Ok(Some(p)) => Ok(Some((p, stats::scans::checkpoints(store, &f, Some(p)).await?))),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };

    let mut b = String::with_capacity(64 * 1024);
    filter_form(&mut b, l, q, &f);
    headline(&mut b, l, &summary);
    let _ = write!(
        b,
        "<section class=\"chart\"><h2>{}</h2>{}<p class=\"hint\">{}</p></section>",
        l.t("Applications per hour", "ঘণ্টাপ্রতি আবেদন"),
        hourly_svg(l, &series, &approved),
        l.t(
            "Bars: applications by hour of submission (UTC+6). Green: of them, approved now.",
            "স্তম্ভ: জমার ঘণ্টা অনুযায়ী আবেদন (UTC+6)। সবুজ: তার মধ্যে এখন অনুমোদিত।"
        ),
    );
    let _ = write!(
        b,
        "<div class=\"charts\"><section class=\"chart\"><h2>{}</h2>{}</section>\
         <section class=\"chart\"><h2>{}</h2>{}</section></div>",
        l.t("By status", "অবস্থা অনুযায়ী"),
        status_bars_svg(l, &summary.by_status),
        l.t("Time to the first decision", "প্রথম সিদ্ধান্তের সময়"),
        latency_svg(&summary.latency),
    );
    map_section(&mut b, l, q, &districts, map_measure);
    top_districts(&mut b, l, &districts);
    scans::render(
        &mut b,
        l,
        q,
        &scans::ScanSection {
            totals: &summary.scans,
            busiest: &busiest,
            near,
        },
    );
    backlog_table(&mut b, l, &backlog);
    let _ = write!(
        b,
        "<p class=\"hint\">{} {}. {}</p>",
        l.t("Updated every minute; last at", "প্রতি মিনিটে হালনাগাদ; সর্বশেষ"),
        esc(&crate::api::rfc3339(OffsetDateTime::now_utc())),
        l.t(
            "Counts only: no personal data. CSV export: GET /api/v1/stats/… with format=csv.",
            "শুধু সংখ্যা: কোনো ব্যক্তিগত তথ্য নেই। CSV: GET /api/v1/stats/… format=csv।"
        ),
    );
    Ok(b)
}

fn filter_form(b: &mut String, l: Lang, q: &StatsParams, f: &Filters) {
    let _ = write!(
        b,
        "<form method=\"get\" action=\"/dashboard\" class=\"filters\">\
         <label>{from} <input name=\"from\" value=\"{fv}\" size=\"20\"></label>\
         <label>{to} <input name=\"to\" value=\"{tv}\" size=\"20\"></label>\
         <label>{district} <select name=\"district\"><option value=\"\">{all}</option>",
        from = l.t("From", "থেকে"),
        to = l.t("To", "পর্যন্ত"),
        fv = esc(&crate::api::rfc3339(f.from())),
        tv = esc(&crate::api::rfc3339(f.to())),
        district = l.t("Area", "এলাকা"),
        all = l.t("All of Bangladesh", "সারা বাংলাদেশ"),
    );
    let areas = mpass_domain::geo::areas();
    for d in areas.divisions().chain(areas.districts()) {
        let selected = if q.district.as_deref() == Some(d.code.as_str()) {
            " selected"
        } else {
            ""
        };
        let prefix = if d.code.len() == 2 { "▸ " } else { "" };
        let _ = write!(
            b,
            "<option value=\"{}\"{selected}>{prefix}{}</option>",
            d.code,
            esc(l.pick(&d.name_en, &d.name_bn))
        );
    }
    let _ = write!(
        b,
        "</select></label><label>{reason} <input name=\"reason\" value=\"{rv}\" size=\"14\" pattern=\"[a-z_]*\"></label>\
         <input type=\"hidden\" name=\"measure\" value=\"{mv}\">{near}<button type=\"submit\">{show}</button></form>",
        reason = l.t("Reason", "কারণ"),
        rv = esc(q.reason.as_deref().unwrap_or("")),
        mv = esc(q.measure.as_deref().unwrap_or("applications")),
        near = [("lat", &q.lat), ("lon", &q.lon), ("radius_km", &q.radius_km)]
            .iter()
            .filter_map(|(k, v)| {
                v.as_ref()
                    .map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
            })
            .collect::<String>(),
        show = l.t("Show", "দেখান"),
    );
}

fn headline(b: &mut String, l: Lang, s: &stats::Summary) {
    let ms = |v: Option<i64>| v.map_or("—".to_string(), latency_text);
    let tiles = [
        (l.t("Applications", "আবেদন"), s.total.to_string()),
        (l.t("Approved", "অনুমোদিত"), s.status(Status::Approved).to_string()),
        (l.t("Rejected", "প্রত্যাখ্যাত"), s.status(Status::Rejected).to_string()),
        (l.t("Waiting for a reviewer", "যাচাইয়ের অপেক্ষায়"), s.backlog().to_string()),
        (l.t("Passes issued", "ইস্যুকৃত পাস"), s.passes_issued.to_string()),
        (l.t("Revoked", "প্রত্যাহৃত"), s.passes_revoked.to_string()),
        (
            l.t("Decided within (median)", "সিদ্ধান্তের সময় (মধ্যমা)"),
            ms(s.latency.quantile_bound_ms(0.5)),
        ),
        (
            l.t("Decided within (99%)", "সিদ্ধান্তের সময় (৯৯%)"),
            ms(s.latency.quantile_bound_ms(0.99)),
        ),
    ];
    b.push_str("<dl class=\"tiles\" id=\"headline\">");
    for (label, value) in tiles {
        let _ = write!(b, "<div><dt>{}</dt><dd>{}</dd></div>", esc(label), esc(&value));
    }
    b.push_str("</dl>");
}

fn latency_text(ms: i64) -> String {
    latency_bucket_label(
        mpass_domain::stats::LATENCY_BOUNDS_MS
            .iter()
            .position(|b| *b == ms)
            .unwrap_or(0),
    )
}

/// Bars per hour, approved overlaid, with hour ticks in Bangladesh time.
fn hourly_svg(l: Lang, all: &[(i64, i64)], approved: &[(i64, i64)]) -> String {
    let (w, h, left, bottom) = (900.0, 220.0, 50.0, 24.0);
    let max = all.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let bw = (w - left) / all.len().max(1) as f64;
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{}\" font-size=\"11\">",
        l.t("Applications per hour", "ঘণ্টাপ্রতি আবেদন")
    );
    axis(&mut s, left, w, h - bottom, max);
    for (i, ((hour, n), (_, a))) in all.iter().zip(approved).enumerate() {
        let x = left + i as f64 * bw;
        let bh = (h - bottom - 10.0) * (*n as f64) / max;
        let ah = (h - bottom - 10.0) * (*a as f64) / max;
        let at = hour_start(*hour) + time::Duration::hours(6);
        let _ = write!(
            s,
            "<g><title>{:02}:00 — {n} / {a}</title>\
             <rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#9ecae1\"/>\
             <rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{ah:.1}\" fill=\"#15803d\"/></g>",
            at.hour(),
            h - bottom - bh,
            (bw - 1.0).max(1.0),
            h - bottom - ah,
            (bw - 1.0).max(1.0),
        );
        if all.len() <= 48 && i % 3 == 0 || all.len() > 48 && at.hour() == 0 {
            let label = if all.len() <= 48 {
                format!("{:02}", at.hour())
            } else {
                format!("{:02}-{:02}", at.month() as u8, at.day())
            };
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#334155\">{label}</text>",
                x,
                h - 8.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn axis(s: &mut String, left: f64, right: f64, base: f64, max: f64) {
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#64748b\"/>\
         <text x=\"4\" y=\"16\" fill=\"#334155\">{}</text><text x=\"4\" y=\"{base}\" fill=\"#334155\">0</text>",
        max as i64
    );
}

fn hbars(rows: &[(String, i64, &str)], aria: &str) -> String {
    let (w, row_h, label_w) = (440.0, 22.0, 150.0);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let h = row_h * rows.len() as f64 + 4.0;
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{}\" font-size=\"12\">",
        esc(aria)
    );
    for (i, (label, n, colour)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let bw = (w - label_w - 70.0) * (*n as f64) / max;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\" fill=\"#0f172a\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#0f172a\">{n}</text>",
            y + 15.0,
            esc(label),
            row_h - 6.0,
            label_w + bw + 4.0,
            y + 15.0,
        );
    }
    s.push_str("</svg>");
    s
}

fn status_bars_svg(l: Lang, by_status: &[(Status, i64)]) -> String {
    let rows: Vec<(String, i64, &str)> = by_status
        .iter()
        .map(|(s, n)| (status_label(l, *s).to_string(), *n, status_colour(*s)))
        .collect();
    hbars(&rows, l.t("Applications by status", "অবস্থা অনুযায়ী আবেদন"))
}

fn latency_svg(h: &LatencyHistogram) -> String {
    let rows: Vec<(String, i64, &str)> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, n)| (latency_bucket_label(i), *n, "#3182bd"))
        .collect();
    hbars(&rows, "latency")
}

fn top_districts(b: &mut String, l: Lang, districts: &[AreaCounts]) {
    let mut top: Vec<&AreaCounts> = districts.iter().filter(|a| a.total > 0).collect();
    top.sort_by(|a, b| b.total.cmp(&a.total).then(a.code.cmp(&b.code)));
    top.truncate(12);
    let rows: Vec<(String, i64, &str)> = top
        .iter()
        .map(|a| (l.pick(&a.name_en, &a.name_bn).to_string(), a.total, "#3182bd"))
        .collect();
    let _ = write!(
        b,
        "<section class=\"chart\"><h2>{}</h2>{}</section>",
        l.t("Districts with the most applications", "সবচেয়ে বেশি আবেদনের জেলা"),
        hbars(&rows, l.t("Top districts", "শীর্ষ জেলা"))
    );
}

fn backlog_table(b: &mut String, l: Lang, items: &[(AreaCounts, i64)]) {
    let _ = write!(
        b,
        "<section><h2>{}</h2>",
        l.t("Review backlog by district", "জেলাভিত্তিক যাচাইয়ের অপেক্ষা")
    );
    if items.is_empty() {
        let _ = write!(b, "<p>{}</p></section>", l.t("Nothing is waiting.", "কিছুই অপেক্ষায় নেই।"));
        return;
    }
    let _ = write!(
        b,
        "<table id=\"backlog\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("District", "জেলা"),
        l.t("In review", "যাচাই চলছে"),
        l.t("Information asked", "তথ্য চাওয়া হয়েছে"),
        l.t("Total", "মোট"),
    );
    for (a, n) in items.iter().take(20) {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>",
            esc(l.pick(&a.name_en, &a.name_bn)),
            a.status(Status::InReview),
            a.status(Status::InfoRequested)
        );
    }
    b.push_str("</tbody></table></section>");
}
