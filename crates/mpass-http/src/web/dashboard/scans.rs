//! The dashboard's scans section (SPEC §8, §9): headline counts by result, the busiest
//! checkpoints as stacked bars (SVG drawn by the server), and the "scans near a point"
//! form with the checkpoints it finds. Numbers from the scan counters (`stats::scans`).

use std::fmt::Write;

use mpass_domain::pass::VerdictColour;
use mpass_domain::stats::scans::{MAX_RADIUS_KM, NearPoint, RESULTS, ResultCounts};

use super::super::html::esc;
use super::super::i18n::Lang;
use crate::error::ApiError;
use crate::stats::StatsParams;
use crate::stats::scans::CheckpointScans;

/// Checkpoints drawn in the bar chart.
const TOP: usize = 12;

fn colour(r: VerdictColour) -> &'static str {
    match r {
        VerdictColour::Green => "#15803d",
        VerdictColour::Amber => "#d97706",
        VerdictColour::Red => "#b91c1c",
    }
}

fn label(l: Lang, r: VerdictColour) -> &'static str {
    match r {
        VerdictColour::Green => l.t("Green (valid)", "সবুজ (বৈধ)"),
        VerdictColour::Amber => l.t("Amber (check)", "হলুদ (যাচাই করুন)"),
        VerdictColour::Red => l.t("Red (not valid)", "লাল (অবৈধ)"),
    }
}

fn place_name(l: Lang, c: &CheckpointScans) -> String {
    let (en, bn) = c.district_names();
    let district = l.pick(en, bn);
    match &c.checkpoint {
        Some(cp) if c.deleted => format!("{} ({})", cp.name, l.t("removed", "সরানো হয়েছে")),
        Some(cp) => cp.name.clone(),
        None if district.is_empty() => l.t("No place given", "স্থান দেওয়া হয়নি").to_string(),
        None => format!("{district}: {}", l.t("not at a checkpoint", "চেকপোস্টের বাইরে")),
    }
}

/// What the section shows.
pub struct ScanSection<'a> {
    pub totals: &'a ResultCounts,
    pub busiest: &'a [CheckpointScans],
    /// The near-a-point question and its answer, or why it was refused.
    pub near: Result<Option<(NearPoint, Vec<CheckpointScans>)>, ApiError>,
}

pub fn render(b: &mut String, l: Lang, q: &StatsParams, s: &ScanSection<'_>) {
    let _ = write!(
        b,
        "<section id=\"scans\"><h2>{}</h2><dl class=\"tiles\" id=\"scan-tiles\"><div><dt>{}</dt><dd>{}</dd></div>",
        l.t("Pass checks at checkpoints", "চেকপোস্টে পাস যাচাই"),
        l.t("Scans", "স্ক্যান"),
        s.totals.total()
    );
    for r in RESULTS {
        let _ = write!(
            b,
            "<div class=\"scan-{}\"><dt>{}</dt><dd>{}</dd></div>",
            mpass_domain::stats::scans::result_str(r),
            label(l, r),
            s.totals.get(r)
        );
    }
    b.push_str("</dl>");
    let _ = write!(
        b,
        "<section class=\"chart\"><h3>{}</h3>",
        l.t("Busiest checkpoints", "সবচেয়ে ব্যস্ত চেকপোস্ট")
    );
    if s.busiest.is_empty() {
        let _ = write!(b, "<p>{}</p>", l.t("No scans in this range.", "এই সময়ে কোনো স্ক্যান নেই।"));
    } else {
        let top: Vec<&CheckpointScans> = s.busiest.iter().take(TOP).collect();
        b.push_str(&stacked_bars(l, &top));
        legend(b, l);
    }
    b.push_str("</section>");
    near_form(b, l, q, &s.near);
    b.push_str("</section>");
}

fn legend(b: &mut String, l: Lang) {
    b.push_str("<p class=\"legend\">");
    for r in RESULTS {
        let _ = write!(
            b,
            "<svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect width=\"14\" height=\"14\" fill=\"{}\"/></svg> {} ",
            colour(r),
            label(l, r)
        );
    }
    b.push_str("</p>");
}

/// One bar per checkpoint, green, amber and red stacked, the total at the end.
fn stacked_bars(l: Lang, rows: &[&CheckpointScans]) -> String {
    let (w, row_h, label_w) = (640.0, 22.0, 230.0);
    let max = rows.iter().map(|c| c.counts.total()).max().unwrap_or(0).max(1) as f64;
    let h = row_h * rows.len() as f64 + 4.0;
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} {h}\" class=\"chart\" id=\"checkpoint-bars\" role=\"img\" aria-label=\"{}\" font-size=\"12\">",
        l.t("Scans per checkpoint by result", "ফলাফল অনুযায়ী চেকপোস্টপ্রতি স্ক্যান")
    );
    for (i, c) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let name = place_name(l, c);
        let short: String = name.chars().take(34).collect();
        let _ = write!(
            s,
            "<g><title>{} — {} / {} / {}</title><text x=\"0\" y=\"{:.1}\" fill=\"#0f172a\">{}</text>",
            esc(&name),
            c.counts.green,
            c.counts.amber,
            c.counts.red,
            y + 15.0,
            esc(&short)
        );
        let mut x = label_w;
        for r in RESULTS {
            let bw = (w - label_w - 60.0) * c.counts.get(r) as f64 / max;
            if bw > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                    row_h - 6.0,
                    colour(r)
                );
            }
            x += bw;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#0f172a\">{}</text></g>",
            x + 4.0,
            y + 15.0,
            c.counts.total()
        );
    }
    s.push_str("</svg>");
    s
}

fn near_form(
    b: &mut String,
    l: Lang,
    q: &StatsParams,
    near: &Result<Option<(NearPoint, Vec<CheckpointScans>)>, ApiError>,
) {
    let value = |v: &Option<String>| esc(v.as_deref().unwrap_or("")).to_string();
    let _ = write!(
        b,
        "<section id=\"near-section\"><h3>{title}</h3>\
         <form method=\"get\" action=\"/dashboard#near-section\" class=\"filters\" id=\"near-form\">",
        title = l.t("Scans near a point", "একটি স্থানের কাছে স্ক্যান"),
    );
    for (k, v) in [
        ("from", &q.from),
        ("to", &q.to),
        ("district", &q.district),
        ("reason", &q.reason),
        ("measure", &q.measure),
    ] {
        if let Some(v) = v {
            let _ = write!(b, "<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v));
        }
    }
    let _ = write!(
        b,
        "<label>{lat} <input id=\"near-lat\" name=\"lat\" value=\"{latv}\" size=\"10\" inputmode=\"decimal\" placeholder=\"23.7286\"></label>\
         <label>{lon} <input id=\"near-lon\" name=\"lon\" value=\"{lonv}\" size=\"10\" inputmode=\"decimal\" placeholder=\"90.4106\"></label>\
         <label>{radius} <input id=\"near-radius\" name=\"radius_km\" value=\"{rv}\" size=\"6\" inputmode=\"decimal\" placeholder=\"10\"></label>\
         <button type=\"submit\">{show}</button></form>\
         <p class=\"hint\">{hint}</p>",
        lat = l.t("Latitude", "অক্ষাংশ"),
        lon = l.t("Longitude", "দ্রাঘিমাংশ"),
        radius = l.t("Radius (km)", "ব্যাসার্ধ (কিমি)"),
        latv = value(&q.lat),
        lonv = value(&q.lon),
        rv = value(&q.radius_km),
        show = l.t("Show checkpoints", "চেকপোস্ট দেখান"),
        hint = if l == Lang::Bn {
            format!(
                "দশমিক ডিগ্রিতে বাংলাদেশের ভেতরের একটি স্থান, আর ০-এর বেশি ও সর্বোচ্চ {MAX_RADIUS_KM:.0} কিমি ব্যাসার্ধ। চেকপোস্টে করা স্ক্যান গোনা হয়।"
            )
        } else {
            format!(
                "A place in Bangladesh in decimal degrees, and a radius above 0 and at most {MAX_RADIUS_KM:.0} km. Counts the scans made at checkpoints."
            )
        },
    );
    match near {
        Err(ApiError::BadRequest { code, .. }) => {
            let _ = write!(
                b,
                "<div class=\"notice error\" role=\"alert\" id=\"near-error\" data-code=\"{code}\">{}</div>",
                esc(bad_near_text(l, code))
            );
        }
        Err(_) => {}
        Ok(None) => {}
        Ok(Some((p, items))) => near_table(b, l, p, items),
    }
    b.push_str("</section>");
}

fn bad_near_text(l: Lang, code: &str) -> &'static str {
    if code == "invalid_radius" {
        l.t(
            "The radius must be a number of kilometres above 0 and at most 100, e.g. 5 or 2.5.",
            "ব্যাসার্ধ ০-এর বেশি ও সর্বোচ্চ ১০০ কিমি হতে হবে, যেমন ৫ বা ২.৫।",
        )
    } else {
        l.t(
            "Latitude and longitude must be decimal degrees inside Bangladesh (latitude 20 to 27, longitude 87.5 to 93), e.g. 23.7286 and 90.4106.",
            "অক্ষাংশ ও দ্রাঘিমাংশ দশমিক ডিগ্রিতে বাংলাদেশের ভেতরে হতে হবে (অক্ষাংশ ২০ থেকে ২৭, দ্রাঘিমাংশ ৮৭.৫ থেকে ৯৩), যেমন 23.7286 ও 90.4106।",
        )
    }
}

fn near_table(b: &mut String, l: Lang, p: &NearPoint, items: &[CheckpointScans]) {
    let mut total = ResultCounts::default();
    for c in items {
        for r in RESULTS {
            total.add(r, c.counts.get(r));
        }
    }
    let (n, r, scans, red) = (items.len(), p.radius_km, total.total(), total.red);
    let text = match l {
        Lang::En => format!(
            "{n} {} with scans within {r} km of {:.4}, {:.4}: {scans} scans, {red} red.",
            if n == 1 { "checkpoint" } else { "checkpoints" },
            p.lat,
            p.lon
        ),
        Lang::Bn => format!(
            "{:.4}, {:.4} থেকে {r} কিমির মধ্যে স্ক্যানসহ {n}টি চেকপোস্ট: {scans}টি স্ক্যান, {red}টি লাল।",
            p.lat, p.lon
        ),
    };
    let _ = write!(b, "<p id=\"near-summary\">{}</p>", esc(&text));
    if items.is_empty() {
        return;
    }
    let _ = write!(
        b,
        "<div class=\"table-scroll\"><table class=\"queue\" id=\"near\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
        l.t("Checkpoint", "চেকপোস্ট"),
        l.t("District", "জেলা"),
        l.t("Distance (km)", "দূরত্ব (কিমি)"),
        l.t("Scans", "স্ক্যান"),
    );
    for r in RESULTS {
        let _ = write!(b, "<th scope=\"col\">{}</th>", label(l, r));
    }
    b.push_str("</tr></thead><tbody>");
    for c in items {
        let (en, bn) = c.district_names();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&place_name(l, c)),
            esc(l.pick(en, bn)),
            c.distance_km.unwrap_or(0.0),
            c.counts.total(),
            c.counts.green,
            c.counts.amber,
            c.counts.red
        );
    }
    b.push_str("</tbody></table></div>");
}
