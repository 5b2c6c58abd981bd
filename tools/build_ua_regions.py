"""Regenerate ``src/sirena/data/ua/regions.json`` from the source data in ``../shared/data/ua``.

Usage::

    .venv/bin/python tools/build_ua_regions.py            # write the package data file
    .venv/bin/python tools/build_ua_regions.py --check    # exit 1 if the shipped file is out of date

Inputs (see ``shared/data/ua/SOURCES.md``):

- ``regions_tree_states.json``: the oblast → raion → hromada tree with the alerts.in.ua ids (MIT);
- ``oblast_ids.csv``: per oblast-level region its id, Ukrainian and English names, KATOTTG, ISO 3166-2 and
  OpenStreetMap relation; it adds Crimea (29) and Sevastopol (30), which the tree lacks;
- ``oblasts_osm_simplified.geojson``: 27 simplified oblast outlines from OpenStreetMap (ODbL 1.0). They are
  joined on the KATOTTG code, never on their ``@location_uid`` tag, which has Volyn and Vinnytsia swapped.
  Invalid rings are repaired with ``make_valid`` (Kherson's outline crosses itself near the Kinburn spit).

Raions and hromadas get English names by the official national transliteration of their Ukrainian names. Six
raions renamed in 2024 carry their new name, keeping the one in the tree as an alias.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from sirena.regions import dumps, load_data, transliterate

REPOSITORY = Path(__file__).resolve().parents[1]
OUTPUT = REPOSITORY / "src" / "sirena" / "data" / "ua" / "regions.json"
SHARED = REPOSITORY.parent / "shared" / "data"

ATTRIBUTION = (
    "Region tree and ids: Ukrainian air raid sirens dataset, © 2022 Vadym Klymenko (MIT). "
    "Oblast outlines: © OpenStreetMap contributors (ODbL 1.0), simplified by ralertsinua. "
    "This file is a database under the ODbL 1.0; see ATTRIBUTION.md."
)

ROOT: dict[str, Any] = {
    "id": "UA",
    "parent": None,
    "level": "country",
    "names": {"uk": "Україна", "en": "Ukraine"},
    "codes": {"iso3166_1": "UA"},
}

# Raions renamed in 2024, as alerts.in.ua names them now; the tree still has the former names.
RENAMED_RAIONS: Mapping[str, str] = {
    "38": "Володимирський район",
    "43": "Самарівський район",
    "60": "Звягельський район",
    "84": "Сіверськодонецький район",
    "92": "Шептицький район",
    "127": "Берестинський район",
}

# Short names in everyday use, beyond the official, OpenStreetMap and transliterated ones.
EXTRA_ALIASES: Mapping[str, Mapping[str, Sequence[str]]] = {
    "29": {"uk": ["Крим"], "en": ["Crimea"]},
    "31": {"en": ["Kyiv City"]},
}

DIGITS = 7  # the outlines' own precision (about a centimetre)


def render(shared: Path) -> str:
    """The text of ``regions.json`` built from ``shared`` (the ``shared/data`` folder)."""
    document = build_document(shared / "ua")
    return dumps(load_data(document, source="build_ua_regions"))


def build_document(folder: Path) -> dict[str, Any]:
    """The Ukrainian region document (plain shape) from the source files in ``folder``."""
    rows = _read_oblast_rows(folder / "oblast_ids.csv")
    outlines = _read_outlines(folder / "oblasts_osm_simplified.geojson")
    tree = json.loads((folder / "regions_tree_states.json").read_text(encoding="utf-8"))
    states = {str(state["stateId"]): state for state in tree["states"]}
    unknown = set(states) - {row["alerts_in_ua_uid"] for row in rows}
    if unknown:
        raise SystemExit(f"tree states missing from oblast_ids.csv: {sorted(unknown)}")
    regions: list[dict[str, Any]] = [dict(ROOT)]
    below: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: int(r["iot_by_oblast_index"])):
        uid = row["alerts_in_ua_uid"]
        state = states.get(uid)
        outline = outlines.pop(row["katottg"], None)
        if outline is None:
            raise SystemExit(f"no outline with katotth {row['katottg']} for {row['name_en']}")
        regions.append(_oblast(row, state, outline))
        for district in state["districts"] if state else []:
            below.extend(_district(district, uid))
    if outlines:
        raise SystemExit(f"outlines not joined to any region: {sorted(outlines)}")
    return {"format": "sirena-regions/1", "country": "UA", "attribution": ATTRIBUTION, "regions": regions + below}


def _read_oblast_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _read_outlines(path: Path) -> dict[str, tuple[BaseGeometry, Mapping[str, Any]]]:
    collection = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, tuple[BaseGeometry, Mapping[str, Any]]] = {}
    for feature in collection["features"]:
        properties = feature["properties"]
        geom = shape(feature["geometry"])
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        geom = shapely.transform(geom, lambda xy: np.round(xy, DIGITS))
        if not geom.is_valid or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise SystemExit(f"cannot repair the outline of {properties.get('name')}")
        found[properties["katotth"]] = (geom, properties)
    return found


def _oblast(
    row: Mapping[str, str], state: Mapping[str, Any] | None, outline: tuple[BaseGeometry, Mapping[str, Any]]
) -> dict[str, Any]:
    uid, name_uk, name_en = row["alerts_in_ua_uid"], row["name_uk"], row["name_en"]
    geom, properties = outline
    if state is not None and state["stateName"] != name_uk:
        raise SystemExit(f"{uid}: tree name {state['stateName']!r} differs from {name_uk!r}")
    extra = EXTRA_ALIASES.get(uid, {})
    aliases_uk = _distinct([properties.get("name:uk", ""), *extra.get("uk", [])], exclude=name_uk)
    aliases_en = _distinct(
        [transliterate(name_uk), properties.get("name:en", ""), *extra.get("en", [])], exclude=name_en
    )
    aliases = {lang: names for lang, names in (("uk", aliases_uk), ("en", aliases_en)) if names}
    return {
        "id": uid,
        "parent": ROOT["id"],
        "level": "oblast",
        "names": {"uk": name_uk, "en": name_en},
        "codes": {
            "katottg": row["katottg"],
            "iso3166_2": row["iso3166_2"],
            "osm_relation": row["osm_relation"],
        },
        "aliases": aliases,
        "geometry": mapping(geom),
    }


def _district(district: Mapping[str, Any], parent: str) -> list[dict[str, Any]]:
    uid = str(district["districtId"])
    former = district["districtName"]
    name = RENAMED_RAIONS.get(uid, former)
    raion: dict[str, Any] = {
        "id": uid,
        "parent": parent,
        "level": "raion",
        "names": {"uk": name, "en": transliterate(name)},
    }
    if name != former:
        raion["aliases"] = {"uk": [former], "en": [transliterate(former)]}
    hromadas = [
        {
            "id": str(community["communityId"]),
            "parent": uid,
            "level": "hromada",
            "names": {"uk": community["communityName"], "en": transliterate(community["communityName"])},
        }
        for community in district["communities"]
    ]
    return [raion, *hromadas]


def _distinct(names: Sequence[str], *, exclude: str) -> list[str]:
    seen = {exclude}
    kept: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.add(name)
            kept.append(name)
    return kept


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared/data folder (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = render(args.shared)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run tools/build_ua_regions.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
