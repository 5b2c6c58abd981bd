"""Which regions an alert affects: its regions, everything below them and everything above them.

A subscriber's region (or the region a point was resolved to) is reached by an alert when it is one of the
alert's regions, lies inside one (a hromada of an alerted oblast) or contains one (the country, for an alert in
one of its oblasts). That is the same rule the live stream and webhook filters apply, computed here once per
region so an alert's affected set is a union of precomputed sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from sirena.domain.model import Alert
from sirena.regions import RegionRegistry

__all__ = ["RegionClosure"]


class RegionClosure:
    """Per region, the frozen set of itself, its ancestors and its descendants; built once per registry."""

    __slots__ = ("_closure", "registry")

    def __init__(self, registry: RegionRegistry) -> None:
        self.registry = registry
        closure: dict[str, frozenset[str]] = {}
        for region in registry:
            closure[region.id] = frozenset(
                {region.id, *registry.ancestors(region.id), *registry.descendants(region.id)}
            )
        self._closure: Mapping[str, frozenset[str]] = MappingProxyType(closure)

    def of(self, region_ids: Iterable[str]) -> frozenset[str]:
        """The affected set of several regions; ids the registry does not know affect only themselves."""
        found: frozenset[str] | None = None
        extra: set[str] = set()
        for region_id in region_ids:
            known = self._closure.get(region_id)
            if known is None:
                extra.add(region_id)
            elif found is None:
                found = known
            elif not known <= found:
                found = found | known
        if found is None:
            return frozenset(extra)
        return found | extra if extra else found

    def affected(self, alert: Alert) -> frozenset[str]:
        """Every region id the alert reaches by region membership (see the module docstring)."""
        return self.of(alert.touched_regions)

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._closure
