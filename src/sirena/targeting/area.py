"""The exact reach of one alert: which points and which regions it covers.

* A polygon alert reaches the points inside its polygon or on its edge, after the antimeridian rule
  (:func:`sirena.geo.normalize`); a circle alert the points within its radius by great-circle distance.
* A region alert reaches the points resolved to one of its affected regions (see
  :class:`~sirena.targeting.closure.RegionClosure`).
* Any alert reaches a registered *region* when that region is among its affected regions (for polygon and
  circle alerts: the regions they touch, fully or in part).

This is the definition :class:`~sirena.targeting.index.PlaceIndex` answers at scale and that the tests check it
against; :class:`AlertArea` applies it directly, which is enough for a few points (one device, one subscription).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sirena.domain.model import Alert, Circle, Target
from sirena.geo import haversine_m, normalize
from sirena.targeting.closure import RegionClosure

__all__ = ["AlertArea", "target_geometry"]


def target_geometry(target: Target) -> BaseGeometry | None:
    """An alert's drawn area as a shapely geometry (None for circles and region targets)."""
    if target.area is None:
        return None
    area: Any = target.area
    return shape(area)


@dataclass(frozen=True, slots=True)
class AlertArea:
    """What one alert reaches. Build it with :meth:`of`; it is immutable and can be shared."""

    affected: frozenset[str]
    """Region ids reached by membership: the touched regions, their ancestors and their descendants."""
    geometry: BaseGeometry | None = None
    """For a polygon alert: the normalized (Multi)Polygon, prepared."""
    circle: Circle | None = None
    """For a circle alert: its centre and radius."""

    @classmethod
    def of(cls, alert: Alert, closure: RegionClosure) -> AlertArea:
        affected = closure.affected(alert)
        if alert.target.circle is not None:
            return cls(affected, circle=alert.target.circle)
        raw = target_geometry(alert.target)
        if raw is not None:
            geometry = normalize(raw)
            shapely.prepare(geometry)
            return cls(affected, geometry=geometry)
        return cls(affected)

    @property
    def is_geometry(self) -> bool:
        """True for polygon and circle alerts, whose points are chosen by geometry, not by region."""
        return self.geometry is not None or self.circle is not None

    def points_inside(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
        """For a polygon or circle alert, which of these points it covers (exact); all False otherwise."""
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if self.circle is not None:
            c = self.circle
            inside: NDArray[np.bool_] = np.asarray(haversine_m(c.lat, c.lon, y, x) <= c.radius_km * 1000.0)
            return inside
        if self.geometry is not None:
            x = (x + 180.0) % 360.0 - 180.0 if x.size and (x.min() < -180 or x.max() > 180) else x
            return np.asarray(shapely.intersects_xy(self.geometry, x, y), dtype=np.bool_)
        return np.zeros(np.broadcast(x, y).shape, dtype=np.bool_)

    def reaches_point(self, lat: float, lon: float, regions: Iterable[str]) -> bool:
        """Whether a point place, resolved to ``regions`` at registration, is reached."""
        if self.is_geometry:
            return bool(self.points_inside(np.array([lon]), np.array([lat]))[0])
        return any(r in self.affected for r in regions)

    def reaches_region(self, region_id: str) -> bool:
        """Whether a place registered as a whole region is reached."""
        return region_id in self.affected
