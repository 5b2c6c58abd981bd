"""Resolving a point to the regions it lies in, once, when it is registered.

Only regions with an outline can be resolved to, and only the finest outlined ones (for Ukraine's shipped data
that is the oblast level: raion and hromada outlines are not shipped). Outlines are simplified, so a point near
a border may lie on the wrong side of the simplified line; to keep to the no-undershoot rule a point is resolved
to *every* finest outline within ``margin_m`` metres of it, not only the one containing it. A point farther
than that from every outline is outside the region set and is refused. A registry without outlines resolves
every point to no region: such points are reached by polygon and circle alerts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.strtree import STRtree

from sirena.errors import ValidationFailed
from sirena.geo import haversine_m
from sirena.regions import RegionRegistry

__all__ = ["DEFAULT_MARGIN_M", "PointResolver", "Resolution"]

DEFAULT_MARGIN_M = 3000.0
_M_PER_DEG = 111_194.9
"""Metres per degree of latitude on the sphere of :data:`sirena.geo.EARTH_RADIUS_M`."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The finest outlined regions a point was resolved to, containing ones first, and their level."""

    regions: tuple[str, ...]
    level: str | None
    inside: tuple[str, ...]
    """Those whose (simplified) outline contains the point or has it on its edge."""


class PointResolver:
    """Resolves points against one registry's finest outlines (an R-tree over them, built once)."""

    __slots__ = ("_finest", "_tree", "margin_m", "registry")

    def __init__(self, registry: RegionRegistry, margin_m: float = DEFAULT_MARGIN_M) -> None:
        if not (margin_m >= 0 and np.isfinite(margin_m)):
            raise ValueError("margin_m must be a finite number of metres, zero or more")
        self.registry = registry
        self.margin_m = float(margin_m)
        outlined = {r.id for r in registry if registry.geometry(r.id) is not None}
        self._finest = tuple(r.id for r in registry if r.id in outlined and not (registry.descendants(r.id) & outlined))
        self._tree = STRtree([registry.geometry(r) for r in self._finest])

    @property
    def has_outlines(self) -> bool:
        return bool(self._finest)

    def resolve(self, lat: float, lon: float, *, field: str = "lat") -> Resolution:
        """The regions of (lat, lon); :class:`ValidationFailed` when it is farther than the margin from all."""
        if not self._finest:
            return Resolution((), None, ())
        point = shapely.Point(lon, lat)
        inside = [self._finest[i] for i in sorted(self._tree.query(point, predicate="intersects").tolist())]
        near: list[str] = []
        scale = np.array([max(float(np.cos(np.radians(lat))), 1e-6), 1.0])
        if self.margin_m > 0:
            # A box in degrees that holds every point within margin_m (longitude degrees shrink with latitude).
            lat_deg = self.margin_m / _M_PER_DEG
            cos_lat = max(np.cos(np.radians(min(abs(lat) + lat_deg, 90.0))), 1e-6)
            box = shapely.box(lon - lat_deg / cos_lat, lat - lat_deg, lon + lat_deg / cos_lat, lat + lat_deg)
            for i in sorted(self._tree.query(box, predicate="intersects").tolist()):
                region_id = self._finest[i]
                if region_id in inside:
                    continue
                # The closest point of the outline, found where a degree of longitude is as long as it is here.
                outline = shapely.transform(self._tree.geometries[i], lambda xy: xy * scale)
                line = shapely.shortest_line(shapely.Point(lon * scale[0], lat), outline)
                closest = shapely.get_coordinates(line)[-1] / scale
                if float(haversine_m(lat, lon, closest[1], closest[0])) <= self.margin_m:
                    near.append(region_id)
        regions = tuple(inside + near)
        if not regions:
            raise ValidationFailed(
                "targeting.place_outside", field=field, lat=lat, lon=lon, margin_m=round(self.margin_m)
            )
        return Resolution(regions, self.registry.get(regions[0]).level, tuple(inside))
