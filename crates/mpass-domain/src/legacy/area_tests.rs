//! Checks of the generated legacy area table against our geography: every mapped number
//! names an existing area of the right district, and every mapping is one the rules of
//! `scripts/gen_legacy_areas.py` allow, re-derived here from the names.

use super::*;
use crate::geo::{Area, AreaKind, areas};

/// The generator's explicit thana aliases: legacy number → our thana name.
const ALIASES: [(u32, &str); 12] = [
    (10037, "Borhanuddin"),
    (10279, "Kanthalia"),
    (10286, "Kotchandpur"),
    (10296, "Lakkhichhari"),
    (10297, "Manikchhari"),
    (10445, "Kalmakanda"),
    (10474, "Santhia"),
    (10609, "Bhuanpur"),
    (10579, "Shantiganj"),
    (10234, "Gazipur Sadar"),
    (10464, "Noakhali Sadar"),
    (10557, "Shariatpur Sadar"),
];

/// Name matches the generator refuses (same key, different place).
const NOT_SAME: [u32; 1] = [10157];

/// The keys of one of our names and of its bracketed alternative, if any.
fn keys(name: &str) -> Vec<String> {
    match name.split_once('(') {
        Some((main, alt)) => vec![name_key(main), name_key(alt.trim_end_matches(')'))],
        None => vec![name_key(name)],
    }
}

/// True when `name` is only words of `district` and/or of `words` (a headquarters name).
fn headquarters(name: &str, district: &str, words: &[&str]) -> bool {
    let district_keys: Vec<String> = district
        .split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
        .map(name_key)
        .chain([name_key(district)])
        .collect();
    let main = name.split('(').next().unwrap_or(name);
    main.split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
        .filter(|w| !w.is_empty() && !words.contains(&w.to_lowercase().as_str()))
        .all(|w| district_keys.contains(&name_key(w)))
}

fn ours_in(district: &str) -> Vec<&'static Area> {
    areas()
        .all()
        .iter()
        .filter(|a| a.kind == AreaKind::Thana && a.parent.as_deref() == Some(district))
        .collect()
}

#[test]
fn the_key_folds_the_usual_spellings() {
    for (a, b) in [
        ("Morrelgonj", "Morelganj"),
        ("Fatickchari", "Fatikchhari"),
        ("Chougasa", "Chaugachha"),
        ("Naikhanchori", "Naikkhongchhari"),
        ("Matlab North", "Matlab Uttar"),
        ("Moulabhibazar", "Moulvibazar"),
        ("Cox's Bazar", "Coxs Bazar"),
        ("Jokigonj", "Zakiganj"),
        ("Laxmipur", "Lakshmipur"),
    ] {
        assert_eq!(name_key(a), name_key(b), "{a} / {b}");
    }
    assert_eq!(name_key("Morrelgonj"), "mrlgnj");
    assert_ne!(name_key("Kotchadpur"), name_key("Kotchandpur"));
    assert_ne!(name_key("Dhaka"), name_key("Dhaka Metro"));
}

#[test]
fn every_legacy_number_is_listed_once_in_order() {
    for n in DISTRICTS {
        let d = legacy_district(n).unwrap();
        assert_eq!((d.number, d.district), (n, 0));
        assert!(!d.name.is_empty());
    }
    for n in THANAS {
        let t = legacy_thana(n).unwrap();
        assert_eq!(t.number, n);
        assert!(DISTRICTS.contains(&t.district) && !t.name.is_empty(), "{t:?}");
    }
    assert_eq!(legacy_thanas().len(), 626);
    assert!(legacy_district(1000).is_none() && legacy_district(1076).is_none());
    assert!(legacy_thana(10000).is_none() && legacy_thana(10627).is_none());
    // Each district's thanas are one consecutive run.
    let runs = legacy_thanas()
        .windows(2)
        .filter(|w| w[0].district != w[1].district)
        .count();
    assert_eq!(runs, 74);
}

#[test]
fn every_mapped_district_exists_and_its_name_matches() {
    let geo = areas();
    let mut mapped = 0;
    for n in DISTRICTS {
        let d = legacy_district(n).unwrap();
        let Some(code) = d.area else {
            assert!(d.basis.is_none());
            continue;
        };
        mapped += 1;
        let ours = geo
            .district(code)
            .unwrap_or_else(|| panic!("{d:?}: no district {code}"));
        let base = d.name.strip_suffix(" Metro");
        let base_key = |b: &str| name_key(if b == "Chittagong" { "Chattogram" } else { b });
        let ok = match d.basis {
            Some(Basis::Name) => name_key(d.name) == name_key(&ours.name_en),
            Some(Basis::Alias) => (d.name, ours.name_en.as_str()) == ("Chittagong", "Chattogram"),
            Some(Basis::Metro) => base.is_some_and(|b| base_key(b) == name_key(&ours.name_en)),
            Some(Basis::Place) => ours_in(code)
                .iter()
                .any(|t| keys(&t.name_en).contains(&name_key(d.name))),
            other => panic!("{d:?}: basis {other:?} is not a district basis"),
        };
        assert!(ok, "{d:?} -> {}", ours.name_en);
    }
    assert_eq!(mapped, 73);
}

#[test]
fn every_mapped_thana_exists_in_its_district_and_follows_a_rule() {
    let geo = areas();
    let mut by_basis = std::collections::BTreeMap::new();
    for t in legacy_thanas() {
        let d = legacy_district(t.district).unwrap();
        let Some(code) = t.area else {
            assert!(t.basis.is_none());
            continue;
        };
        *by_basis.entry(format!("{:?}", t.basis.unwrap())).or_insert(0) += 1;
        let ours = geo.thana(code).unwrap_or_else(|| panic!("{t:?}: no thana {code}"));
        let district = d.area.unwrap_or_else(|| panic!("{t:?} mapped, its district not"));
        assert_eq!(
            ours.parent.as_deref(),
            Some(district),
            "{t:?}: {} is in another district",
            ours.name_en
        );
        let our_district = &geo.district(district).unwrap().name_en;
        let ok = match t.basis {
            Some(Basis::Name) => keys(&ours.name_en).contains(&name_key(t.name)) && !NOT_SAME.contains(&t.number),
            Some(Basis::Alias) => ALIASES.contains(&(t.number, ours.name_en.as_str())),
            Some(Basis::Headquarters) => {
                headquarters(t.name, d.name, &["sadar", "model", "kotwali", "thana"])
                    && headquarters(&ours.name_en, our_district, &["sadar", "adarsha", "kotwali"])
                    && ours.name_en.contains("Sadar")
                    && !d.name.ends_with(" Metro")
            }
            Some(Basis::CityCorporation) => {
                d.name.ends_with(" Metro")
                    && ours.name_en.ends_with(" City Corporation")
                    && !ours_in(district)
                        .iter()
                        .any(|o| keys(&o.name_en).contains(&name_key(t.name)))
            }
            Some(Basis::Place) => {
                d.basis == Some(Basis::Place) && t.name == "Tourist" && keys(&ours.name_en).contains(&name_key(d.name))
            }
            other => panic!("{t:?}: basis {other:?} is not a thana basis"),
        };
        assert!(ok, "{t:?} ({}) -> {}", d.name, ours.name_en);
    }
    let counts: Vec<(String, i32)> = by_basis.into_iter().collect();
    let expected = [
        ("Alias", 12),
        ("CityCorporation", 50),
        ("Headquarters", 49),
        ("Name", 427),
        ("Place", 2),
    ];
    assert_eq!(counts, expected.map(|(b, n)| (b.to_string(), n)).to_vec());
}

#[test]
fn no_unmapped_thana_has_a_namesake_in_its_district() {
    // What the rules would map is mapped: an unmapped thana of a mapped district has no
    // thana of the same key there, unless the generator refuses that match on purpose.
    let mut unmapped = 0;
    for t in legacy_thanas().iter().filter(|t| t.area.is_none()) {
        unmapped += 1;
        let Some(district) = legacy_district(t.district).unwrap().area else {
            continue;
        };
        let namesake = ours_in(district)
            .into_iter()
            .find(|o| keys(&o.name_en).contains(&name_key(t.name)));
        assert!(
            namesake.is_none() || NOT_SAME.contains(&t.number),
            "{t:?} ~ {namesake:?}"
        );
    }
    assert_eq!(unmapped, 86);
    // The 50 Dhaka Metro thanas are among them: two city corporations, no way to split.
    assert!(
        legacy_thanas()
            .iter()
            .filter(|t| t.district == 1017)
            .all(|t| t.area.is_none())
    );
}

#[test]
fn known_numbers_map_where_expected() {
    let name = |n: u32| thana_area(n).and_then(|c| areas().thana(c)).map(|a| a.name_en.as_str());
    assert_eq!(name(10595), Some("Golapganj"));
    assert_eq!(name(10007), Some("Morelganj"));
    assert_eq!(name(10603), Some("Sylhet City Corporation")); // Sylhet Metro, Kotwali
    assert_eq!(name(10015), Some("Bandarban Sadar"));
    assert_eq!(name(10173), None); // Dhaka Metro, Mirpur
    assert_eq!(name(10157), None); // Dhaka Metro, Demra: not Dhamrai
    assert_eq!(thana_area(9999), None);
}

#[test]
fn every_area_of_a_mapped_district_has_legacy_numbers_to_show() {
    let geo = areas();
    for t in legacy_thanas().iter().filter(|t| t.area.is_some()) {
        let code = t.area.unwrap();
        let (d, n) = numbers_for_area(code).unwrap();
        // Shown as a thana that maps to that very area, in its own legacy district.
        assert_eq!(legacy_thana(n).unwrap().area, Some(code), "{t:?}");
        assert_eq!(legacy_thana(n).unwrap().district, d);
    }
    for ours in geo.all().iter().filter(|a| a.kind == AreaKind::Thana) {
        let (d, n) = numbers_for_area(&ours.code).unwrap_or_else(|| panic!("{ours:?}"));
        let shown = legacy_thana(n).unwrap();
        assert_eq!(shown.district, d);
        let shown_area = geo.thana(shown.area.unwrap()).unwrap();
        assert_eq!(
            shown_area.parent, ours.parent,
            "{} shown as {}",
            ours.name_en, shown.name
        );
    }
    // Dhaka's city corporations have no legacy thana: the nearest mapped one of Dhaka.
    let (d, n) = numbers_for_area("30262000").unwrap();
    assert_eq!((d, legacy_thana(n).unwrap().name), (1016, "Keranigonj"));
    assert_eq!(numbers_for_area("99999999"), None);
}

#[test]
fn the_client_reasons_map_onto_categories_that_exist() {
    let policy = [
        "medical",
        "groceries",
        "funeral",
        "goods_transport",
        "agriculture",
        "other",
    ];
    let is = |c: &str| policy.contains(&c);
    assert_eq!(reason_category("Treatment", &is).as_deref(), Some("medical"));
    assert_eq!(reason_category("Kitchen Market", &is).as_deref(), Some("groceries"));
    assert_eq!(
        reason_category("Goods Transport", &is).as_deref(),
        Some("goods_transport")
    );
    assert_eq!(reason_category("funeral", &is).as_deref(), Some("funeral"));
    assert_eq!(reason_category("Job", &is), None);
    assert_eq!(reason_category("Visit my mother", &is), None);
    assert_eq!(reason_category("Treatment", &|c: &str| c == "other"), None);
}
