"""The built-in Ukrainian registry: contents, tree queries and name lookups."""

from __future__ import annotations

import time

import pytest
from shapely.geometry import Point

from sirena.errors import RegionNotFound
from sirena.regions import Region, RegionRegistry, load_builtin

LUTSK = Point(25.325, 50.747)
VINNYTSIA = Point(28.468, 49.233)
KYIV_CENTRE = Point(30.5234, 50.4501)


def test_counts(ua: RegionRegistry) -> None:
    assert len(ua.by_level("country")) == 1
    assert len(ua.by_level("oblast")) == 27
    assert len(ua.by_level("raion")) == 122
    assert len(ua.by_level("hromada")) == 1458
    assert len(ua) == 1 + 27 + 122 + 1458 == len(list(ua))
    assert ua.levels == ("country", "oblast", "raion", "hromada")


def test_root(ua: RegionRegistry) -> None:
    assert ua.country == ua.root_id == "UA"
    root = ua.get("UA")
    assert (root.level, root.parent_id) == ("country", None)
    assert (root.name("uk"), root.name("en")) == ("Україна", "Ukraine")
    assert sorted(root.children, key=int) == [str(i) for i in (3, 4, 5, *range(8, 32))]
    assert {r.id for r in ua.children("UA")} == {r.id for r in ua.by_level("oblast")}
    assert ua.oblast_of("UA") is None
    assert ua.ancestors("UA") == ()


def test_kyiv_city_is_oblast_level(ua: RegionRegistry) -> None:
    kyiv = ua.get("31")
    assert kyiv.level == "oblast"
    assert kyiv.parent_id == "UA"
    assert (kyiv.name("uk"), kyiv.name("en")) == ("м. Київ", "Kyiv")
    assert kyiv.codes == {"katottg": "UA80000000000093317", "iso3166_2": "UA-30", "osm_relation": "421866"}
    assert ua.find("Kyiv City") == kyiv
    assert ua.find("Київ") == kyiv


@pytest.mark.parametrize(
    ("region_id", "uk", "en", "katottg", "iso"),
    [
        ("29", "Автономна Республіка Крим", "Autonomous Republic of Crimea", "UA01000000000013043", "UA-43"),
        ("30", "м. Севастополь", "Sevastopol", "UA85000000000065278", "UA-40"),
    ],
)
def test_crimea_and_sevastopol(ua: RegionRegistry, region_id: str, uk: str, en: str, katottg: str, iso: str) -> None:
    region = ua.get(region_id)
    assert (region.level, region.parent_id, region.children) == ("oblast", "UA", ())
    assert region.names == {"uk": uk, "en": en}
    assert (region.codes["katottg"], region.codes["iso3166_2"]) == (katottg, iso)
    outline = ua.geometry(region_id)
    assert outline is not None
    assert outline.is_valid
    assert outline.area > 0.3


def test_every_oblast_has_codes_and_an_outline(ua: RegionRegistry) -> None:
    for region in ua.by_level("oblast"):
        assert region.codes["katottg"].startswith("UA")
        assert len(region.codes["katottg"]) == 19
        assert region.codes["iso3166_2"].startswith("UA-")
        outline = ua.geometry(region.id)
        assert outline is not None
        assert outline.is_valid
        assert outline.geom_type in ("Polygon", "MultiPolygon")
    for region in (*ua.by_level("raion"), *ua.by_level("hromada"), ua.get("UA")):
        assert ua.geometry(region.id) is None


def test_outlines_are_joined_by_code_not_by_the_swapped_uid(ua: RegionRegistry) -> None:
    volyn, vinnytsia = ua.geometry("8"), ua.geometry("4")
    assert volyn is not None
    assert vinnytsia is not None
    assert ua.get("8").name() == "Volyn Oblast"
    assert volyn.contains(LUTSK)
    assert ua.get("4").name() == "Vinnytsia Oblast"
    assert vinnytsia.contains(VINNYTSIA)
    assert not volyn.contains(VINNYTSIA)
    assert not vinnytsia.contains(LUTSK)


def test_kyiv_oblast_has_a_hole_for_the_city(ua: RegionRegistry) -> None:
    oblast, city = ua.geometry("14"), ua.geometry("31")
    assert oblast is not None
    assert city is not None
    assert not oblast.contains(KYIV_CENTRE)
    assert city.contains(KYIV_CENTRE)
    assert oblast.intersection(city).area < 1e-6


def test_ancestors_and_descendants(ua: RegionRegistry) -> None:
    hromada = ua.find("м. Вінниця та Вінницька територіальна громада")
    assert hromada is not None
    assert hromada.id == "155"
    assert ua.ancestors("155") == ("36", "4", "UA")
    assert ua.get("36").level == "raion"
    assert ua.oblast_of("155") == ua.oblast_of("36") == ua.oblast_of("4") == "4"
    assert ua.depth("155") == 3
    assert ua.depth("4") == 1
    assert ua.depth("UA") == 0
    vinnytsia = ua.descendants("4")
    assert "155" in vinnytsia
    assert "36" in vinnytsia
    assert "4" not in vinnytsia
    assert len(vinnytsia) == 6 + 63
    assert ua.descendants("UA") == frozenset(r.id for r in ua) - {"UA"}
    assert ua.descendants("155") == frozenset()
    assert ua.descendants("31") == frozenset()
    for region in ua.by_level("hromada"):
        assert ua.get(ua.ancestors(region.id)[0]).level == "raion"
        assert ua.ancestors(region.id)[-1] == "UA"


def test_children_are_regions_in_order(ua: RegionRegistry) -> None:
    children = ua.children("36")
    assert all(isinstance(child, Region) and child.parent_id == "36" for child in children)
    assert tuple(child.id for child in children) == ua.get("36").children
    assert children[0].name("uk") == "Агрономічна територіальна громада"


def test_unknown_ids(ua: RegionRegistry) -> None:
    for call in (ua.get, ua.ancestors, ua.descendants, ua.oblast_of, ua.children, ua.geometry):
        with pytest.raises(RegionNotFound) as caught:
            call("99999")
        assert caught.value.detail_key == "regions.not_found"
        assert "99999" in caught.value.detail()
        assert "99999" in caught.value.detail("uk")
        assert caught.value.status == 404
    assert "99999" not in ua
    assert 4 not in ua
    assert None not in ua
    assert "4" in ua
    assert ua.by_level("state") == ()


def test_region_name_fallbacks() -> None:
    region = Region(id="x", level="county", names={"de": "Nord", "en": "North"}, parent_id=None)
    assert region.name() == "North"
    assert region.name("de") == "Nord"
    assert region.name("uk") == "North"
    assert Region(id="y", level="county", names={"de": "Süd"}, parent_id=None).name("uk") == "Süd"
    assert hash(region) == hash(Region(id="x", level="county", names={}, parent_id=None))


def test_renamed_raions_keep_their_former_names(ua: RegionRegistry) -> None:
    samar = ua.get("43")
    assert samar.names == {"uk": "Самарівський район", "en": "Samarivskyi raion"}
    assert samar.aliases == {"uk": ("Новомосковський район",), "en": ("Novomoskovskyi raion",)}
    assert ua.find("Новомосковський район") == samar
    assert ua.find("Krasnohradskyi raion") == ua.get("127")
    assert ua.get("127").name("uk") == "Берестинський район"


@pytest.mark.parametrize(
    "spelling",
    ["Куп’янський район", "Куп'янський район", "Купʼянський район", "Куп`янський район", " КУП'ЯНСЬКИЙ   район "],
)
def test_find_folds_apostrophes_case_and_spaces(ua: RegionRegistry, spelling: str) -> None:
    found = ua.find(spelling)
    assert found is not None
    assert found.id == "123"


def test_find_by_language_and_alias(ua: RegionRegistry) -> None:
    assert ua.find("vinnytska oblast") == ua.get("4")
    assert ua.find("Vinnytsia Oblast", "en") == ua.get("4")
    assert ua.find("Vinnytsia Oblast", "uk") is None
    assert ua.find("Вінницька область", "uk") == ua.get("4")
    assert ua.find("Kupianskyi raion", "en") == ua.get("123")
    assert ua.find("Crimea") == ua.find("Крим") == ua.get("29")
    assert ua.find("Atlantis") is None


def test_find_ambiguous_names_need_a_scope(ua: RegionRegistry) -> None:
    name = "Покровська територіальна громада"
    everywhere = ua.find_all(name)
    assert len(everywhere) > 1
    assert ua.find(name) is None
    donetsk = ua.find(name, within="28")
    assert donetsk is not None
    assert ua.oblast_of(donetsk.id) == "28"
    assert ua.find_all(name, within="31") == ()


def test_to_tree(ua: RegionRegistry) -> None:
    tree = ua.to_tree()
    assert (tree["id"], tree["level"], tree["names"]) == ("UA", "country", {"uk": "Україна", "en": "Ukraine"})
    assert len(tree["children"]) == 27
    vinnytsia = next(node for node in tree["children"] if node["id"] == "4")
    assert vinnytsia["codes"]["katottg"] == "UA05000000000010236"
    assert sum(len(raion["children"]) for raion in vinnytsia["children"]) == 63

    def count(node: dict[str, object]) -> int:
        children = node["children"]
        assert isinstance(children, list)
        return 1 + sum(count(child) for child in children)

    assert count(tree) == len(ua)
    uk = ua.to_tree("uk", root="36")
    assert uk["name"] == "Вінницький район"
    assert "names" not in uk
    assert uk["children"][0] == {
        "id": "154",
        "level": "hromada",
        "name": "Агрономічна територіальна громада",
        "codes": {},
        "children": [],
    }


def test_builtin_unknown_country() -> None:
    from sirena.errors import DataError
    from sirena.regions import builtin_countries

    assert builtin_countries() == ("ua",)
    for country in ("pl", "../ua", ""):
        with pytest.raises(DataError) as caught:
            load_builtin(country)
        assert caught.value.detail_key == "regions.builtin.unknown"
        assert "ua" in caught.value.detail()
    assert len(load_builtin("UA")) == 1608


def test_loading_takes_well_under_a_second() -> None:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        load_builtin()
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.5, timings
