"""The map the web pages draw: region outlines projected to SVG coordinates, and the same outlines as GeoJSON.

The projection is equirectangular, scaled by the cosine of the middle latitude, which is accurate enough at a
country's scale and trivial to invert in the browser (the console turns clicks back into lon/lat when an
operator draws a polygon). Everything is computed from :meth:`RegionRegistry.geometry`; no tiles, no network.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from sirena.regions import Region, RegionRegistry

__all__ = ["MapRegion", "MapView", "build_map"]

WIDTH = 1000.0


@dataclass(frozen=True, slots=True)
class MapRegion:
    """One drawn region: its SVG path and the point where its badge (icons and duration) goes."""

    region: Region
    path: str
    anchor: tuple[float, float]
    area: float


@dataclass(frozen=True, slots=True)
class MapView:
    """The drawn regions (largest first, so enclaves such as a capital city are drawn on top) and the projection.

    ``x = (lon - west) * kx * scale``, ``y = (north - lat) * scale``.
    """

    regions: tuple[MapRegion, ...]
    west: float
    north: float
    kx: float
    scale: float
    width: float
    height: float

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.kx * self.scale, (self.north - lat) * self.scale

    @property
    def projection(self) -> str:
        """The projection's parameters as the browser reads them: ``west,north,kx,scale``."""
        return f"{self.west:.6f},{self.north:.6f},{self.kx:.6f},{self.scale:.6f}"


def drawn_regions(registry: RegionRegistry) -> list[tuple[Region, BaseGeometry]]:
    """The regions the map shows: the top-level ones with an outline (oblasts for Ukraine).

    A region set whose outlines sit lower in the tree gets its shallowest outlined regions instead.
    """
    found = [(r, g) for r in registry.children(registry.root_id) if (g := registry.geometry(r.id)) is not None]
    if found:
        return found
    outlined = [(r, g) for r in registry if r.id != registry.root_id and (g := registry.geometry(r.id)) is not None]
    if not outlined:
        return []
    top = min(registry.depth(r.id) for r, _ in outlined)
    return [(r, g) for r, g in outlined if registry.depth(r.id) == top]


def build_map(registry: RegionRegistry, width: float = WIDTH) -> MapView:
    shapes = drawn_regions(registry)
    if not shapes:
        return MapView((), 0.0, 0.0, 1.0, 1.0, width, width / 2)
    west, south, east, north = shapely.union_all([g for _, g in shapes]).bounds
    pad = 0.01 * max(east - west, north - south)
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    kx = math.cos(math.radians((north + south) / 2))
    scale = width / ((east - west) * kx)
    view = MapView((), west, north, kx, scale, width, round((north - south) * scale, 1))
    drawn = [MapRegion(region, _path(view, geom), _anchor(view, geom), float(geom.area)) for region, geom in shapes]
    drawn.sort(key=lambda m: -m.area)
    return MapView(tuple(drawn), west, north, kx, scale, width, view.height)


def _polygons(geom: BaseGeometry) -> Iterable[Polygon]:
    if isinstance(geom, Polygon):
        yield geom
    elif isinstance(geom, MultiPolygon):
        yield from geom.geoms
    elif hasattr(geom, "geoms"):
        for part in geom.geoms:
            yield from _polygons(part)


def _path(view: MapView, geom: BaseGeometry) -> str:
    parts: list[str] = []
    for polygon in _polygons(geom):
        for ring in (polygon.exterior, *polygon.interiors):
            points = [view.project(x, y) for x, y in ring.coords[:-1]]
            if len(points) < 3:
                continue
            head, *rest = points
            parts.append(f"M{head[0]:.1f} {head[1]:.1f}" + "".join(f"L{x:.1f} {y:.1f}" for x, y in rest) + "Z")
    return "".join(parts)


def _anchor(view: MapView, geom: BaseGeometry) -> tuple[float, float]:
    """The pole of inaccessibility of the largest part: inside the shape and far from its edges."""
    largest = max(_polygons(geom), key=lambda p: p.area)
    point = polylabel(largest, tolerance=0.01)
    x, y = view.project(point.x, point.y)
    return round(x, 1), round(y, 1)


def outlines_geojson(registry: RegionRegistry, precision: int = 3) -> dict[str, Any]:
    """The drawn regions as a GeoJSON FeatureCollection in lon/lat, coordinates rounded to ``precision``."""
    features = []
    for region, geom in drawn_regions(registry):
        rounded = shapely.set_precision(geom, 10**-precision)
        features.append(
            {
                "type": "Feature",
                "id": region.id,
                "properties": {"id": region.id, "level": region.level, "names": dict(region.names)},
                "geometry": shapely.geometry.mapping(rounded),
            }
        )
    return {"type": "FeatureCollection", "features": features}
