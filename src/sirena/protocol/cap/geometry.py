"""CAP ``polygon`` and ``circle`` text to coordinates, with the checks the schema cannot make.

A polygon is ``lat,lon lat,lon …`` (WGS 84, first point repeated last, at least four points); a circle is
``lat,lon radius_km``. Problems go into the log with the element's path; what is repaired is said so.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.model import Circle, Point


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _pair(token: str) -> tuple[Point | None, bool]:
    """``lat,lon`` → point, and whether stray commas had to be removed."""
    parts = token.split(",")
    stray = False
    while parts and parts[-1] == "":
        parts.pop()
        stray = True
    while parts and parts[0] == "":
        parts.pop(0)
        stray = True
    if len(parts) != 2:
        return None, stray
    lat, lon = _number(parts[0]), _number(parts[1])
    if lat is None or lon is None:
        return None, stray
    return (lat, lon), stray


_SEPARATORS = re.compile(r"[\s,]+")


def _numbers_in_pairs(raw: str) -> list[Point] | None:
    """The points of ``raw`` read as numbers in order, whatever separates them (``lat, lon``, ``lat,lon,lat,lon``,
    ``lat lon``); ``None`` unless every part is a number and they pair up."""
    numbers = [_number(part) for part in _SEPARATORS.split(raw.strip(" \t\r\n,"))]
    if len(numbers) % 2 or any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    return list(zip(values[::2], values[1::2], strict=True))


def _in_range(point: Point) -> bool:
    return -90.0 <= point[0] <= 90.0 and -180.0 <= point[1] <= 180.0


def _check_range(points: Sequence[Point], kind: str, log: IssueLog, path: str, line: int | None) -> None:
    bad = next((p for p in points if not _in_range(p)), None)
    if bad is None:
        return
    swapped = all(-90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0 for lat, lon in points)
    if kind == "polygon":
        log.error("polygon_swapped" if swapped else "polygon_out_of_range", path, line, lat=bad[0], lon=bad[1])
    else:
        log.error("circle_swapped" if swapped else "circle_out_of_range", path, line, lat=bad[0], lon=bad[1])


def crosses_antimeridian(points: Sequence[Point]) -> bool:
    """True when the ring runs past ±180° or jumps more than half the globe between two neighbours."""
    if any(abs(lon) > 180.0 for _, lon in points):
        return True
    return any(abs(a[1] - b[1]) > 180.0 for a, b in itertools.pairwise(points))


def read_polygon(text: str, log: IssueLog, path: str, line: int | None) -> tuple[Point, ...] | None:
    """The points of one ``polygon``, closed; ``None`` when it has to be dropped (empty, unreadable, too short)."""
    raw = text.strip()
    if not raw:
        log.repair("polygon_empty_dropped", path, line)
        return None
    points: list[Point] = []
    stray = False
    for token in raw.split():
        point, had_stray = _pair(token)
        stray = stray or had_stray
        if point is None:
            paired = _numbers_in_pairs(raw)
            if paired is None:
                log.error("polygon_unparsable", path, line, token=token[:40])
                return None
            log.repair("coordinate_separators", path, line)
            points, stray = paired, False
            break
        points.append(point)
    if stray:
        log.repair("coordinate_stray_comma", path, line)
    _check_range(points, "polygon", log, path, line)
    if crosses_antimeridian(points):
        log.warning("polygon_crosses_antimeridian", path, line)
    if len(points) >= 3 and points[0] != points[-1]:
        points.append(points[0])
        log.repair("polygon_closed", path, line)
    if len(points) < 4:
        log.error("polygon_too_few_points", path, line, count=len(points))
        return None
    return tuple(points)


def read_circle(text: str, log: IssueLog, path: str, line: int | None) -> Circle | None:
    """One ``circle`` as (lat, lon, radius_km); ``None`` (dropped) when it is not ``lat,lon radius``."""
    parts = text.split()
    centre, _ = _pair(parts[0]) if len(parts) == 2 else (None, False)
    radius = _number(parts[1]) if len(parts) == 2 else None
    if centre is None or radius is None or radius < 0:
        log.error("circle_malformed", path, line, value=text.strip()[:60])
        return None
    _check_range([centre], "circle", log, path, line)
    return (centre[0], centre[1], radius)
