"""Places of webhook and push subscriptions: which alerts they reach, and the nearest shelters to name.

A subscription's filter dict may hold ``places`` (``[[lat, lon], ...]``) and ``own_regions`` (the regions it
asked for itself, or ``None``); its ``regions`` then hold its own regions and every place's resolved regions,
so a region alert reaches it like a registered point. A polygon or circle alert reaches it only when a place is
inside the area (exactly, :class:`sirena.targeting.AlertArea`) or one of its own regions is touched.

For an issued or updated alert, :meth:`Nearby.for_event` names the shelters nearest to the place the alert
reached (the first place inside a polygon or circle, else the first place), for the notification or body.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sirena.domain.model import Alert, Event, EventType
from sirena.errors import ValidationFailed
from sirena.targeting.area import AlertArea
from sirena.targeting.closure import RegionClosure
from sirena.targeting.resolve import PointResolver

if TYPE_CHECKING:
    from sirena.regions import RegionRegistry
    from sirena.shelters import ShelterDirectory

SHOWN = 3
"""At most this many shelters in a notification or body."""

NEAREST_PATH = "/api/v1/shelters/nearest"
LIVE = frozenset({EventType.ISSUED, EventType.UPDATED})


def shelters_url(lat: float, lon: float) -> str:
    """The nearest-shelters endpoint for a place, relative to the server's origin."""
    return f"{NEAREST_PATH}?lat={lat:.6f}&lon={lon:.6f}&limit={SHOWN}"


def place_dict(places: Sequence[tuple[float, float]], own_regions: Sequence[str] | None) -> dict[str, Any]:
    """The members a subscription with places keeps in its filter dict."""
    return {"places": [[lat, lon] for lat, lon in places], "own_regions": list(own_regions or ()) or None}


class Nearby:
    def __init__(self, registry: RegionRegistry, margin_m: float, shelters: ShelterDirectory | None = None) -> None:
        self.registry = registry
        self.margin_m = margin_m
        self.shelters = shelters
        self._targeting: tuple[PointResolver, RegionClosure] | None = None
        self._area: tuple[tuple[str, int], AlertArea] | None = None

    def _tools(self) -> tuple[PointResolver, RegionClosure]:
        if self._targeting is None:
            self._targeting = (PointResolver(self.registry, self.margin_m), RegionClosure(self.registry))
        return self._targeting

    def resolve(self, places: Iterable[tuple[float, float]], field: str = "places") -> list[str]:
        """The regions each place lies in or near; :class:`ValidationFailed` for a place outside every region."""
        found: dict[str, None] = {}
        for i, (lat, lon) in enumerate(places):
            hits: tuple[str, ...] = ()
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                with contextlib.suppress(ValidationFailed):
                    hits = self._tools()[0].resolve(lat, lon).regions
            if not hits:
                raise ValidationFailed("error.push_place_outside", field=f"{field}.{i}", lat=lat, lon=lon)
            found.update(dict.fromkeys(hits))
        return list(found)

    def area(self, alert: Alert) -> AlertArea:
        key = (alert.id, alert.version)
        if self._area is None or self._area[0] != key:
            self._area = (key, AlertArea.of(alert, self._tools()[1]))
        return self._area[1]

    def reaches(self, flt: Mapping[str, Any], alert: Alert) -> bool:
        """The places rule alone (the rest of the filter is checked elsewhere): True without places or for a
        region alert; for a polygon or circle, a place inside it or one of the subscription's own regions."""
        places = flt.get("places") or []
        if not places or not alert.target.is_geometry:
            return True
        area = self.area(alert)
        if area.points_inside([p[1] for p in places], [p[0] for p in places]).any():
            return True
        return any(r in area.affected for r in flt.get("own_regions") or ())

    def reaches_event(self, flt: Mapping[str, Any], event: object) -> bool:
        """:meth:`reaches` for alert events; other log events (notices) are not decided by places."""
        return self.reaches(flt, event.alert) if isinstance(event, Event) else True

    def place_for(self, flt: Mapping[str, Any], alert: Alert) -> tuple[float, float] | None:
        """The place an alert reached: the first inside a polygon or circle, else the first place."""
        places = flt.get("places") or []
        if not places:
            return None
        if alert.target.is_geometry:
            inside = self.area(alert).points_inside([p[1] for p in places], [p[0] for p in places])
            for place, hit in zip(places, inside.tolist(), strict=True):
                if hit:
                    return float(place[0]), float(place[1])
        return float(places[0][0]), float(places[0][1])

    async def for_event(self, event: object, flt: Mapping[str, Any]) -> dict[str, Any] | None:
        """``{"place": {"lat", "lon"}, "shelters": [{"id", "name", "lat", "lon", "distance_m"}], "url"}`` for an
        issued or updated alert and a subscription with places; ``None`` otherwise or when no shelter is known."""
        if self.shelters is None or not isinstance(event, Event) or event.type not in LIVE:
            return None
        place = self.place_for(flt, event.alert)
        if place is None:
            return None
        lat, lon = place
        found = await self.shelters.nearest(lat, lon, SHOWN)
        if not found:
            return None
        return {
            "place": {"lat": lat, "lon": lon},
            "shelters": [
                {"id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon, "distance_m": round(metres)}
                for s, metres in found
            ],
            "url": shelters_url(lat, lon),
        }


def attach(payload: dict[str, Any], near: dict[str, Any] | None, max_bytes: int, size: Any) -> dict[str, Any]:
    """``payload`` with ``near`` as its ``nearby`` member, dropping the farthest shelters while ``size(payload)``
    is over ``max_bytes`` (and ``nearby`` altogether if none fits)."""
    if near is None:
        return payload
    payload["nearby"] = near
    while near["shelters"] and len(size(payload)) > max_bytes:
        near["shelters"].pop()
    if not near["shelters"]:
        del payload["nearby"]
    return payload
