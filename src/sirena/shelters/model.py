"""A shelter, as imported: where it is, what it is called, how many it holds, who can get in and when."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Accessibility", "Shelter"]


class Accessibility(StrEnum):
    """Step-free access for wheelchairs, as OpenStreetMap's ``wheelchair`` tag puts it."""

    YES = "yes"
    LIMITED = "limited"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Shelter:
    """One shelter. ``id`` is ``<source>:<ref>``, where ``ref`` is the file's own identifier for it (an OSM
    ``node/123``, a city register number) or, when it has none, its coordinates. ``line`` is where it starts
    in the imported file."""

    id: str
    source: str
    ref: str
    lat: float
    lon: float
    name: str | None = None
    capacity: int | None = None
    accessibility: Accessibility | None = None
    hours: str | None = None
    address: str | None = None
    kind: str | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "capacity": self.capacity,
            "accessibility": self.accessibility.value if self.accessibility else None,
            "hours": self.hours,
            "address": self.address,
            "kind": self.kind,
            "source": self.source,
        }
