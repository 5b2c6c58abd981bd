"""Matching the place names of history files to region ids, with a reason for every row that does not match.

The registry does the name work (case, apostrophe variants, whitespace, transliterated English names, the former
names of renamed raions); this module adds the structure of the files: an oblast name is looked up among the
oblast-level regions only, a raion name among that oblast's raions, a hromada name among that raion's hromadas.
Lookups are cached, because the same few thousand names recur in every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sirena.regions import RegionRegistry

__all__ = ["Match", "Matcher", "Reason", "Repair"]


class Reason(StrEnum):
    """Why a row was not imported (catalogue key ``history.reason.<value>``)."""

    OBLAST_UNKNOWN = "oblast_unknown"
    RAION_UNKNOWN = "raion_unknown"
    HROMADA_UNKNOWN = "hromada_unknown"
    REGION_UNKNOWN = "region_unknown"
    LEVEL_UNKNOWN = "level_unknown"
    BAD_TIME = "bad_time"
    NOT_ENDED = "not_ended"
    NOT_ACTUAL = "not_actual"
    NO_AREA = "no_area"
    UNREADABLE = "unreadable"


class Repair(StrEnum):
    """A defect of a row that was repaired to match it (catalogue key ``history.repair.<value>``)."""

    SWAPPED_OBLAST_RAION = "swapped_oblast_raion"
    HROMADA_IN_OTHER_RAION = "hromada_in_other_raion"


@dataclass(frozen=True, slots=True)
class Match:
    """A region id, or the reason there is none; ``repair`` names what was fixed to find it."""

    region_id: str | None
    reason: Reason | None = None
    repair: Repair | None = None


class Matcher:
    """Region lookups for history rows over one registry; cheap to call repeatedly with the same names."""

    __slots__ = ("_cache", "_oblasts", "registry")

    def __init__(self, registry: RegionRegistry) -> None:
        self.registry = registry
        self._oblasts = frozenset(registry.get(registry.root_id).children)
        self._cache: dict[tuple[str, ...], Match] = {}

    def oblast(self, name: str) -> str | None:
        """The oblast-level region (a child of the root) called ``name``."""
        found = [r.id for r in self.registry.find_all(name) if r.id in self._oblasts]
        return found[0] if len(found) == 1 else None

    def child(self, name: str, parent_id: str) -> str | None:
        """The direct child of ``parent_id`` called ``name``."""
        found = [r.id for r in self.registry.find_all(name, within=parent_id) if r.parent_id == parent_id]
        return found[0] if len(found) == 1 else None

    def below(self, name: str, ancestor_id: str) -> str | None:
        """The one region anywhere below ``ancestor_id`` called ``name``."""
        found = [r.id for r in self.registry.find_all(name, within=ancestor_id) if r.id != ancestor_id]
        return found[0] if len(found) == 1 else None

    def region(self, name: str) -> Match:
        """An oblast-level name (the volunteer set: ``Київ``, ``Kyivska oblast``)."""
        key = ("region", name)
        cached = self._cache.get(key)
        if cached is None:
            region_id = self.oblast(name)
            cached = Match(region_id) if region_id else Match(None, Reason.REGION_UNKNOWN)
            self._cache[key] = cached
        return cached

    def official(self, oblast: str, raion: str, hromada: str, level: str) -> Match:
        """A row of the official channel: the region at ``level`` (oblast, raion or hromada) under its parents.

        A blank ``level`` means the finest level named. A row whose oblast and raion columns are swapped (one
        such row exists in the 2022 data) is matched and reported as repaired.
        """
        key = ("official", oblast, raion, hromada, level)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._official(oblast.strip(), raion.strip(), hromada.strip(), level.strip().lower())
            self._cache[key] = cached
        return cached

    def _official(self, oblast: str, raion: str, hromada: str, level: str) -> Match:
        if not level:
            level = "hromada" if hromada else "raion" if raion else "oblast"
        if level not in {"oblast", "raion", "hromada"}:
            return Match(None, Reason.LEVEL_UNKNOWN)
        repair: Repair | None = None
        oblast_id = self.oblast(oblast)
        if oblast_id is None and raion:
            swapped = self.oblast(raion)
            if swapped is not None and self.child(oblast, swapped) is not None:
                oblast_id, oblast, raion, repair = swapped, raion, oblast, Repair.SWAPPED_OBLAST_RAION
        if oblast_id is None:
            return Match(None, Reason.OBLAST_UNKNOWN)
        if level == "oblast":
            return Match(oblast_id, repair=repair)
        raion_id = self.child(raion, oblast_id)
        if raion_id is None:
            return Match(None, Reason.RAION_UNKNOWN)
        if level == "raion":
            return Match(raion_id, repair=repair)
        hromada_id = self.child(hromada, raion_id)
        if hromada_id is None:
            hromada_id = self.below(hromada, oblast_id)
            if hromada_id is None:
                return Match(None, Reason.HROMADA_UNKNOWN)
            repair = repair or Repair.HROMADA_IN_OTHER_RAION
        return Match(hromada_id, repair=repair)

    def area(self, name: str) -> str | None:
        """Any region called ``name`` (a CAP ``areaDesc``), when exactly one is."""
        key = ("area", name)
        cached = self._cache.get(key)
        if cached is None:
            found = self.registry.find(name)
            cached = Match(found.id) if found else Match(None, Reason.REGION_UNKNOWN)
            self._cache[key] = cached
        return cached.region_id
