"""Alerts, places and a brute-force reach for the targeting tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from sirena.domain.model import Alert, AlertState, Circle, Kind, Level, Status, Target
from sirena.geo import circle, haversine_m, normalize
from sirena.regions import RegionRegistry, load_builtin

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
M_PER_DEG = 111_194.9


@cache
def ukraine() -> RegionRegistry:
    return load_builtin("ua")


def alert(target: Target, regions: Sequence[str] = (), partial: Sequence[str] = (), **extra: Any) -> Alert:
    return Alert(
        id="A" + str(abs(hash((target.regions, str(target.area), target.circle)))),
        version=1,
        state=AlertState.ACTIVE,
        target=target,
        regions=tuple(regions),
        partial_regions=tuple(partial),
        kind=Kind.AIR_RAID,
        level=Level.RED,
        status=Status.ACTUAL,
        threats=(),
        issuer="test",
        started_at=T0,
        updated_at=T0,
        **extra,
    )


def region_alert(regions: Sequence[str]) -> Alert:
    return alert(Target(regions=tuple(regions)), regions)


def polygon_alert(geometry: shapely.Geometry, registry: RegionRegistry | None = None) -> Alert:
    registry = registry or ukraine()
    covered, partial = registry.regions_for_geometry(normalize(geometry))
    area = shapely.geometry.mapping(geometry)
    return alert(Target(area=area), covered, partial)


def circle_alert(lat: float, lon: float, radius_km: float, registry: RegionRegistry | None = None) -> Alert:
    registry = registry or ukraine()
    covered, partial = registry.regions_for_geometry(circle(lat, lon, radius_km))
    return alert(Target(circle=Circle(lat, lon, radius_km)), covered, partial)


@dataclass(frozen=True)
class Spot:
    """A place for brute force: a point with its resolved regions, or a region (lat/lon None)."""

    key: int
    subscriber: int
    regions: tuple[str, ...]
    lat: float | None = None
    lon: float | None = None


def brute_reach(a: Alert, spots: Sequence[Spot], registry: RegionRegistry) -> set[int]:
    """The keys ``a`` reaches, computed from the definition, one place at a time."""
    affected: set[str] = set()
    for region_id in a.touched_regions:
        affected |= {region_id, *registry.ancestors(region_id), *registry.descendants(region_id)}
    geometry = None
    if a.target.area is not None:
        geometry = normalize(shapely.geometry.shape(a.target.area))
    found: set[int] = set()
    for spot in spots:
        if spot.lat is None or spot.lon is None:
            hit = any(r in affected for r in spot.regions)
        elif a.target.circle is not None:
            c = a.target.circle
            hit = float(haversine_m(c.lat, c.lon, spot.lat, spot.lon)) <= c.radius_km * 1000
        elif geometry is not None:
            hit = bool(shapely.intersects_xy(geometry, spot.lon, spot.lat))
        else:
            hit = any(r in affected for r in spot.regions)
        if hit:
            found.add(spot.key)
    return found


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point ``north_m`` metres north and ``east_m`` east of (lat, lon), on the sphere, for short distances."""
    dlat = north_m / M_PER_DEG
    dlon = east_m / (M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def star(cx: float, cy: float, r_min: float, r_max: float, n: int, rng: np.random.Generator) -> shapely.Polygon:
    angles = np.unique(np.sort(rng.uniform(0.0, 2.0 * np.pi, n)))
    radii = rng.uniform(r_min, r_max, angles.size)
    coords: NDArray[np.float64] = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
    return shapely.Polygon(coords)
