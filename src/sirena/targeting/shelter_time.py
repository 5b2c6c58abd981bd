"""Time to shelter: seconds from warning to impact, per region, inherited down the region tree.

The table is a TOML file (``docs/targeting.md`` describes it) naming region ids and seconds. A region without
an entry takes its nearest ancestor's value. An alert gets the shortest time found anywhere in the regions it
touches, including the regions below them, so an alert never promises more time than some of its area has.
Ukraine's default table ships in ``sirena/data/ua/time_to_shelter.toml``; ``SIRENA_TIME_TO_SHELTER_FILE``
replaces it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sirena.errors import ConfigurationError
from sirena.regions import RegionRegistry

__all__ = ["FORMAT", "MAX_SECONDS", "OFF", "TimeToShelter"]

FORMAT = "sirena/time-to-shelter/1"
MAX_SECONDS = 86_400
OFF = "off"
"""The setting's value that turns the table off (alerts keep whatever their issuer gave)."""
_FILE = "time_to_shelter.toml"


class TimeToShelter:
    """A loaded table over one region registry. Immutable; every lookup is a dictionary read."""

    __slots__ = ("_inherited", "_shortest", "explicit", "source")

    def __init__(self, registry: RegionRegistry | None, explicit: Mapping[str, int], *, source: str = "") -> None:
        self.explicit: Mapping[str, int] = MappingProxyType(dict(explicit))
        self.source = source
        inherited: dict[str, int] = {}
        shortest: dict[str, int] = {}
        if registry is not None and self.explicit:
            order = _preorder(registry)
            for region_id in order:  # parents before children
                own = self.explicit.get(region_id)
                parent = registry.get(region_id).parent_id
                value = own if own is not None else inherited.get(parent) if parent is not None else None
                if value is not None:
                    inherited[region_id] = value
            for region_id in reversed(order):  # children before parents
                candidates = [inherited[region_id]] if region_id in inherited else []
                candidates += [shortest[c] for c in registry.get(region_id).children if c in shortest]
                if candidates:
                    shortest[region_id] = min(candidates)
        self._inherited: Mapping[str, int] = MappingProxyType(inherited)
        self._shortest: Mapping[str, int] = MappingProxyType(shortest)

    def __bool__(self) -> bool:
        return bool(self.explicit)

    def for_region(self, region_id: str) -> int | None:
        """The seconds someone in this region has: its own entry or its nearest ancestor's; None if neither."""
        return self._inherited.get(region_id)

    def for_regions(self, region_ids: Iterable[str]) -> int | None:
        """The shortest time anywhere in these regions (their subregions included); None when none is known."""
        found = [self._shortest[r] for r in region_ids if r in self._shortest]
        return min(found) if found else None

    # -- loading --------------------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> TimeToShelter:
        return cls(None, {}, source=OFF)

    @classmethod
    def builtin(cls, registry: RegionRegistry) -> TimeToShelter:
        """The table shipped for the registry's country (today only Ukraine), or an empty table."""
        code = registry.country.strip().lower()
        entry = resources.files("sirena") / "data" / code / _FILE
        if not code.isalpha() or not entry.is_file():
            return cls.empty()
        return cls.parse(entry.read_text(encoding="utf-8"), registry, source=f"sirena/data/{code}/{_FILE}")

    @classmethod
    def from_setting(cls, spec: str, registry: RegionRegistry) -> TimeToShelter:
        """``SIRENA_TIME_TO_SHELTER_FILE``: empty for the shipped table, ``off`` for none, else a file path."""
        spec = spec.strip()
        if not spec:
            return cls.builtin(registry)
        if spec.lower() == OFF:
            return cls.empty()
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError("targeting.tts.unreadable", file=spec, reason=str(exc)) from None
        return cls.parse(text, registry, source=spec)

    @classmethod
    def parse(cls, text: str, registry: RegionRegistry, *, source: str = "<string>") -> TimeToShelter:
        """A table from TOML text, checked against ``registry``; :class:`ConfigurationError` names the problem."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError("targeting.tts.unreadable", file=source, reason=str(exc)) from None
        if data.get("format") != FORMAT:
            raise ConfigurationError(
                "targeting.tts.format", file=source, expected=FORMAT, found=str(data.get("format"))
            )
        country = data.get("country")
        if country is not None and str(country).upper() != registry.country.upper():
            raise ConfigurationError(
                "targeting.tts.country", file=source, country=str(country), registry=registry.country
            )
        seconds = data.get("seconds")
        if not isinstance(seconds, dict) or not seconds:
            raise ConfigurationError("targeting.tts.no_seconds", file=source)
        explicit: dict[str, int] = {}
        for region_id, value in seconds.items():
            if region_id not in registry:
                raise ConfigurationError("targeting.tts.unknown_region", file=source, region=region_id)
            if not _whole_seconds(value):
                raise ConfigurationError(
                    "targeting.tts.bad_value", file=source, region=region_id, value=str(value), max=MAX_SECONDS
                )
            explicit[region_id] = int(value)
        return cls(registry, explicit, source=source)


def _whole_seconds(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SECONDS


def _preorder(registry: RegionRegistry) -> list[str]:
    order: list[str] = []
    stack = [registry.root_id]
    while stack:
        region_id = stack.pop()
        order.append(region_id)
        stack.extend(reversed(registry.get(region_id).children))
    return order
