from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sirena import domain
from sirena.domain import AlertDraft, Coverage, Level, Target, Threat, ThreatType
from sirena.regions import RegionRegistry, load_builtin

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ua() -> RegionRegistry:
    return load_builtin("ua")


def alert(regions: tuple[str, ...], partial: tuple[str, ...] = (), **kw: object) -> domain.Alert:
    draft = AlertDraft(target=Target(regions=regions), regions=regions, partial_regions=partial, **kw)  # type: ignore[arg-type]
    return domain.issue(draft, alert_id="-".join(regions + partial), now=T0).alert


def a_hromada_of(ua: RegionRegistry, oblast: str) -> tuple[str, str]:
    raion = ua.children(oblast)[0]
    return raion.id, ua.children(raion.id)[0].id


def test_oblast_alert_covers_descendants_and_nothing_else(ua: RegionRegistry) -> None:
    raion, hromada = a_hromada_of(ua, "14")
    states = domain.derive([alert(("14",))], ua)
    assert states["14"].state is Coverage.ALERT
    assert states[raion].state is Coverage.ALERT
    assert states[hromada].state is Coverage.ALERT
    assert states["UA"].state is Coverage.PARTLY
    assert "31" not in states  # Kyiv city is its own oblast-level region
    assert "4" not in states


def test_hromada_alert_makes_its_raion_and_oblast_partly(ua: RegionRegistry) -> None:
    raion, hromada = a_hromada_of(ua, "22")
    states = domain.derive([alert((hromada,))], ua)
    assert states[hromada].state is Coverage.ALERT
    assert states[raion].state is Coverage.PARTLY
    assert states["22"].state is Coverage.PARTLY
    sibling = ua.children(raion)[1].id
    assert sibling not in states


def test_partial_geometry_coverage_is_partly(ua: RegionRegistry) -> None:
    states = domain.derive([alert((), partial=("18",))], ua)
    assert states["18"].state is Coverage.PARTLY
    assert states["UA"].state is Coverage.PARTLY


def test_full_coverage_wins_over_partly_and_levels_combine(ua: RegionRegistry) -> None:
    _raion, hromada = a_hromada_of(ua, "9")
    yellow = alert((hromada,), level=Level.YELLOW, threats=(Threat(ThreatType.DRONES),))
    red = alert(("9",), level=Level.RED, threats=(Threat(ThreatType.BALLISTIC_MISSILES),))
    states = domain.derive([yellow, red], ua)
    assert states["9"].state is Coverage.ALERT
    assert states[hromada].level is Level.RED
    assert states[hromada].threats == {ThreatType.DRONES, ThreatType.BALLISTIC_MISSILES}
    assert set(states[hromada].alert_ids) == {yellow.id, red.id}


def test_nationwide_alert_covers_every_region(ua: RegionRegistry) -> None:
    states = domain.derive([alert(("UA",))], ua)
    assert len(states) == len(ua)
    assert all(s.state is Coverage.ALERT for s in states.values())


def test_ended_alerts_do_not_count(ua: RegionRegistry) -> None:
    ended = domain.end(alert(("31",)), now=T0).alert
    assert domain.derive([ended], ua) == {}
