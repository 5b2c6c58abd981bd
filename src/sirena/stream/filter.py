"""Which events a live client wants: regions (with their descendants and ancestors) and statuses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sirena.domain.model import Alert, Status
from sirena.domain.state import RegionTree


@dataclass(frozen=True, slots=True)
class EventFilter:
    statuses: frozenset[Status] = frozenset({Status.ACTUAL})
    regions: frozenset[str] | None = None
    """Already expanded: the requested regions, their descendants and their ancestors. ``None`` means all."""

    @classmethod
    def build(
        cls, tree: RegionTree, regions: Iterable[str] | None = None, statuses: Iterable[Status] | None = None
    ) -> EventFilter:
        expanded: set[str] | None = None
        if regions is not None:
            expanded = set()
            for region_id in regions:
                expanded.add(region_id)
                expanded.update(tree.descendants(region_id))
                expanded.update(tree.ancestors(region_id))
        return cls(
            statuses=frozenset(statuses) if statuses is not None else frozenset({Status.ACTUAL}),
            regions=frozenset(expanded) if expanded is not None else None,
        )

    def matches(self, alert: Alert) -> bool:
        if alert.status not in self.statuses:
            return False
        if self.regions is None:
            return True
        return any(r in self.regions for r in alert.touched_regions)
