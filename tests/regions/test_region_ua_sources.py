"""The shipped Ukrainian data against its sources in ../shared/data: drift, names and transliteration."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from sirena.regions import RegionRegistry, transliterate

REPOSITORY = Path(__file__).resolve().parents[2]

SHIPPED = REPOSITORY / "src" / "sirena" / "data" / "ua" / "regions.json"
TOOL = REPOSITORY / "tools" / "build_ua_regions.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_ua_regions", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_shipped_data_matches_the_build_script(shared_data: Path) -> None:
    rebuilt = _tool().render(shared_data)
    shipped = SHIPPED.read_text(encoding="utf-8")
    assert rebuilt == shipped, "src/sirena/data/ua/regions.json is out of date: run tools/build_ua_regions.py"


def test_build_script_check_mode(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    target = tmp_path / "regions.json"
    assert tool.main(["--shared", str(shared_data), "--output", str(target), "--check"]) == 1
    assert tool.main(["--shared", str(shared_data), "--output", str(target)]) == 0
    assert tool.main(["--shared", str(shared_data), "--output", str(target), "--check"]) == 0
    assert target.read_bytes() == SHIPPED.read_bytes()
    capsys.readouterr()


def test_tree_ids_and_names_are_those_of_the_source(ua: RegionRegistry, shared_data: Path) -> None:
    tree = json.loads((shared_data / "ua" / "regions_tree_states.json").read_text(encoding="utf-8"))
    seen = 0
    for state in tree["states"]:
        oblast = ua.get(str(state["stateId"]))
        assert oblast.name("uk") == state["stateName"]
        for district in state["districts"]:
            raion = ua.get(str(district["districtId"]))
            assert raion.parent_id == oblast.id
            assert raion.level == "raion"
            assert district["districtName"] in (raion.name("uk"), *raion.aliases.get("uk", ()))
            for community in district["communities"]:
                hromada = ua.get(str(community["communityId"]))
                assert hromada.parent_id == raion.id
                assert hromada.level == "hromada"
                assert hromada.name("uk") == community["communityName"]
                seen += 1
    assert seen == 1458


def test_oblast_codes_and_names_come_from_the_join_table(ua: RegionRegistry, shared_data: Path) -> None:
    rows = _csv(shared_data / "ua" / "oblast_ids.csv")
    assert len(rows) == 27
    for row in rows:
        region = ua.get(row["alerts_in_ua_uid"])
        assert region.names == {"uk": row["name_uk"], "en": row["name_en"]}
        assert region.codes["katottg"] == row["katottg"]
        assert region.codes["iso3166_2"] == row["iso3166_2"]
        assert transliterate(row["name_uk"]) in region.aliases["en"]


def test_every_oblast_name_in_the_official_history_is_found(ua: RegionRegistry, shared_data: Path) -> None:
    rows = _csv(shared_data / "ua" / "official_data_en.csv")
    names = {row["oblast"] for row in rows}
    # One row has its oblast and raion columns swapped ("Lubenskyi raion" / "Poltavska oblast").
    assert "Lubenskyi raion" in names
    names.discard("Lubenskyi raion")
    for name in names:
        found = ua.find(name, "en")
        assert found is not None, name
        assert found.level == "oblast", name
    assert ua.find("Kyiv City", "en") == ua.get("31")


def test_official_names_are_the_transliteration_of_ours(ua: RegionRegistry, shared_data: Path) -> None:
    """Nearly every raion and hromada name in official_data_en.csv is our transliteration of a Ukrainian name.

    The one exception is "Poltavska oblast", which stands in the raion column of a row whose columns are swapped.
    Former raion names (Krasnohradskyi, Novohrad-Volynskyi) match through the aliases kept for renamed raions.
    """
    rows = _csv(shared_data / "ua" / "official_data_en.csv")
    wanted = {row["raion"] for row in rows if row["raion"]} | {row["hromada"] for row in rows if row["hromada"]}
    below = [*ua.by_level("raion"), *ua.by_level("hromada")]
    primary = {transliterate(region.name("uk")) for region in below}
    with_former = primary | {transliterate(name) for region in below for name in region.aliases.get("uk", ())}
    matched_primary = wanted & primary
    matched = wanted & with_former
    assert len(wanted) == 207
    assert wanted - matched == {"Poltavska oblast"}
    assert len(matched) == 206  # 206 / 207 = 99.5 %; 100 % of the real raion and hromada names
    assert wanted - matched_primary == {"Poltavska oblast", "Krasnohradskyi raion", "Novohrad-Volynskyi raion"}
    for name in matched:  # and the registry finds each by its English name
        assert ua.find_all(name, "en"), name


def test_official_ukrainian_names_are_found(ua: RegionRegistry, shared_data: Path) -> None:
    rows = _csv(shared_data / "ua" / "official_data_uk.csv")
    for row in rows:
        if row["level"] != "hromada" or row["oblast"] == "Лубенський район":
            continue
        oblast = ua.find(row["oblast"], "uk")
        assert oblast is not None, row["oblast"]
        raion = ua.find(row["raion"], "uk", within=oblast.id)
        assert raion is not None, row["raion"]
        hromada = ua.find(row["hromada"], "uk", within=raion.id)
        assert hromada is not None, row["hromada"]
        assert hromada.level == "hromada", row["hromada"]
