"""What a subscription wants: regions (with their descendants and ancestors), kinds, threats, levels, statuses,
and the channels whose advisories it receives besides everything public (kinds, threats and levels filter alerts
only).

The filter is stored as the subscriber gave it (region ids as requested) and expanded against the region tree
when it is used, so a region set loaded later applies to old subscriptions too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sirena.domain.model import Alert, Event, Kind, Level, Status, ThreatType
from sirena.domain.notice import LogEvent
from sirena.domain.state import RegionTree
from sirena.stream.filter import EventFilter


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    regions: tuple[str, ...] | None = None
    kinds: frozenset[Kind] | None = None
    threats: frozenset[ThreatType] | None = None
    levels: frozenset[Level] | None = None
    statuses: frozenset[Status] = frozenset({Status.ACTUAL})
    channels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        extra = {"channels": list(self.channels)} if self.channels else {}
        return extra | {
            "regions": list(self.regions) if self.regions is not None else None,
            "kinds": sorted(k.value for k in self.kinds) if self.kinds is not None else None,
            "threats": sorted(t.value for t in self.threats) if self.threats is not None else None,
            "levels": sorted(v.value for v in self.levels) if self.levels is not None else None,
            "statuses": sorted(s.value for s in self.statuses),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubscriptionFilter:
        def some(key: str) -> list[str] | None:
            value = data.get(key)
            return None if value is None else [str(v) for v in value]

        regions = some("regions")
        kinds = some("kinds")
        threats = some("threats")
        levels = some("levels")
        statuses = some("statuses")
        return cls(
            regions=tuple(regions) if regions is not None else None,
            kinds=frozenset(Kind(k) for k in kinds) if kinds is not None else None,
            threats=frozenset(ThreatType(t) for t in threats) if threats is not None else None,
            levels=frozenset(Level(v) for v in levels) if levels is not None else None,
            statuses=frozenset(Status(s) for s in statuses) if statuses else frozenset({Status.ACTUAL}),
            channels=tuple(some("channels") or ()),
        )

    def compile(self, tree: RegionTree) -> CompiledFilter:
        """The filter with its regions expanded against ``tree``; ids the tree no longer knows are ignored."""
        regions: Iterable[str] | None = None
        if self.regions is not None:
            regions = [r for r in self.regions if _known(tree, r)]
        return CompiledFilter(EventFilter.build(tree, regions, self.statuses, self.channels), self)


def _known(tree: RegionTree, region_id: str) -> bool:
    contains = getattr(tree, "__contains__", None)
    return True if contains is None else bool(contains(region_id))


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    events: EventFilter
    source: SubscriptionFilter

    def matches(self, alert: Alert) -> bool:
        if not self.events.matches(alert):
            return False
        if self.source.kinds is not None and alert.kind not in self.source.kinds:
            return False
        if self.source.levels is not None and alert.level not in self.source.levels:
            return False
        return self.source.threats is None or any(t.type in self.source.threats for t in alert.threats)

    def accepts(self, event: LogEvent) -> bool:
        """Alert events by every filter; notices by regions, statuses and channels (see ``EventFilter``)."""
        if isinstance(event, Event):
            return self.matches(event.alert)
        return self.events.accepts(event)
