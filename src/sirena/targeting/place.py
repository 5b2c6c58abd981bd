"""A subscriber's place: a point (resolved to its regions when registered) or a whole region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Place", "PlaceKind"]


class PlaceKind(StrEnum):
    POINT = "point"
    REGION = "region"


@dataclass(frozen=True, slots=True)
class Place:
    """One registered place.

    ``regions`` are, for a point, the finest outlined regions it was resolved to at registration (see
    :class:`~sirena.targeting.resolve.PointResolver`); for a region place, that region. ``key`` is the store's
    internal row number, which orders places by registration.
    """

    id: str
    subscriber: str
    kind: PlaceKind
    regions: tuple[str, ...]
    created_at: datetime
    lat: float | None = None
    lon: float | None = None
    level: str | None = None
    label: str | None = None
    key: int = 0

    @property
    def is_point(self) -> bool:
        return self.kind is PlaceKind.POINT
