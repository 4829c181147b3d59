//! The dashboard's map: districts shaded by a measure, drawn as SVG from their outlines
//! (BBS / OCHA boundaries) in an equirectangular projection.

use std::sync::OnceLock;

use super::*;

/// What the map shades districts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MapMeasure {
    Applications,
    Approved,
    Backlog,
    RejectedShare,
}

impl MapMeasure {
    pub(super) fn parse(v: Option<&str>) -> Result<MapMeasure, ApiError> {
        match v {
            None | Some("applications") | Some("") => Ok(MapMeasure::Applications),
            Some("approved") => Ok(MapMeasure::Approved),
            Some("backlog") => Ok(MapMeasure::Backlog),
            Some("rejected_share") => Ok(MapMeasure::RejectedShare),
            Some(_) => Err(ApiError::BadRequest {
                code: "invalid_query",
                detail: "measure must be applications, approved, backlog or rejected_share.".into(),
            }),
        }
    }

    const ALL: [(MapMeasure, &'static str, &'static str, &'static str); 4] = [
        (MapMeasure::Applications, "applications", "Applications", "আবেদন"),
        (MapMeasure::Approved, "approved", "Approved", "অনুমোদিত"),
        (MapMeasure::Backlog, "backlog", "Review backlog", "যাচাইয়ের অপেক্ষায়"),
        (
            MapMeasure::RejectedShare,
            "rejected_share",
            "Rejected (%)",
            "প্রত্যাখ্যাত (%)",
        ),
    ];

    fn value(self, a: &AreaCounts) -> f64 {
        match self {
            MapMeasure::Applications => a.total as f64,
            MapMeasure::Approved => a.status(Status::Approved) as f64,
            MapMeasure::Backlog => (a.status(Status::InReview) + a.status(Status::InfoRequested)) as f64,
            MapMeasure::RejectedShare if a.total > 0 => 100.0 * a.status(Status::Rejected) as f64 / a.total as f64,
            MapMeasure::RejectedShare => 0.0,
        }
    }
}

/// District outlines, parsed once: `(code, rings of (lon, lat))`.
type Outline = (String, Vec<Vec<(f64, f64)>>);

fn outlines() -> &'static [Outline] {
    static OUTLINES: OnceLock<Vec<Outline>> = OnceLock::new();
    OUTLINES.get_or_init(|| {
        let parsed: std::collections::BTreeMap<String, Vec<Vec<[f64; 2]>>> =
            serde_json::from_str(mpass_domain::geo::district_boundaries_json()).unwrap_or_default();
        parsed
            .into_iter()
            .map(|(code, rings)| {
                let rings = rings
                    .into_iter()
                    .map(|r| r.into_iter().map(|[lon, lat]| (lon, lat)).collect())
                    .collect();
                (code, rings)
            })
            .collect()
    })
}

/// Bangladesh's extent, and a projection to the map's pixels (equirectangular, scaled by
/// the cosine of the middle latitude so shapes are not stretched).
const LON: (f64, f64) = (88.0, 92.7);
const LAT: (f64, f64) = (20.55, 26.65);

fn project(lon: f64, lat: f64, scale: f64) -> (f64, f64) {
    let k = (23.6f64).to_radians().cos();
    ((lon - LON.0) * k * scale, (LAT.1 - lat) * scale)
}

pub(super) fn map_section(b: &mut String, l: Lang, q: &StatsParams, districts: &[AreaCounts], m: MapMeasure) {
    let _ = write!(
        b,
        "<section class=\"chart map\"><h2>{}</h2><p>",
        l.t("Map of districts", "জেলার মানচিত্র")
    );
    for (mm, code, en, bn) in MapMeasure::ALL {
        let mut link = format!("/dashboard?measure={code}");
        for (k, v) in [
            ("from", &q.from),
            ("to", &q.to),
            ("district", &q.district),
            ("reason", &q.reason),
        ] {
            if let Some(v) = v {
                let _ = write!(link, "&amp;{k}={}", esc(&crate::web::html::url_encode(v)));
            }
        }
        if mm == m {
            let _ = write!(b, "<strong>{}</strong> · ", l.pick(en, bn));
        } else {
            let _ = write!(b, "<a href=\"{link}\">{}</a> · ", l.pick(en, bn));
        }
    }
    b.push_str("</p>");
    let values: Vec<(&str, f64, &AreaCounts)> = districts.iter().map(|a| (a.code.as_str(), m.value(a), a)).collect();
    let max = values.iter().map(|v| v.1).fold(0.0, f64::max);
    let shade = |v: f64| -> &'static str {
        if max <= 0.0 || v <= 0.0 {
            SHADES[0]
        } else {
            SHADES[1 + (((v / max) * 4.999) as usize).min(4)]
        }
    };
    let scale = 110.0;
    let (w, h) = project(LON.1, LAT.0, scale);
    let _ = write!(
        b,
        "<svg viewBox=\"0 0 {w:.0} {h:.0}\" class=\"map\" role=\"img\" aria-label=\"{}\">",
        l.t("Map of Bangladesh's districts", "বাংলাদেশের জেলার মানচিত্র")
    );
    let mut drawn = 0;
    for (code, rings) in outlines() {
        let Some((_, v, a)) = values.iter().find(|(c, _, _)| c == code) else {
            continue;
        };
        let mut d = String::new();
        for ring in rings {
            for (i, (lon, lat)) in ring.iter().enumerate() {
                let (x, y) = project(*lon, *lat, scale);
                let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
            }
            d.push('Z');
        }
        let value = if m == MapMeasure::RejectedShare {
            format!("{v:.1}%")
        } else {
            format!("{v:.0}")
        };
        let _ = write!(
            b,
            "<path d=\"{d}\" fill=\"{}\" stroke=\"#475569\" stroke-width=\"0.6\" data-district=\"{code}\">\
             <title>{}: {value}</title></path>",
            shade(*v),
            esc(l.pick(&a.name_en, &a.name_bn)),
        );
        drawn += 1;
    }
    b.push_str("</svg><p class=\"legend\">");
    for (i, s) in SHADES.iter().enumerate() {
        let lo = if i == 0 { 0.0 } else { max * (i as f64 - 1.0) / 5.0 };
        let _ = write!(
            b,
            "<svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect width=\"14\" height=\"14\" fill=\"{s}\" stroke=\"#475569\"/></svg> {}{lo:.0} ",
            if i == 0 { "" } else { "≥ " },
        );
    }
    let _ = write!(
        b,
        "</p><p class=\"hint\">{drawn} {}. {}</p></section>",
        l.t("districts", "জেলা"),
        l.t(
            "Administrative boundaries: Bangladesh Bureau of Statistics (BBS), via OCHA / HDX COD-AB.",
            "প্রশাসনিক সীমানা: বাংলাদেশ পরিসংখ্যান ব্যুরো (BBS), OCHA / HDX COD-AB থেকে।"
        ),
    );
}
