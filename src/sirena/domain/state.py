"""Derived region state: which regions are under alert, partly under alert, or calm.

A region is under alert when an active alert targets it or one of its ancestors. It is *partly* under alert when
it is not, but an active alert targets one of its descendants or covers only part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sirena.domain.model import Alert, Level, ThreatType


class RegionTree(Protocol):
    def ancestors(self, region_id: str) -> tuple[str, ...]: ...
    def descendants(self, region_id: str) -> frozenset[str]: ...


class Coverage(StrEnum):
    ALERT = "alert"
    PARTLY = "partly"
    CALM = "calm"


@dataclass(slots=True)
class RegionState:
    region_id: str
    state: Coverage = Coverage.CALM
    level: Level | None = None
    threats: set[ThreatType] = field(default_factory=set)
    alert_ids: list[str] = field(default_factory=list)
    since: datetime | None = None

    def _absorb(self, alert: Alert) -> None:
        if self.level is None or alert.level.rank > self.level.rank:
            self.level = alert.level
        self.threats.update(t.type for t in alert.threats)
        if alert.id not in self.alert_ids:
            self.alert_ids.append(alert.id)
        if self.since is None or alert.started_at < self.since:
            self.since = alert.started_at


def derive(alerts: Iterable[Alert], tree: RegionTree) -> dict[str, RegionState]:
    """The state of every region touched by an active alert; regions missing from the result are calm."""
    states: dict[str, RegionState] = {}

    def entry(region_id: str) -> RegionState:
        found = states.get(region_id)
        if found is None:
            found = states[region_id] = RegionState(region_id)
        return found

    partly: list[tuple[str, Alert]] = []
    for alert in alerts:
        if not alert.is_active:
            continue
        for region_id in alert.regions:
            for covered in (region_id, *tree.descendants(region_id)):
                state = entry(covered)
                state.state = Coverage.ALERT
                state._absorb(alert)
            partly.extend((ancestor, alert) for ancestor in tree.ancestors(region_id))
        for region_id in alert.partial_regions:
            partly.append((region_id, alert))
            partly.extend((ancestor, alert) for ancestor in tree.ancestors(region_id))
    for region_id, alert in partly:
        state = entry(region_id)
        if state.state is Coverage.CALM:
            state.state = Coverage.PARTLY
        if state.state is Coverage.PARTLY:
            state._absorb(alert)
    return states
