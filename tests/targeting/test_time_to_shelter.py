"""The time-to-shelter table: the shipped default, inheritance, replacement by a file, and filling alerts."""

from __future__ import annotations

from pathlib import Path

import pytest
from targeting_helpers import ukraine

from sirena import testing
from sirena.domain.model import AlertDraft, Circle, Target
from sirena.errors import ConfigurationError
from sirena.regions import load_data
from sirena.targeting import TimeToShelter
from sirena.targeting.shelter_time import FORMAT

HEAD = f'format = "{FORMAT}"\ncountry = "UA"\n'


def test_the_shipped_table_covers_every_oblast_and_inherits_down() -> None:
    registry = ukraine()
    table = TimeToShelter.builtin(registry)
    oblasts = registry.children("UA")
    assert {o.id for o in oblasts} <= set(table.explicit)
    assert {table.for_region(o.id) for o in oblasts} == {60, 90, 120}
    assert table.for_region("22") == 60  # Kharkiv Oblast borders Russia
    assert table.for_region("31") == 120
    hromada = next(r for r in registry.by_level("hromada") if registry.oblast_of(r.id) == "22")
    assert table.for_region(hromada.id) == 60
    assert table.for_regions(["31"]) == 120
    assert table.for_regions(["31", "14"]) == 90  # the shortest of the regions touched
    assert table.for_regions(["UA"]) == 60  # the whole country: the shortest anywhere in it


def test_a_finer_entry_shortens_its_ancestors_alerts_but_not_its_neighbours() -> None:
    registry = ukraine()
    hromada = next(r for r in registry.by_level("hromada") if registry.oblast_of(r.id) == "27")
    raion = registry.get(hromada.id).parent_id
    table = TimeToShelter.parse(HEAD + f'[seconds]\nUA = 120\n"{hromada.id}" = 30\n', registry)
    assert table.for_region(hromada.id) == 30
    assert table.for_region("27") == 120  # a place in the oblast has the oblast's time
    assert table.for_regions(["27"]) == 30  # an alert for the oblast covers the hromada
    assert table.for_regions([raion or ""]) == 30
    assert table.for_regions(["31"]) == 120
    assert table.for_regions(["nowhere"]) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('format = "other"\n[seconds]\nUA = 1\n', "targeting.tts.format"),
        (HEAD + "[seconds]\nUA = -1\n", "targeting.tts.bad_value"),
        (HEAD + '[seconds]\nUA = "90"\n', "targeting.tts.bad_value"),
        (HEAD + "[seconds]\nUA = 100000\n", "targeting.tts.bad_value"),
        (HEAD + '[seconds]\n"999999" = 60\n', "targeting.tts.unknown_region"),
        (HEAD, "targeting.tts.no_seconds"),
        (f'format = "{FORMAT}"\ncountry = "PL"\n[seconds]\nUA = 60\n', "targeting.tts.country"),
        ("format = ", "targeting.tts.unreadable"),
    ],
)
def test_a_bad_table_stops_start_up_naming_the_problem(text: str, key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TimeToShelter.parse(text, ukraine(), source="mine.toml")
    assert info.value.detail_key == key
    assert "mine.toml" in info.value.detail()


def test_other_countries_have_no_shipped_table() -> None:
    tiny = load_data(
        {
            "format": "sirena-regions/1",
            "country": "XX",
            "root": "XX",
            "regions": [{"id": "XX", "level": "country", "names": {"en": "X"}}],
        }
    )
    assert not TimeToShelter.builtin(tiny)
    assert TimeToShelter.builtin(tiny).for_regions(["XX"]) is None


async def test_issue_fills_the_time_from_the_table_unless_given(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        kharkiv = await rt.service.issue(AlertDraft(target=Target(regions=("22",))))
        assert kharkiv.event.alert.time_to_shelter_s == 60
        given = await rt.service.issue(AlertDraft(target=Target(regions=("22",)), time_to_shelter_s=300))
        assert given.event.alert.time_to_shelter_s == 300
        zero = await rt.service.issue(AlertDraft(target=Target(regions=("27",)), time_to_shelter_s=0))
        assert zero.event.alert.time_to_shelter_s == 0
        # A circle over the Kyiv city border touches Kyiv (120 s) and Kyiv Oblast (90 s): the shorter wins.
        circle = await rt.service.issue(AlertDraft(target=Target(circle=Circle(50.45, 30.52, 30))))
        assert {"31", "14"} <= set(circle.event.alert.touched_regions)
        assert circle.event.alert.time_to_shelter_s == 90
        stored = await rt.service.get(kharkiv.event.alert.id)
        assert stored.time_to_shelter_s == 60


async def test_the_setting_replaces_or_turns_off_the_table(tmp_path: Path) -> None:
    mine = tmp_path / "tts.toml"
    mine.write_text(HEAD + '[seconds]\nUA = 45\n"31" = 15\n', encoding="utf-8")
    (tmp_path / "a").mkdir()
    async with testing.running(testing.settings_for(tmp_path / "a", time_to_shelter_file=str(mine))) as rt:
        alert = (await rt.service.issue(AlertDraft(target=Target(regions=("31",))))).event.alert
        assert alert.time_to_shelter_s == 15
        assert rt.places.time_to_shelter.for_region("27") == 45
    (tmp_path / "b").mkdir()
    async with testing.running(testing.settings_for(tmp_path / "b", time_to_shelter_file="off")) as rt:
        alert = (await rt.service.issue(AlertDraft(target=Target(regions=("31",))))).event.alert
        assert alert.time_to_shelter_s is None
    (tmp_path / "c").mkdir()
    with pytest.raises(ConfigurationError):
        async with testing.running(testing.settings_for(tmp_path / "c", time_to_shelter_file=str(tmp_path / "none"))):
            pass
