"""Areas that cross the antimeridian or enclose a pole, turned into plain lon/lat shapes.

The rule, applied to each ring of each polygon:

* An edge whose longitudes differ by more than 180° is taken the short way round, across the antimeridian:
  ``170 → -170`` is a 20° step east, not a 340° step west. (An edge running between -180 and 180 exactly is
  kept: it is the seam of a shape that has already been cut there.) So a ring whose longitudes span more
  than 180° is read as crossing the antimeridian wherever it jumps.
* A ring that, read this way, goes once around the globe encloses a pole: the one on the side of the equator
  where its vertices lie on average. It becomes a cap reaching that pole.
* A shape that is not valid (self-crossing ring, overlapping parts) is repaired so that it covers every part
  it was drawn to cover: merged, never shrunk to a symmetric difference.
* The shape is then cut at ±180° and every piece is moved into [-180, 180], giving a Polygon or MultiPolygon
  in ordinary lon/lat coordinates. A shape that needs none of this is returned unchanged (the same object).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from sirena.geo.coords import invalid

_POLYGON = 3
_MULTIPOLYGON = 6
_COLLECTION = 7


def normalize(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry in plain lon/lat coordinates within [-180, 180], following the antimeridian rule above.

    Polygons (also inside MultiPolygons and GeometryCollections) are unwrapped, capped and cut as needed;
    points and lines are kept as given. An invalid geometry (a self-intersecting ring, overlapping parts, a
    hole outside its shell) is repaired by :func:`repaired`, because point-in-polygon answers for invalid
    shapes are not well defined (GEOS may even answer differently from one call to the next).
    A valid geometry that needs none of this is returned unchanged (the same object).
    """
    if not isinstance(geometry, shapely.Geometry):
        raise invalid("geometry", repr(geometry), "a shapely geometry is needed")
    if geometry.is_empty:
        return geometry
    plain = _plain(geometry)
    return plain if plain.is_valid else repaired(plain)


def repaired(geometry: shapely.Geometry) -> shapely.Geometry:
    """A valid geometry covering what an invalid one was meant to: overlapping parts are merged, every lobe
    of a self-crossing ring is kept, and a hole removes only what lies inside its shell."""
    return shapely.make_valid(geometry, method="structure", keep_collapsed=True)


def _plain(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry with its polygons unwrapped, capped and cut (the same object if none needed it)."""
    kind = shapely.get_type_id(geometry)
    if kind == _POLYGON:
        result = _normalize_polygon(geometry)
        return geometry if result is None else result
    if kind in (_MULTIPOLYGON, _COLLECTION):
        parts = list(shapely.get_parts(geometry))
        done = [_plain(part) for part in parts]
        if all(new is old for new, old in zip(done, parts, strict=True)):
            return geometry
        if kind == _MULTIPOLYGON:
            return polygonal(shapely.union_all([_valid(p) for p in done]))
        return shapely.GeometryCollection(done)
    return geometry


def polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """Only the areal parts of a geometry, as one Polygon or MultiPolygon (possibly empty)."""
    kind = shapely.get_type_id(geometry)
    if kind in (_POLYGON, _MULTIPOLYGON):
        return geometry
    polygons: list[shapely.Polygon] = []
    for part in shapely.get_parts(geometry):
        part_kind = shapely.get_type_id(part)
        if part_kind == _POLYGON and not part.is_empty:
            polygons.append(part)
        elif part_kind in (_MULTIPOLYGON, _COLLECTION):
            inner = polygonal(part)
            polygons.extend(p for p in shapely.get_parts(inner) if not p.is_empty)
    if len(polygons) == 1:
        return polygons[0]
    return shapely.MultiPolygon(polygons)


def in_plane(
    shell: NDArray[np.float64],
    holes: list[NDArray[np.float64]] | None = None,
    pole: float | None = None,
) -> shapely.Geometry:
    """A polygon given with unwrapped longitudes (any range, continuous along each ring), cut into [-180, 180].

    ``shell`` and each hole are ``(n, 2)`` closed rings of (lon, lat). If the shell goes once around the globe
    its last vertex is 360° east or west of its first and ``pole`` (90 or -90) says which pole it encloses.
    """
    rings = [_capped(shell, pole)]
    centre = (float(rings[0][:, 0].min()) + float(rings[0][:, 0].max())) / 2.0
    for hole in holes or []:
        mid = (float(hole[:, 0].min()) + float(hole[:, 0].max())) / 2.0
        turns = round((centre - mid) / 360.0)
        rings.append(hole + np.array([360.0 * turns, 0.0]) if turns else hole)
    polygon = _valid(shapely.Polygon(rings[0], rings[1:]))
    return _cut(polygon)


def _normalize_polygon(polygon: shapely.Polygon) -> shapely.Geometry | None:
    """The polygon unwrapped, capped and cut, or ``None`` when it is already plain."""
    rings = [shapely.get_coordinates(polygon.exterior)]
    rings.extend(shapely.get_coordinates(ring) for ring in polygon.interiors)
    unwrapped = [_unwrap(ring) for ring in rings]
    changed = any(turns is not None for _, turns in unwrapped)
    x_min, _, x_max, _ = polygon.bounds
    if not changed and x_min >= -180.0 and x_max <= 180.0:
        return None
    (shell, shell_turns), holes = unwrapped[0], unwrapped[1:]
    pole = _pole_of(shell) if shell_turns else None
    kept_holes: list[NDArray[np.float64]] = []
    for hole, hole_turns in holes:
        # A hole that also goes round the globe is capped at the same pole, leaving a band between the two.
        kept_holes.append(_capped(hole, pole if pole is not None else _pole_of(hole)) if hole_turns else hole)
    return in_plane(shell, kept_holes, pole)


def _unwrap(ring: NDArray[np.float64]) -> tuple[NDArray[np.float64], int | None]:
    """The ring with every long edge taken the short way, and how many times it goes round the globe
    (``None`` when nothing needed unwrapping)."""
    x = ring[:, 0]
    step = np.diff(x)
    seam = (np.abs(step) == 360.0) & (np.abs(x[:-1]) == 180.0)
    jump = (np.abs(step) > 180.0) & ~seam
    if not jump.any():
        return ring, None
    turns_per_edge = np.where(jump, np.round(step / 360.0), 0.0)
    shift = np.concatenate([[0.0], -360.0 * np.cumsum(turns_per_edge)])
    out = ring.copy()
    out[:, 0] = x + shift
    turns = round(float(shift[-1]) / 360.0)
    if abs(turns) > 1:
        raise invalid(
            "geometry",
            shapely.to_wkt(shapely.Polygon(ring), rounding_precision=6)[:200],
            "a ring may go round the globe at most once",
        )
    return out, turns


def _pole_of(ring: NDArray[np.float64]) -> float:
    return 90.0 if float(ring[:-1, 1].mean()) >= 0.0 else -90.0


def _capped(ring: NDArray[np.float64], pole: float | None) -> NDArray[np.float64]:
    """A ring that goes round the globe, closed over ``pole``; any other ring unchanged.

    The ring is first restarted where it crosses the antimeridian, so the cap fits [-180, 180] without a seam
    (cutting it elsewhere would leave two pieces whose edges need not meet exactly).
    """
    first, last = ring[0], ring[-1]
    if pole is None or math.isclose(first[0], last[0]):
        return ring
    way = 1.0 if last[0] > first[0] else -1.0
    turns = math.ceil((first[0] + 180.0) / 360.0) if way > 0 else math.floor((first[0] + 180.0) / 360.0)
    meridian = -180.0 + 360.0 * turns
    x, y = ring[:-1, 0], ring[:-1, 1]
    after = np.append(x[1:], x[0] + 360.0 * way)
    crossing = np.flatnonzero((x - meridian) * way <= 0.0)
    crossing = crossing[(after[crossing] - meridian) * way > 0.0]
    k = int(crossing[0])
    x_next, y_next = (after[k], y[k + 1] if k + 1 < y.size else y[0])
    share = (meridian - x[k]) / (x_next - x[k])
    start = np.array([[meridian, y[k] + share * (y_next - y[k])]])
    loop = np.concatenate([ring[k + 1 : -1], ring[: k + 1] + np.array([360.0 * way, 0.0])])
    if x[k] == meridian:  # already starts on the antimeridian
        loop = loop[:-1]
    end = start + np.array([360.0 * way, 0.0])
    cap = np.array([[end[0, 0], pole], [meridian, pole]])
    closed = np.concatenate([start, loop, end, cap, start])
    closed[:, 0] -= 360.0 * turns
    return closed


def _valid(geometry: shapely.Geometry) -> shapely.Geometry:
    if geometry.is_valid:
        return geometry
    return polygonal(repaired(geometry))


def _cut(polygon: shapely.Geometry) -> shapely.Geometry:
    """The polygon cut at every ±180° + k·360° meridian, each piece moved into [-180, 180]."""
    if polygon.is_empty:
        return polygon
    x_min, y_min, x_max, y_max = polygon.bounds
    if x_min >= -180.0 and x_max <= 180.0:
        return polygon
    pieces = []
    for k in range(math.floor((x_min + 180.0) / 360.0), math.ceil((x_max - 180.0) / 360.0) + 1):
        window = shapely.box(-180.0 + 360.0 * k, y_min, 180.0 + 360.0 * k, y_max)
        piece = polygonal(shapely.intersection(polygon, window))
        if piece.is_empty:
            continue
        offset = np.array([360.0 * k, 0.0])
        pieces.append(shapely.transform(piece, lambda xy, offset=offset: xy - offset) if k else piece)
    return polygonal(shapely.union_all(pieces))
