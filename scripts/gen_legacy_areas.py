#!/usr/bin/env python3
"""Generate the legacy area table of mpass-domain: the old `/v1` district (1001-1075) and
thana (10001-10626) numbers with the names they stand for, mapped by name to our area
codes (SPEC section 4 and 12).

Usage:
    python3 scripts/gen_legacy_areas.py LOCATIONS_JSON

LOCATIONS_JSON is `src/data/locations.json` of the earlier open-source web client
(GitHub movement-pass/react-public-web, commit 4c24d4a): a list of
{id, en, bn, thanas: [{id, en, bn}]}, English names only. It is not kept in this
repository (see crates/mpass-domain/data/LICENSES.md); only the numbers and the names
they denote end up in the generated table.

Output: crates/mpass-domain/src/legacy/areas.rs (every legacy number, mapped or not).

How a legacy name is matched, in this order, always inside the matching district:
  1. ALIASES: the few spellings no rule reconciles (each listed with why); NOT_SAME
     lists the name matches that are wrong (same key, different place).
  2. Name: the transliteration key of the legacy name equals the key of one of our thanas
     (or of its bracketed alternative name). The key (`key()` below, mirrored by the
     domain test) lower-cases, maps north/south/east/west to uttar/dakkhin/purba/paschim,
     drops the words model/thana/upazila and all but letters, folds the usual
     romanisation variants (gasa/gachha, ng/n, chh/ch/c, sh/s, kh/k, gh/g, th/t, dh/d,
     bh/b, ph/f, jh/j, c/k, v/b, z/j, q/k, x/ks), drops h, w, y and the vowels, and
     collapses doubled letters: "Morrelgonj" and "Morelganj" both give "mrlgnj".
  3. Headquarters: a legacy thana that is nothing but the district's name and/or
     Sadar/Model/Kotwali/Thana ("Sadar", "Kotwali", "Chandpur Model") is the district's
     Sadar upazila (ours: "<District> Sadar", "Adarsha Sadar", "Barishal Sadar (Kotwali)").
  4. City corporation: a thana of a "<City> Metro" district that matched no upazila is
     that city's city corporation (the metropolitan police area is the city; it reaches
     a little beyond the corporation at the edges). Dhaka has two city corporations and
     the legacy names give no way to split its 50 metro thanas, so "Dhaka Metro" thanas
     stay unmapped.
  5. Place: the four tourist-police "districts" (Jaflong, Saint Martin, Srimangal,
     Teknaf) are matched to the upazila of the same name where there is one (Srimangal,
     Teknaf), and their single "Tourist" thana to that upazila.
Districts match by key, "<X> Metro" as X, through DISTRICT_ALIASES, or (the tourist
ones) through an upazila of that name. Everything else stays unmapped; the summary
printed at the end lists it.

The output is deterministic: same inputs, same bytes.
"""

import json
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AREAS = os.path.join(ROOT, "crates", "mpass-domain", "data", "areas.json")
OUT = os.path.join(ROOT, "crates", "mpass-domain", "src", "legacy", "areas.rs")

# Legacy district names whose key differs from ours (the city was renamed in English).
DISTRICT_ALIASES = {
    "Chittagong": "Chattogram",
}

# Legacy thana number -> (our thana name, why). Spellings the key cannot reconcile, and
# headquarters police stations known under their own name.
ALIASES = {
    10037: ("Borhanuddin", "short form"),
    10279: ("Kanthalia", "spelling (n dropped)"),
    10286: ("Kotchandpur", "spelling (n dropped)"),
    10296: ("Lakkhichhari", "spelling (Laxmi/Lakkhi)"),
    10297: ("Manikchhari", "spelling (g/k)"),
    10445: ("Kalmakanda", "spelling (letters swapped)"),
    10474: ("Santhia", "spelling (n dropped)"),
    10609: ("Bhuanpur", "spelling (n dropped)"),
    10579: ("Shantiganj", "Dakshin Sunamganj upazila, renamed Shantiganj"),
    10234: ("Gazipur Sadar", "Joydebpur is the Gazipur Sadar police station"),
    10464: ("Noakhali Sadar", "Sudharam is the Noakhali Sadar police station"),
    10557: ("Shariatpur Sadar", "Palong is the Shariatpur Sadar police station"),
}

# Legacy thana number -> why a name match is wrong (same key, different place).
NOT_SAME = {
    10157: "Demra is a Dhaka city thana; Dhamrai an upazila 40 km away",
}

HQ_WORDS = {"sadar", "model", "kotwali", "thana"}
OUR_HQ_WORDS = {"sadar", "adarsha", "kotwali"}

DIGRAPHS = [
    ("chh", "c"), ("gasa", "gc"), ("gasha", "gc"), ("ch", "c"), ("ck", "k"), ("sh", "s"),
    ("kh", "k"), ("gh", "g"), ("th", "t"), ("dh", "d"), ("bh", "b"), ("ph", "f"),
    ("jh", "j"), ("ng", "n"),
]
SINGLES = {"c": "k", "v": "b", "z": "j", "q": "k", "x": "ks"}
DROP = set("hwyaeiou")
WORDS = {"north": "uttar", "south": "dakkhin", "east": "purba", "west": "paschim",
         "model": "", "thana": "", "upazila": ""}


def key(name):
    """Transliteration key of a place name (mirrored by `key` in the domain test)."""
    words = re.findall(r"[a-z]+", name.lower().replace("'", ""))
    s = "".join(WORDS.get(w, w) for w in words)
    out = []
    i = 0
    while i < len(s):
        for d, r in DIGRAPHS:
            if s.startswith(d, i):
                out.append(r)
                i += len(d)
                break
        else:
            c = s[i]
            i += 1
            if c not in DROP:
                out.append(SINGLES.get(c, c))
    k = "".join(out)
    return re.sub(r"(.)\1+", r"\1", k)


def keys_of(name):
    """The key of a name and, if it has one, of its bracketed alternative."""
    m = re.match(r"^(.*?)\s*\((.*)\)\s*$", name)
    return {key(m.group(1)), key(m.group(2))} if m else {key(name)}


def is_headquarters(name, district_names, words):
    """True when `name` is only the district's name and/or the given words."""
    rest = re.sub(r"\(.*?\)", "", name.lower().replace("'", ""))
    tokens = [t for t in re.findall(r"[a-z]+", rest) if t not in words]
    district_keys = {key(d) for d in district_names}
    district_tokens = {key(t) for d in district_names for t in re.findall(r"[a-z]+", d.lower().replace("'", ""))}
    joined = key(" ".join(tokens)) if tokens else ""
    return not tokens or joined in district_keys or all(key(t) in district_tokens for t in tokens)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    legacy = json.load(open(sys.argv[1], encoding="utf-8"))
    areas = json.load(open(AREAS, encoding="utf-8"))
    districts = [a for a in areas if a["kind"] == "district"]
    thanas_of = defaultdict(list)
    for a in areas:
        if a["kind"] == "thana":
            thanas_of[a["parent"]].append(a)
    by_key = defaultdict(list)
    for d in districts:
        by_key[key(d["name_en"])].append(d)

    assert [d["id"] for d in legacy] == list(range(1001, 1076)), "legacy districts are 1001-1075"
    numbers = [t["id"] for d in legacy for t in d["thanas"]]
    assert numbers == list(range(10001, 10627)), "legacy thanas are 10001-10626"

    district_rows, thana_rows = [], []
    for d in legacy:
        name = d["en"]
        metro = name.endswith(" Metro")
        base = name[: -len(" Metro")] if metro else name
        target, basis, place = None, None, None
        wanted = DISTRICT_ALIASES.get(base, base)
        hits = by_key.get(key(wanted), [])
        if len(hits) == 1:
            target = hits[0]
            basis = "Metro" if metro else ("Alias" if base in DISTRICT_ALIASES else "Name")
        else:
            ups = [t for ts in thanas_of.values() for t in ts if key(name) in keys_of(t["name_en"])]
            if len(ups) == 1:
                place = ups[0]
                target = next(x for x in districts if x["code"] == place["parent"])
                basis = "Place"
        district_rows.append((d["id"], name, target["code"] if target else None, basis))

        for t in d["thanas"]:
            code, tb = None, None
            if target is not None:
                ours = thanas_of[target["code"]]
                if t["id"] in ALIASES:
                    want = ALIASES[t["id"]][0]
                    found = [x for x in ours if x["name_en"] == want]
                    assert len(found) == 1, (t, want)
                    code, tb = found[0]["code"], "Alias"
                else:
                    named = [x for x in ours if key(t["en"]) in keys_of(x["name_en"]) and t["id"] not in NOT_SAME]
                    assert len(named) <= 1, (t, named)
                    if named:
                        code, tb = named[0]["code"], "Name"
                    elif place is not None and t["en"] == "Tourist":
                        code, tb = place["code"], "Place"
                    elif not metro and basis != "Place" and is_headquarters(t["en"], [base], HQ_WORDS):
                        hq = [x for x in ours if is_headquarters(x["name_en"], [target["name_en"]], OUR_HQ_WORDS)]
                        assert len(hq) == 1, (t, hq)
                        code, tb = hq[0]["code"], "Headquarters"
                    elif metro:
                        cc = [x for x in ours if x["name_en"].endswith("City Corporation")]
                        if len(cc) == 1:
                            code, tb = cc[0]["code"], "CityCorporation"
            thana_rows.append((t["id"], d["id"], t["en"], code, tb))

    write(district_rows, thana_rows)
    summary(district_rows, thana_rows, {a["code"]: a["name_en"] for a in areas})


def rust_str(s):
    return json.dumps(s, ensure_ascii=False)


def write(district_rows, thana_rows):
    lines = [
        "//! The legacy `/v1` district and thana numbers, the names they stand for and our area",
        "//! codes where the mapping is known. Generated by `scripts/gen_legacy_areas.py` from the",
        "//! earlier web client's location list; do not edit (see `docs/LEGACY_V1.md`).",
        "",
        "use super::{Basis, LegacyArea};",
        "",
        "/// Legacy districts 1001–1075: number, name, our district code.",
        "#[rustfmt::skip]",
        "pub(super) const DISTRICTS: &[LegacyArea] = &[",
    ]
    for n, name, code, basis in district_rows:
        lines.append(f"    LegacyArea::new({n}, 0, {rust_str(name)}, {opt(code)}, {opt_basis(basis)}),")
    lines += ["];", "", "/// Legacy thanas 10001–10626: number, district number, name, our thana code.",
              "#[rustfmt::skip]", "pub(super) const THANAS: &[LegacyArea] = &["]
    for n, d, name, code, basis in thana_rows:
        lines.append(f"    LegacyArea::new({n}, {d}, {rust_str(name)}, {opt(code)}, {opt_basis(basis)}),")
    lines += ["];", ""]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def opt(code):
    return f"Some({rust_str(code)})" if code else "None"


def opt_basis(basis):
    return f"Some(Basis::{basis})" if basis else "None"


def summary(district_rows, thana_rows, names):
    mapped_d = [r for r in district_rows if r[2]]
    mapped_t = [r for r in thana_rows if r[3]]
    print(f"districts: {len(mapped_d)} of {len(district_rows)} mapped")
    for n, name, _, _ in district_rows:
        if not any(r[0] == n for r in mapped_d):
            print(f"  unmapped district {n} {name}")
    print(f"thanas: {len(mapped_t)} of {len(thana_rows)} mapped")
    by_basis = defaultdict(int)
    for r in mapped_t:
        by_basis[r[4]] += 1
    for b in sorted(by_basis):
        print(f"  {b}: {by_basis[b]}")
    dnames = {r[0]: r[1] for r in district_rows}
    for n, d, name, code, basis in thana_rows:
        if not code:
            print(f"  unmapped thana {n} {name} ({dnames[d]})")
    for n, d, name, code, basis in thana_rows:
        if basis in ("Alias", "Headquarters", "Place"):
            print(f"  {basis.lower()}: {n} {name} ({dnames[d]}) -> {code} {names[code]}")


if __name__ == "__main__":
    main()
