//! The application form (SPEC §5): reason, route, time, trip, and the vehicle and
//! companions sections that appear when needed. Field names are the API's field paths, so
//! every validation message lands next to its own field.

use std::fmt::Write;

use mpass_domain::application::VEHICLE_KINDS;
use mpass_domain::policy::Policy;

use super::areas::place_select;
use super::form::Fields;
use super::html::{Input, csrf_field, described, esc, field_id, notes, options, select};
use super::i18n::Lang;
use super::messages::FormErrors;
use super::session::Session;

/// Most companions an application may list.
pub const MAX_COMPANIONS: usize = 4;

fn vehicle_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "car" => lang.t("Car", "প্রাইভেট কার"),
        "motorcycle" => lang.t("Motorcycle", "মোটরসাইকেল"),
        "microbus" => lang.t("Microbus", "মাইক্রোবাস"),
        "bus" => lang.t("Bus", "বাস"),
        "truck" => lang.t("Truck", "ট্রাক"),
        "pickup" => lang.t("Pickup", "পিকআপ"),
        "cng" => lang.t("CNG auto-rickshaw", "সিএনজি অটোরিকশা"),
        "rickshaw" => lang.t("Rickshaw", "রিকশা"),
        "ambulance" => lang.t("Ambulance", "অ্যাম্বুলেন্স"),
        _ => lang.t("Other", "অন্যান্য"),
    }
}

/// The vehicle kind in the page's language (shared with the pass page).
pub fn vehicle_kind_name(lang: Lang, kind: &str) -> &'static str {
    vehicle_label(lang, kind)
}

/// The name of a form field as the summary of errors shows it.
fn field_label(l: Lang, field: &str) -> Option<String> {
    if let Some(rest) = field.strip_prefix("companions[") {
        let (i, part) = rest.split_once("].")?;
        let n: usize = i.parse().ok()?;
        let what = match part {
            "name" => l.t("name", "নাম"),
            "relation" => l.t("relation", "সম্পর্ক"),
            _ => l.t("age", "বয়স"),
        };
        return Some(format!("{} {} — {what}", l.t("Companion", "সহযাত্রী"), l.num(n + 1)));
    }
    let text = match field {
        "reason" => l.t("Reason", "কারণ"),
        "reason_note" => l.t("Details", "বিস্তারিত"),
        "from.area" => l.t("From — thana", "যাত্রা শুরু — থানা"),
        "from.address" => l.t("From — address", "যাত্রা শুরু — ঠিকানা"),
        "to.area" => l.t("To — thana", "গন্তব্য — থানা"),
        "to.address" => l.t("To — address", "গন্তব্য — ঠিকানা"),
        "start" => l.t("Start", "শুরু"),
        "duration_hours" => l.t("How long", "কতক্ষণ"),
        "trip" => l.t("Trip", "যাত্রা"),
        "vehicle.kind" => l.t("Vehicle — kind", "যানবাহন — ধরন"),
        "vehicle.registration" => l.t("Vehicle — registration number", "যানবাহন — রেজিস্ট্রেশন নম্বর"),
        "vehicle.driver.name" => l.t("Driver's name", "চালকের নাম"),
        "vehicle.driver.licence" => l.t("Driver's licence number", "চালকের লাইসেন্স নম্বর"),
        "companions" => l.t("Companions", "সহযাত্রী"),
        _ => return None,
    };
    Some(text.to_string())
}

fn text_input(name: &str, label: &str, value: &str, errors: &FormErrors, attrs: &str) -> String {
    Input {
        name,
        label,
        value,
        kind: "text",
        hint: None,
        attrs,
    }
    .render(errors)
}

fn checkbox(name: &str, label: &str, checked: bool) -> String {
    format!(
        "<div class=\"check\"><input type=\"checkbox\" id=\"{id}\" name=\"{name}\" value=\"1\"{c}>\
         <label for=\"{id}\">{label}</label></div>",
        id = field_id(name),
        c = if checked { " checked" } else { "" },
        label = esc(label),
    )
}

/// The whole form; `f` holds the values to show (defaults or what was sent).
pub fn render(session: &Session, policy: &Policy, f: &Fields, errors: &FormErrors) -> String {
    let l = session.lang;
    let v = |name: &str| f.get(name).unwrap_or("").to_string();
    let mut b = errors.summary(l, &|f| field_label(l, f));
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/apply\" novalidate>{}<input type=\"hidden\" name=\"idem\" value=\"{}\">",
        csrf_field(session),
        esc(&v("idem"))
    );

    // Why.
    let mut reasons = vec![("", l.t("Choose…", "বেছে নিন…"))];
    reasons.extend(
        policy
            .categories()
            .iter()
            .map(|c| (c.code.as_str(), l.pick(&c.label_en, &c.label_bn))),
    );
    let _ = write!(b, "<h2>{}</h2>", l.t("Why are you travelling?", "কেন যাচ্ছেন?"));
    b.push_str(&select(
        "reason",
        l.t("Reason", "কারণ"),
        &options(reasons, &v("reason")),
        errors,
        "required",
    ));
    let note = v("reason_note");
    let _ = write!(
        b,
        "<div class=\"field\"><label for=\"{id}\">{label}</label><textarea id=\"{id}\" name=\"reason_note\" maxlength=\"200\"{desc}>{note}</textarea>{notes}</div>",
        id = field_id("reason_note"),
        label = l.t("Details (optional)", "বিস্তারিত (ঐচ্ছিক)"),
        desc = described("reason_note", errors, false),
        note = esc(&note),
        notes = notes("reason_note", errors, None),
    );

    // Where.
    let _ = write!(b, "<h2>{}</h2>", l.t("Where are you going?", "কোথায় যাচ্ছেন?"));
    for (key, label) in [("from", l.t("From", "যাত্রা শুরু")), ("to", l.t("To", "গন্তব্য"))]
    {
        let address = text_input(
            &format!("{key}.address"),
            l.t("Address", "ঠিকানা"),
            &v(&format!("{key}.address")),
            errors,
            "maxlength=\"120\" required",
        );
        b.push_str(&place_select(
            l,
            &format!("{key}.area"),
            label,
            &v(&format!("{key}.area")),
            errors,
            &address,
        ));
    }

    // When.
    let _ = write!(
        b,
        "<h2>{}</h2><fieldset id=\"{sid}\"{desc}><legend>{}</legend><div class=\"row\">",
        l.t("When?", "কখন?"),
        l.t("Start (Bangladesh time)", "শুরু (বাংলাদেশ সময়)"),
        sid = field_id("start"),
        desc = described("start", errors, false),
    );
    b.push_str(
        &Input {
            name: "start_date",
            label: l.t("Date", "তারিখ"),
            value: &v("start_date"),
            kind: "date",
            hint: None,
            attrs: "required",
        }
        .render(errors),
    );
    b.push_str(
        &Input {
            name: "start_time",
            label: l.t("Time", "সময়"),
            value: &v("start_time"),
            kind: "time",
            hint: None,
            attrs: "required",
        }
        .render(errors),
    );
    b.push_str("</div>");
    b.push_str(&notes("start", errors, None));
    b.push_str("</fieldset>");
    let hours: Vec<(String, String)> = (1..=12).map(|h| (h.to_string(), super::i18n::hours(l, h))).collect();
    b.push_str(&select(
        "duration_hours",
        l.t("How long?", "কতক্ষণ?"),
        &options(
            hours.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            &v("duration_hours"),
        ),
        errors,
        "",
    ));
    let trip = v("trip");
    let _ = write!(
        b,
        "<fieldset id=\"{id}\"{desc}><legend>{legend}</legend>",
        id = field_id("trip"),
        desc = described("trip", errors, false),
        legend = l.t("Trip", "যাত্রা"),
    );
    for (value, label) in [
        ("one_way", l.t("One way", "একমুখী")),
        ("round_trip", l.t("Round trip (there and back)", "যাওয়া-আসা")),
    ] {
        let _ = write!(
            b,
            "<div class=\"check\"><input type=\"radio\" id=\"trip-{value}\" name=\"trip\" value=\"{value}\"{c}>\
             <label for=\"trip-{value}\">{label}</label></div>",
            c = if trip == value { " checked" } else { "" },
        );
    }
    b.push_str(&notes("trip", errors, None));
    b.push_str("</fieldset>");

    // Vehicle.
    let _ = write!(b, "<h2>{}</h2>", l.t("Vehicle", "যানবাহন"));
    b.push_str(&checkbox(
        "has_vehicle",
        l.t(
            "I travel in a vehicle that needs to be on the pass",
            "আমি এমন যানবাহনে যাব যা পাসে থাকা দরকার",
        ),
        f.checked("has_vehicle"),
    ));
    let _ = write!(
        b,
        "<fieldset data-show-when=\"{}\"><legend>{}</legend>",
        field_id("has_vehicle"),
        l.t("The vehicle", "যানবাহনের তথ্য")
    );
    let kind = v("vehicle.kind");
    let mut kinds = vec![("", l.t("Choose…", "বেছে নিন…"))];
    kinds.extend(VEHICLE_KINDS.iter().map(|k| (*k, vehicle_label(l, k))));
    b.push_str(&select(
        "vehicle.kind",
        l.t("Kind", "ধরন"),
        &options(kinds, &kind),
        errors,
        "",
    ));
    b.push_str(&text_input(
        "vehicle.registration",
        l.t("Registration number", "রেজিস্ট্রেশন নম্বর"),
        &v("vehicle.registration"),
        errors,
        "maxlength=\"16\" autocapitalize=\"characters\"",
    ));
    // A fresh form ticks "I drive"; a sent form keeps what was sent.
    let self_driven = f.checked("vehicle.self_driven") || f.get("idem_sent").is_none();
    b.push_str(&checkbox(
        "vehicle.self_driven",
        l.t("I drive it myself", "আমি নিজেই চালাব"),
        self_driven,
    ));
    let _ = write!(b, "<div data-hide-when=\"{}\">", field_id("vehicle.self_driven"));
    b.push_str(&text_input(
        "vehicle.driver.name",
        l.t("Driver's name", "চালকের নাম"),
        &v("vehicle.driver.name"),
        errors,
        "maxlength=\"64\"",
    ));
    b.push_str(&text_input(
        "vehicle.driver.licence",
        l.t("Driver's licence number", "চালকের লাইসেন্স নম্বর"),
        &v("vehicle.driver.licence"),
        errors,
        "maxlength=\"32\"",
    ));
    b.push_str("</div></fieldset>");

    // Companions.
    let _ = write!(
        b,
        "<h2>{}</h2><p class=\"hint\">{}</p>{}",
        l.t("Companions", "সহযাত্রী"),
        l.t(
            "Up to 4 people travelling with you, children included. Leave empty if you travel alone.",
            "আপনার সাথে যাবেন এমন সর্বোচ্চ ৪ জন, শিশুসহ। একা গেলে খালি রাখুন।"
        ),
        notes("companions", errors, None),
    );
    for i in 0..MAX_COMPANIONS {
        let key = |f: &str| format!("companions[{i}].{f}");
        let _ = write!(
            b,
            "<fieldset class=\"companion\"><legend>{} {}</legend><div class=\"row\">",
            l.t("Companion", "সহযাত্রী"),
            l.num(i + 1)
        );
        b.push_str(&text_input(
            &key("name"),
            l.t("Name", "নাম"),
            &v(&key("name")),
            errors,
            "maxlength=\"64\"",
        ));
        b.push_str(&text_input(
            &key("relation"),
            l.t("Relation to you", "আপনার সাথে সম্পর্ক"),
            &v(&key("relation")),
            errors,
            "maxlength=\"32\"",
        ));
        b.push_str(
            &Input {
                name: &key("age"),
                label: l.t("Age", "বয়স"),
                value: &v(&key("age")),
                kind: "number",
                hint: None,
                attrs: "min=\"0\" max=\"120\" inputmode=\"numeric\" class=\"short\"",
            }
            .render(errors),
        );
        let _ = write!(
            b,
            "</div><button type=\"button\" class=\"link\" data-remove-companion hidden>{}</button></fieldset>",
            l.t("Remove", "বাদ দিন")
        );
    }
    let _ = write!(
        b,
        "<p><button type=\"button\" class=\"secondary\" data-add-companion hidden>{}</button></p>\
         <input type=\"hidden\" name=\"idem_sent\" value=\"1\">\
         <p><button type=\"submit\">{}</button></p></form>",
        l.t("Add a companion", "সহযাত্রী যোগ করুন"),
        l.t("Send application", "আবেদন পাঠান"),
    );
    b
}
