"""Regions ⇄ CAP areas over one region registry.

Out: a region becomes one ``<area>``: its name, a ``SIRENA`` geocode with its id, a geocode per official code
(``KATOTTG``, ``ISO3166-2``), and polygons from its outline (or, for a region without one, the union of its
outlined descendants), simplified to at most :data:`MAX_POINTS` points per ring. CAP polygons have no holes, so
only outer rings are written.

In: geocodes naming a Sirena region id or a region code map straight to regions; polygons and circles become a
GeoJSON area or a circle that :meth:`~sirena.service.AlertService.resolve` intersects with the region outlines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import shapely
from shapely.geometry.base import BaseGeometry

from sirena.cap import convention as c
from sirena.domain.model import Circle
from sirena.protocol.cap.model import CapArea, NamedValue, Point
from sirena.regions import RegionRegistry
from sirena.service import circle_geometry

MAX_POINTS: Final = 400
#: A circle of radius 0 names a point (an epicentre); it is read as a circle of 100 m.
POINT_RADIUS_KM: Final = 0.1
Ring = tuple[Point, ...]


def rings_of(geometry: BaseGeometry) -> tuple[Ring, ...]:
    """The outer rings of a (Multi)Polygon as closed CAP rings of (lat, lon)."""
    polygons: Iterable[Any]
    if geometry.geom_type == "Polygon":
        polygons = [geometry]
    elif geometry.geom_type in {"MultiPolygon", "GeometryCollection"}:
        polygons = [g for g in geometry.geoms if g.geom_type == "Polygon"]
    else:
        return ()
    out: list[Ring] = []
    for polygon in polygons:
        if polygon.is_empty:
            continue
        ring = tuple((float(lat), float(lon)) for lon, lat, *_ in polygon.exterior.coords)
        if len(ring) >= 4 and ring[0] == ring[-1]:
            out.append(ring)
    return tuple(out)


def _simplified(geometry: BaseGeometry) -> BaseGeometry:
    tolerance = 0.001
    while shapely.get_num_coordinates(geometry) > MAX_POINTS * max(1, len(getattr(geometry, "geoms", [0]))):
        geometry = geometry.simplify(tolerance, preserve_topology=True)
        tolerance *= 2
        if tolerance > 1:
            break
    return geometry


def geojson_rings(area: Mapping[str, Any]) -> tuple[Ring, ...]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon (lon, lat) as CAP rings (lat, lon), closed."""
    kind = area.get("type")
    coordinates = area.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else list(coordinates) if kind == "MultiPolygon" else []
    out: list[Ring] = []
    for polygon in polygons:
        if not polygon:
            continue
        ring = [(float(point[1]), float(point[0])) for point in polygon[0]]
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        if len(ring) >= 4:
            out.append(tuple(ring))
    return tuple(out)


def geojson_of(rings: Sequence[Ring], multi: bool) -> dict[str, Any]:
    """CAP rings as a GeoJSON Polygon (one ring, unless ``multi``) or MultiPolygon, in lon/lat."""
    polygons = [[[[lon, lat] for lat, lon in ring]] for ring in rings]
    if len(polygons) == 1 and not multi:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


class RegionAreas:
    """CAP areas of one registry's regions, with the outlines simplified once and kept."""

    def __init__(self, registry: RegionRegistry) -> None:
        self.registry = registry
        self._rings: dict[str, tuple[Ring, ...]] = {}
        self._codes: dict[tuple[str, str], str | None] | None = None

    # -- out ----------------------------------------------------------------------------------------------------

    def rings(self, region_id: str) -> tuple[Ring, ...]:
        found = self._rings.get(region_id)
        if found is None:
            geometry = self.registry.geometry(region_id)
            if geometry is None:
                parts = [
                    g for d in self.registry.descendants(region_id) if (g := self.registry.geometry(d)) is not None
                ]
                geometry = shapely.union_all(parts) if parts else None
            found = rings_of(_simplified(geometry)) if geometry is not None else ()
            self._rings[region_id] = found
        return found

    def geocodes(self, region_id: str) -> tuple[NamedValue, ...]:
        region = self.registry.get(region_id)
        codes = [(c.GEOCODE_REGION, region.id)]
        for name, value in region.codes.items():
            if c.code_key(name) not in c.SKIPPED_CODES and value:
                codes.append((c.geocode_name(name), value))
        return tuple(codes)

    def region_area(self, region_id: str, lang: str) -> CapArea:
        """One ``<area>`` for a region; an id the registry does not know gets just its geocode."""
        if region_id not in self.registry:
            return CapArea(area_desc=region_id, geocodes=((c.GEOCODE_REGION, region_id),))
        region = self.registry.get(region_id)
        return CapArea(
            area_desc=region.name(lang.split("-")[0]),
            polygons=self.rings(region_id),
            geocodes=self.geocodes(region_id),
        )

    def describe(self, region_ids: Sequence[str], lang: str, limit: int = 8) -> str:
        names = [self.registry.get(r).name(lang.split("-")[0]) for r in region_ids[:limit] if r in self.registry]
        text = ", ".join(names)
        if len(region_ids) > limit:
            text += f" +{len(region_ids) - limit}"
        return text

    # -- in -----------------------------------------------------------------------------------------------------

    def _code_index(self) -> dict[tuple[str, str], str | None]:
        if self._codes is None:
            index: dict[tuple[str, str], str | None] = {}
            for region in self.registry:
                for name, value in region.codes.items():
                    key = (c.code_key(name), value.strip().lower())
                    index[key] = None if key in index else region.id  # ambiguous codes map to nothing
            self._codes = index
        return self._codes

    def region_of(self, geocode: NamedValue) -> str | None:
        """The region a geocode names: a Sirena region id, or a region code such as KATOTTG."""
        name, value = c.code_key(geocode[0]), geocode[1].strip()
        if name in c.REGION_ID_GEOCODES:
            return value if value in self.registry else None
        return self._code_index().get((name, value.lower()))

    def regions_of(self, area: CapArea) -> list[str]:
        found: list[str] = []
        for geocode in area.geocodes:
            region_id = self.region_of(geocode)
            if region_id is not None and region_id not in found:
                found.append(region_id)
        return found

    def geometry_of(self, area: CapArea) -> list[BaseGeometry]:
        shapes: list[BaseGeometry] = [shapely.Polygon([(lon, lat) for lat, lon in ring]) for ring in area.polygons]
        for lat, lon, radius in area.circles:
            if radius >= 0 and math.isfinite(radius):
                shapes.append(circle_geometry(Circle(lat, lon, radius or POINT_RADIUS_KM)))
        return shapes
