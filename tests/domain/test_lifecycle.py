from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sirena import domain
from sirena.domain import (
    AlertChanges,
    AlertDraft,
    AlertState,
    EventType,
    Kind,
    Level,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.errors import InvalidTransition

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def issued(**kw: object) -> domain.Alert:
    draft = AlertDraft(target=Target(regions=("31",)), regions=("31",), **kw)  # type: ignore[arg-type]
    return domain.issue(draft, alert_id="A1", now=T0).alert


def test_issue_makes_an_active_first_version_with_default_headlines() -> None:
    alert, event = domain.issue(
        AlertDraft(target=Target(regions=("31",)), regions=("31",), threats=(Threat(ThreatType.DRONES),)),
        alert_id="A1",
        now=T0,
    )
    assert event is EventType.ISSUED
    assert (alert.id, alert.version, alert.state) == ("A1", 1, AlertState.ACTIVE)
    assert alert.started_at == alert.updated_at == T0
    assert alert.headline == {"uk": "Повітряна тривога", "en": "Air-raid alert"}
    assert alert.threats[0].level is Level.RED


def test_exercise_headline_says_so_in_both_languages() -> None:
    alert = issued(status=Status.EXERCISE, kind=Kind.CHEMICAL)
    assert alert.headline["en"].startswith("EXERCISE")
    assert alert.headline["uk"].startswith("НАВЧАННЯ")


def test_a_drill_with_its_own_headline_is_marked_in_every_language_it_has() -> None:
    drill = issued(status=Status.EXERCISE, headline={"uk": "Ракетна небезпека", "en": "Missile danger", "de": "Alarm"})
    assert drill.headline == {
        "uk": "НАВЧАННЯ: Ракетна небезпека",
        "en": "EXERCISE: Missile danger",
        "de": "EXERCISE: Alarm",  # a language the catalogue lacks: the English mark
    }
    test = issued(status=Status.TEST, headline={"en": "Test: siren check", "uk": "ТЕСТ: перевірка"})
    assert test.headline == {"en": "Test: siren check", "uk": "ТЕСТ: перевірка"}  # marked already: left as it is
    words = issued(status=Status.TEST, headline={"en": "Testing the sirens", "uk": "Тестова перевірка"})
    assert words.headline == {"en": "TEST: Testing the sirens", "uk": "ТЕСТ: Тестова перевірка"}  # not the mark
    exercise = issued(status=Status.EXERCISE, headline={"en": "Exercises in Lviv", "uk": "НАВЧАННЯ"})
    assert exercise.headline == {"en": "EXERCISE: Exercises in Lviv", "uk": "НАВЧАННЯ"}
    changed = domain.update(drill, AlertChanges(headline={"en": "Drones"}), now=T0).alert
    assert changed.headline == {"en": "EXERCISE: Drones"}
    real = issued(headline={"en": "Missile danger"})
    assert real.headline == {"en": "Missile danger"}
    assert domain.update(real, AlertChanges(headline={"en": "Drones"}), now=T0).alert.headline == {"en": "Drones"}


def test_update_bumps_version_and_keeps_unchanged_fields() -> None:
    alert = issued(instruction={"en": "Go to a shelter"})
    later = T0 + timedelta(minutes=5)
    nxt, event = domain.update(alert, AlertChanges(level=Level.YELLOW), now=later)
    assert event is EventType.UPDATED
    assert nxt.version == 2
    assert nxt.level is Level.YELLOW
    assert nxt.instruction == {"en": "Go to a shelter"}
    assert nxt.updated_at == later
    assert nxt.started_at == T0


def test_update_with_new_regions_clears_partial_regions() -> None:
    alert = domain.issue(
        AlertDraft(target=Target(area={"type": "Polygon"}), regions=(), partial_regions=("14",)), alert_id="A", now=T0
    ).alert
    nxt = domain.update(alert, AlertChanges(target=Target(regions=("31",)), regions=("31",)), now=T0).alert
    assert nxt.regions == ("31",)
    assert nxt.partial_regions == ()


@pytest.mark.parametrize(
    ("step", "state", "event"),
    [(domain.end, AlertState.ENDED, EventType.ENDED), (domain.cancel, AlertState.CANCELLED, EventType.CANCELLED)],
)
def test_end_and_cancel_close_the_alert(step, state, event) -> None:  # type: ignore[no-untyped-def]
    closed, kind = step(issued(), now=T0 + timedelta(hours=1))
    assert closed.state is state
    assert kind is event
    assert closed.ended_at == T0 + timedelta(hours=1)
    assert not closed.is_active


@pytest.mark.parametrize("first", [domain.end, domain.cancel])
@pytest.mark.parametrize("second", ["end", "cancel", "update"])
def test_closed_alerts_refuse_every_further_step(first, second) -> None:  # type: ignore[no-untyped-def]
    closed = first(issued(), now=T0).alert
    with pytest.raises(InvalidTransition) as info:
        if second == "update":
            domain.update(closed, AlertChanges(level=Level.YELLOW), now=T0)
        else:
            getattr(domain, second)(closed, now=T0)
    assert info.value.status == 409
    assert info.value.data["action"] == second
    assert "A1" in info.value.detail()
