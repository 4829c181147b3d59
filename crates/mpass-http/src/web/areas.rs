//! Choosing a place: a district select and a thana select grouped by district. Without
//! JavaScript the grouped thana list alone is enough; with it, the thana list shows only
//! the chosen district's thanas.

use std::fmt::Write;
use std::sync::OnceLock;

use mpass_domain::geo::{self, Area};

use super::html::{described, esc, field_id, notes};
use super::i18n::Lang;
use super::messages::FormErrors;

struct Rendered {
    districts: String,
    thanas: String,
}

fn name(lang: Lang, a: &Area) -> &str {
    lang.pick(&a.name_en, &a.name_bn)
}

fn sorted<'a>(lang: Lang, it: impl Iterator<Item = &'a Area>) -> Vec<&'a Area> {
    let mut v: Vec<&Area> = it.collect();
    v.sort_by(|a, b| name(lang, a).cmp(name(lang, b)));
    v
}

fn render(lang: Lang) -> Rendered {
    let areas = geo::areas();
    let mut districts = String::new();
    let mut thanas = String::new();
    for d in sorted(lang, areas.districts()) {
        let _ = write!(
            districts,
            "<option value=\"{}\">{}</option>",
            d.code,
            esc(name(lang, d))
        );
        let _ = write!(
            thanas,
            "<optgroup label=\"{}\" data-district=\"{}\">",
            esc(name(lang, d)),
            d.code
        );
        for t in sorted(lang, areas.thanas_of(&d.code)) {
            let _ = write!(thanas, "<option value=\"{}\">{}</option>", t.code, esc(name(lang, t)));
        }
        thanas.push_str("</optgroup>");
    }
    Rendered { districts, thanas }
}

fn rendered(lang: Lang) -> &'static Rendered {
    static EN: OnceLock<Rendered> = OnceLock::new();
    static BN: OnceLock<Rendered> = OnceLock::new();
    match lang {
        Lang::En => EN.get_or_init(|| render(Lang::En)),
        Lang::Bn => BN.get_or_init(|| render(Lang::Bn)),
    }
}

fn with_selected(options: &str, code: &str) -> String {
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return options.to_string();
    }
    let needle = format!("value=\"{code}\"");
    options.replacen(&needle, &format!("{needle} selected"), 1)
}

/// A fieldset with the district and thana selects for the thana field `name` (e.g.
/// `from.area`), its current value and error, then `after` (e.g. the address input).
pub fn place_select(lang: Lang, name: &str, label: &str, value: &str, errors: &FormErrors, after: &str) -> String {
    let r = rendered(lang);
    let district = geo::areas().district_of(value).map(|d| d.code.as_str()).unwrap_or("");
    let district_name = format!("{name}-district");
    let thana_id = field_id(name);
    let bad = if errors.get(name).is_some() { " bad" } else { "" };
    format!(
        "<fieldset class=\"place{bad}\"><legend>{label}</legend><div class=\"row\">\
         <div class=\"field\"><label for=\"{did}\">{dl}</label>\
         <select id=\"{did}\" data-thanas=\"{thana_id}\"><option value=\"\">{choose_d}</option>{dopts}</select></div>\
         <div class=\"field\"><label for=\"{thana_id}\">{tl}</label>\
         <select id=\"{thana_id}\" name=\"{name}\" required{desc}><option value=\"\">{choose_t}</option>{topts}</select>\
         {notes}</div></div>{after}</fieldset>",
        label = esc(label),
        did = field_id(&district_name),
        dl = lang.t("District", "জেলা"),
        choose_d = lang.t("Choose a district", "জেলা বেছে নিন"),
        dopts = with_selected(&r.districts, district),
        tl = lang.t("Thana / upazila", "থানা / উপজেলা"),
        name = esc(name),
        desc = described(name, errors, false),
        choose_t = lang.t("Choose a thana", "থানা বেছে নিন"),
        topts = with_selected(&r.thanas, value),
        notes = notes(name, errors, None),
    )
}

/// `Thana, District` in `lang`, or the code when unknown.
pub fn place_name(lang: Lang, thana_code: &str) -> String {
    let areas = geo::areas();
    match (areas.thana(thana_code), areas.district_of(thana_code)) {
        (Some(t), Some(d)) => format!("{}, {}", name(lang, t), name(lang, d)),
        (Some(t), None) => name(lang, t).to_string(),
        _ => thana_code.to_string(),
    }
}
