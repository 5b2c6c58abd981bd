"""Shelter imports: an OpenStreetMap GeoJSON export and city CSVs, bad rows with their lines, all or nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sirena.errors import DataError, ValidationFailed
from sirena.shelters import Accessibility, Severity, ShelterDirectory, ShelterImportRefused, read
from sirena.shelters.geojson import feature_lines
from sirena.store import SQLiteStore

OSM = Path(__file__).parent / "data" / "osm_shelters.geojson"

# A city register as Ukrainian portals publish it: ";" between cells, decimal commas, Windows-1251.
CITY = [
    "№;Назва;Адреса;Широта;Довгота;Місткість;Доступність;Режим роботи",  # line 1
    "1;Укриття ліцею №2;вул. Січових Стрільців, 12;50,4561;30,4925;120;так;цілодобово",  # 2
    "2;Сховище;вул. Велика Васильківська, 5;50,4402;30,5201;80 осіб;частково;",  # 3
    '3;"Паркінг ТЦ ""Гулівер""";"Спортивна пл., 1а,',  # 4: a quoted address over two lines
    'підземний рівень -2";50,4384;30,5226;500;ні;08:00-22:00',  # 5
    "4;Без координат;вул. Хрещатик, 1;;30,52;50;;",  # 6: no latitude
    "5;Помилка в широті;вул. Інститутська, 2;50,4x;30,53;40;;",  # 7: not a number
    "",  # 8: blank, not a row
    "6;Переплутані межі;вул. Банкова, 3;95,1;30,53;;;",  # 9: out of range
    "2;Повтор номера;вул. Грушевського, 4;50,447;30,536;;;",  # 10: id 2 again
    "7;Доступ невідомий;вул. Лютеранська, 8;50,4455;30,5288;60;можливо;",  # 11: kept, with a warning
]


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[ShelterDirectory]:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'sirena.db'}")
    await store.open()
    try:
        yield ShelterDirectory(store, recheck_s=0.0)
    finally:
        await store.close()


def city_csv(lines: list[str] = CITY) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def feature_line(text: str, osm_id: str) -> int:
    """In the pretty-printed export, a feature's "{" is three lines above its "@id"."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if f'"@id": "{osm_id}"' in line) - 3


async def test_an_osm_export_imports_air_raid_shelters_and_reports_the_rest_by_line(
    directory: ShelterDirectory,
) -> None:
    text = OSM.read_text(encoding="utf-8")
    report = await directory.import_file(OSM.read_bytes(), source="osm-kyiv", name=OSM.name, partial=True)
    assert report.format == "geojson"
    assert report.rows == 8
    assert [s.ref for s in report.shelters] == ["node/10001", "node/10002", "way/20001", "node/10005", "node/10006"]
    underpass = report.shelters[0]
    assert underpass.id == "osm-kyiv:node/10001"
    assert (underpass.lat, underpass.lon) == (50.4479, 30.5219)
    assert (underpass.name, underpass.capacity, underpass.hours) == ("Укриття у підземному переході", 300, "24/7")
    assert underpass.accessibility is Accessibility.NO
    assert underpass.address == "Хрещатик, 19"
    assert underpass.kind == "bomb_shelter"
    school = report.shelters[2]  # a building outline: a point inside it
    assert 50.4601 < school.lat < 50.4608 and 30.4890 < school.lon < 30.4902
    assert school.capacity is None and school.accessibility is Accessibility.YES
    found = {(p.severity, p.reason, p.line) for p in report.problems}
    assert found == {
        (Severity.SKIPPED, "not_air_raid_shelter", feature_line(text, "node/10003")),
        (Severity.SKIPPED, "no_shelter_type", feature_line(text, "node/10004")),
        (Severity.WARNING, "bad_capacity", feature_line(text, "way/20001")),
        (Severity.ERROR, "no_location", feature_line(text, "node/10007")),
    }
    assert report.stored and report.revision == 1
    assert text.splitlines()[feature_line(text, "node/10003") - 1].strip() == "{"
    nearest = await directory.nearest(50.4480, 30.5220, 2)
    assert [s.id for s, _ in nearest] == ["osm-kyiv:node/10001", "osm-kyiv:node/10006"]
    assert nearest[0][1] < 20


async def test_without_partial_one_bad_feature_refuses_the_whole_file(directory: ShelterDirectory) -> None:
    with pytest.raises(ShelterImportRefused) as info:
        await directory.import_file(OSM.read_bytes(), source="osm-kyiv", name=OSM.name)
    assert info.value.status == 422
    errors = info.value.data["errors"]
    assert [(e["line"], e["reason"]) for e in errors] == [
        (feature_line(OSM.read_text(encoding="utf-8"), "node/10007"), "no_location")
    ]
    assert await directory.nearest(50.45, 30.52, 5) == []
    assert await directory.imports() == []


async def test_a_city_csv_with_bad_rows_names_every_line_and_stores_nothing(directory: ShelterDirectory) -> None:
    with pytest.raises(ShelterImportRefused) as info:
        await directory.import_file(city_csv(), source="kyiv-city", name="ukryttia.csv")
    errors = info.value.data["errors"]
    assert [(e["line"], e["reason"], e["field"]) for e in errors] == [
        (6, "no_location", "lat"),
        (7, "bad_number", "широта"),
        (9, "out_of_range", "широта"),
        (10, "duplicate_ref", "id"),
    ]
    assert errors[3]["value"] == "2 (line 3)"
    assert "line 6" in info.value.detail() and "nothing was stored" in info.value.detail()
    assert await directory.nearest(50.45, 30.52, 5) == []


async def test_a_partial_import_stores_the_valid_rows_and_reports_the_others(directory: ShelterDirectory) -> None:
    report = await directory.import_file(city_csv(), source="kyiv-city", name="ukryttia.csv", partial=True)
    assert report.rows == 8  # the two-line row is one row; the blank line is none
    assert [s.ref for s in report.shelters] == ["1", "2", "3", "7"]
    assert [(p.line, p.severity.value) for p in report.problems] == [
        (6, "error"),
        (7, "error"),
        (9, "error"),
        (10, "error"),
        (11, "warning"),
    ]
    parking = report.shelters[2]
    assert parking.name == 'Паркінг ТЦ "Гулівер"'
    assert parking.address == "Спортивна пл., 1а, підземний рівень -2"
    assert parking.line == 4
    assert (parking.lat, parking.lon, parking.capacity, parking.hours) == (50.4384, 30.5226, 500, "08:00-22:00")
    second = report.shelters[1]
    assert (second.capacity, second.accessibility, second.hours) == (80, Accessibility.LIMITED, None)
    body = report.to_json("uk")
    assert (body["imported"], body["errors_total"], body["warnings_total"]) == (4, 4, 1)
    assert body["errors"][0]["message"] == "немає розташування (бракує lat)"

    # Importing the source again replaces its shelters; another source is left alone.
    again = await directory.import_file(city_csv(CITY[:3]), source="kyiv-city", name="ukryttia.csv")
    assert (len(again.shelters), again.replaced, again.revision) == (2, 4, 2)
    await directory.import_file(OSM.read_bytes(), source="osm", name=OSM.name, partial=True)
    ids = {s.id for s, _ in await directory.nearest(50.45, 30.52, 50)}
    assert ids == {"kyiv-city:1", "kyiv-city:2"} | {f"osm:{r}" for r in ("node/10001", "node/10002", "way/20001")} | {
        "osm:node/10005",
        "osm:node/10006",
    }
    assert [i.source for i in await directory.imports()] == ["osm", "kyiv-city", "kyiv-city"]


async def test_a_file_with_no_valid_shelter_never_empties_a_source(directory: ShelterDirectory) -> None:
    await directory.import_file(city_csv(CITY[:3]), source="kyiv-city", name="a.csv")
    with pytest.raises(ShelterImportRefused):
        await directory.import_file(city_csv([CITY[0], CITY[5]]), source="kyiv-city", partial=True)
    assert len(await directory.nearest(50.45, 30.52, 10)) == 2


@pytest.mark.parametrize(
    ("data", "name", "key"),
    [
        (b"", "x.csv", "shelters.empty"),
        (b'{"type": "FeatureCollection", "features": [', "x.geojson", "shelters.bad_json"),
        (b'{"type": "Topology"}', "x.json", "shelters.not_geojson"),
        ("назва;адреса\nА;Б\n".encode(), "x.csv", "shelters.csv_no_location"),
        (b"\x00\x01\x02\xff\xfe" * 10, "x.csv", "shelters.not_text"),
        (b'name,lat,lon\n"unterminated,50,30\n', "x.csv", "shelters.bad_csv"),
    ],
)
def test_unreadable_files_are_refused_whole(data: bytes, name: str, key: str) -> None:
    with pytest.raises(DataError) as info:
        read(data, source="s", name=name)
    assert info.value.detail_key == key


def test_bad_source_names_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        read(b"lat,lon\n50,30\n", source="../etc")


def test_other_layouts_of_osm_exports_and_csvs() -> None:
    gdal = {  # GDAL's OSM driver: some tags in their own fields, the rest in other_tags
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "osm_id": "555",
                    "name": "Сховище",
                    "other_tags": '"amenity"=>"shelter","shelter_type"=>"bomb_shelter","capacity"=>"70"',
                },
                "geometry": {"type": "Point", "coordinates": [30.5, 50.4]},
            },
            {  # older osmtogeojson: tags nested
                "type": "Feature",
                "id": "node/7",
                "properties": {
                    "type": "node",
                    "id": 7,
                    "tags": {"amenity": "shelter", "shelter_type": "picnic_shelter"},
                },
                "geometry": {"type": "Point", "coordinates": [30.6, 50.5]},
            },
            "not a feature",
        ],
    }
    report = read(json.dumps(gdal).encode(), source="gdal", name="x.geojson")
    assert [(s.ref, s.capacity) for s in report.shelters] == [("555", 70)]
    assert [(p.row, p.reason) for p in report.problems] == [(2, "not_air_raid_shelter"), (3, "not_a_feature")]
    assert [p.line for p in report.problems] == [1, 1]  # one line of JSON

    overpass_csv = "@id\t@lat\t@lon\tname\twheelchair\nnode/1\t50.1\t30.1\tА\tyes\nnode/2\t50.2\t30.2\tБ\t\n"
    shelters = read(overpass_csv.encode(), source="op", name="x.txt").shelters
    assert [(s.id, s.lat, s.accessibility) for s in shelters] == [
        ("op:node/1", 50.1, Accessibility.YES),
        ("op:node/2", 50.2, None),
    ]
    combined = 'name,coordinates\nA,"50.45, 30.52"\nB,"50.45, 30.52"\nC,nowhere\n'
    report = read(combined.encode(), source="c", name="x.csv")
    assert [s.id for s in report.shelters] == ["c:50.450000,30.520000", "c:50.450000,30.520000#2"]
    assert [(p.line, p.reason) for p in report.problems] == [(4, "bad_number")]


def test_feature_lines_skip_braces_inside_strings() -> None:
    text = (
        '{"features_note": "{[", "type": "FeatureCollection", "x": {"features": [{}]},\n'
        ' "features": [\n'
        '  {"type": "Feature", "properties": {"name": "a \\" } ] {"}, "geometry": null},\n'
        "\n"
        '  {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}\n'
        " ]}\n"
    )
    assert feature_lines(text) == [3, 5]
    assert len(json.loads(text)["features"]) == 2
