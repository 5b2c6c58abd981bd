"""The region file format: loading both shapes, every validation error, and writing back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping

from sirena import messages
from sirena.errors import DataError
from sirena.regions import FORMAT, RegionRegistry, dump_data, dumps, load_data, load_file, write_file

NORTH = mapping(box(0, 1, 2, 2))
SOUTH = mapping(box(0, 0, 2, 1))


def _tiny() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "country": "ZZ",
        "attribution": "Made up for the tests",
        "regions": [
            {"id": "ZZ", "parent": None, "level": "country", "names": {"en": "Tinyland", "uk": "Крихітка"}},
            {
                "id": "N",
                "parent": "ZZ",
                "level": "province",
                "names": {"en": "North"},
                "codes": {"iso3166_2": "ZZ-N"},
                "geometry": NORTH,
            },
            {
                "id": "S",
                "parent": "ZZ",
                "level": "province",
                "names": {"en": "South", "de": "Süd"},
                "aliases": {"en": ["Southland"]},
                "geometry": SOUTH,
            },
        ],
    }


def _write(tmp_path: Path, document: Any, name: str = "regions.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _assert_same(left: RegionRegistry, right: RegionRegistry) -> None:
    assert (left.country, left.root_id, left.attribution) == (right.country, right.root_id, right.attribution)
    assert list(left) == list(right)
    for region in left:
        assert right.get(region.id).aliases == region.aliases
        mine, theirs = left.geometry(region.id), right.geometry(region.id)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.equals_exact(theirs, 0.0)


def test_load_a_tiny_country(tmp_path: Path) -> None:
    tiny = load_file(_write(tmp_path, _tiny()))
    assert (tiny.country, tiny.root_id, tiny.attribution) == ("ZZ", "ZZ", "Made up for the tests")
    assert [region.id for region in tiny] == ["ZZ", "N", "S"]
    assert tiny.get("ZZ").children == ("N", "S")
    assert tiny.get("N").codes == {"iso3166_2": "ZZ-N"}
    assert tiny.find("SOUTHLAND") == tiny.find("Süd", "de") == tiny.get("S")
    assert tiny.geometry("ZZ") is None
    assert tiny.geometry("N") is not None
    assert tiny.levels == ("country", "province")


def test_any_order_integer_ids_and_a_default_country() -> None:
    document = {
        "regions": [
            {"id": 2, "parent": 1, "level": "county", "names": {"en": "Two"}},
            {"id": 1, "parent": None, "level": "state", "names": {"en": "One"}},
        ]
    }
    registry = load_data(document)
    assert registry.country == registry.root_id == "1"
    assert registry.get("2").parent_id == "1"
    assert registry.ancestors("2") == ("1",)
    assert registry.oblast_of("2") == "2"


def test_geojson_shape(tmp_path: Path) -> None:
    features = []
    for region in _tiny()["regions"]:
        properties = {key: value for key, value in region.items() if key not in ("id", "geometry")}
        properties["population"] = 12  # foreign properties are ignored
        features.append(
            {"type": "Feature", "id": region["id"], "geometry": region.get("geometry"), "properties": properties}
        )
    features[1]["properties"]["id"] = features[1].pop("id")  # the id may also sit in the properties
    document = {
        "type": "FeatureCollection",
        "country": "ZZ",
        "attribution": "Made up for the tests",
        "features": features,
    }
    _assert_same(load_file(_write(tmp_path, document, "tiny.geojson")), load_data(_tiny()))


def test_round_trip_of_a_tiny_country(tmp_path: Path) -> None:
    tiny = load_data(_tiny())
    path = tmp_path / "out.json"
    write_file(tiny, path)
    again = load_file(path)
    _assert_same(tiny, again)
    assert dump_data(again)["regions"][2]["aliases"] == {"en": ["Southland"]}
    assert dumps(again) == path.read_text(encoding="utf-8")


def test_round_trip_of_ukraine(ua: RegionRegistry, tmp_path: Path) -> None:
    path = tmp_path / "ua.json"
    write_file(ua, path)
    again = load_file(path)
    _assert_same(ua, again)
    assert again.to_tree() == ua.to_tree()
    assert dumps(again) == dumps(ua)


def test_written_files_keep_one_region_per_line(ua: RegionRegistry) -> None:
    text = dumps(ua)
    lines = [line for line in text.splitlines() if line.lstrip().startswith('{"id"')]
    assert len(lines) == len(ua)
    assert json.loads(text)["format"] == FORMAT


# -- errors -----------------------------------------------------------------------------------------------


def _with(index: int | None = None, **changes: Any) -> dict[str, Any]:
    document = _tiny()
    if index is not None:
        document["regions"][index].update(changes)
        for key in [k for k, v in changes.items() if v is _DROP]:
            del document["regions"][index][key]
    return document


_DROP = object()


def _error(tmp_path: Path, document: Any) -> DataError:
    path = _write(tmp_path, document, "broken.json")
    with pytest.raises(DataError) as caught:
        load_file(path)
    error = caught.value
    assert error.data["file"] == str(path)
    assert str(path) in error.detail()
    assert str(path) in error.detail("uk")
    for lang in ("en", "uk"):  # every placeholder is filled
        assert "{" not in error.detail(lang).replace(str(path), "")
    return error


@pytest.mark.parametrize(
    ("document", "key", "words"),
    [
        (_with(1, parent="nowhere"), "regions.entry.unknown_parent", ['regions[1] (id "N")', "“nowhere”"]),
        (_with(2, id="N"), "regions.entry.duplicate_id", ['regions[2] (id "N")', "regions[1]"]),
        (_with(0, parent="S"), "regions.entry.cycle", ["ZZ → S → ZZ"]),
        (_with(1, parent="N"), "regions.entry.cycle", ['regions[1] (id "N")', "N → N"]),
        (_with(1, parent=None), "regions.file.several_roots", ['"ZZ", "N"']),
        (_with(1, id=""), "regions.entry.bad_id", ["regions[1]"]),
        (_with(1, id=True), "regions.entry.bad_id", ["regions[1]"]),
        (_with(1, id=_DROP), "regions.entry.bad_id", ["regions[1]"]),
        (_with(1, parent=["ZZ"]), "regions.entry.bad_parent", ['(id "N")']),
        (_with(1, level=""), "regions.entry.bad_level", ['(id "N")']),
        (_with(1, level=_DROP), "regions.entry.bad_level", ['(id "N")']),
        (_with(1, names={}), "regions.entry.bad_names", ['(id "N")']),
        (_with(1, names={"en": ""}), "regions.entry.bad_names", ['(id "N")']),
        (_with(1, names=["North"]), "regions.entry.bad_names", ['(id "N")']),
        (_with(1, codes={"iso": 5}), "regions.entry.bad_codes", ['(id "N")']),
        (_with(1, aliases={"en": "North"}), "regions.entry.bad_aliases", ['(id "N")']),
        (_with(1, parnet="ZZ"), "regions.entry.unknown_field", ['(id "N")', "parnet"]),
        (
            _with(1, geometry={"type": "Point", "coordinates": [0, 0]}),
            "regions.entry.geometry_type",
            ['(id "N")', "Point"],
        ),
        (
            _with(1, geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}),
            "regions.entry.bad_geometry",
            ['(id "N")', "invalid geometry"],
        ),
        (
            _with(1, geometry={"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}),
            "regions.entry.bad_geometry",
            ['(id "N")', "Self-intersection"],
        ),
        (
            _with(1, geometry={"type": "Polygon", "coordinates": "square"}),
            "regions.entry.bad_geometry",
            ['(id "N")'],
        ),
        (
            _with(1, geometry={"type": "Polygon", "coordinates": []}),
            "regions.entry.bad_geometry",
            ['(id "N")', "empty"],
        ),
        (
            _with(1, geometry=mapping(box(100, 200, 101, 201))),
            "regions.entry.bad_geometry",
            ['(id "N")', "lon/lat"],
        ),
        ({"regions": [1]}, "regions.entry.not_object", ["regions[0]"]),
        ({"regions": []}, "regions.file.empty", []),
        ({"regions": {}}, "regions.file.shape", []),
        ([1, 2], "regions.file.shape", []),
        ({"format": "sirena-regions/9", "regions": []}, "regions.file.format", ["sirena-regions/9"]),
        ({**_tiny(), "country": 7}, "regions.file.field", ["country"]),
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": []}]},
            "regions.entry.not_object",
            ["features[0]"],
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "a",
                        "geometry": None,
                        "properties": {"level": "x", "names": {"en": "A"}},
                    },
                    {
                        "type": "Feature",
                        "id": "b",
                        "geometry": None,
                        "properties": {"parent": "c", "level": "x", "names": {"en": "B"}},
                    },
                ],
            },
            "regions.entry.unknown_parent",
            ['features[1] (id "b")', "“c”"],
        ),
    ],
)
def test_errors_name_the_file_the_entry_and_the_reason(
    tmp_path: Path, document: Any, key: str, words: list[str]
) -> None:
    error = _error(tmp_path, document)
    assert error.detail_key == key
    for word in words:
        assert word in error.detail()
    assert error.status == 422


def test_a_cycle_without_any_root(tmp_path: Path) -> None:
    document = {
        "regions": [
            {"id": "a", "parent": "b", "level": "x", "names": {"en": "A"}},
            {"id": "b", "parent": "a", "level": "x", "names": {"en": "B"}},
        ]
    }
    error = _error(tmp_path, document)
    assert error.detail_key == "regions.entry.cycle"
    assert "a → b → a" in error.detail()


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_file(tmp_path / "missing.json")
    assert caught.value.detail_key == "regions.file.unreadable"
    assert "missing.json" in caught.value.detail()
    bad = tmp_path / "bad.json"
    bad.write_text('{"regions": [', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_file(bad)
    assert caught.value.detail_key == "regions.file.unreadable"
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"regions": "Süd"}'.encode("latin-1"))
    with pytest.raises(DataError):
        load_file(latin1)


def test_every_message_key_is_catalogued_in_both_languages() -> None:
    source = Path(__file__).resolve().parents[2] / "src" / "sirena" / "regions"
    import re

    used = set()
    for module in source.glob("*.py"):
        used |= set(
            re.findall(r'"(regions\.(?:not_found|builtin|file|entry)[a-z_.]*)"', module.read_text(encoding="utf-8"))
        )
    assert len(used) > 15
    catalogue = messages.catalogue()
    for key in used:
        assert set(catalogue[key]) >= {"en", "uk"}, key
