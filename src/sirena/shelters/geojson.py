"""Reading shelters from GeoJSON: a FeatureCollection (or one Feature), as OpenStreetMap exports and city open
data portals write it.

OpenStreetMap exports put the tags in ``properties`` (overpass turbo, osmtogeojson), in ``properties.tags``
(older osmtogeojson) or, for GDAL's OSM driver, partly in an ``other_tags`` string (``"k"=>"v",…``); all three
are read. A point is taken as is; a building or area outline gives a point inside it. Each feature's line is
the line where its ``{`` stands in the file, found by a scan that skips over strings.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import shapely
from shapely.geometry import shape

from sirena.errors import DataError
from sirena.shelters.fields import Record, coordinate, normalise_key
from sirena.shelters.report import RowProblem, Severity

__all__ = ["feature_lines", "records"]

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]|-?\d[\d.eE+-]*|true|false|null', re.S)
_OTHER_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def feature_lines(text: str) -> list[int]:
    """The 1-based line where each element of a FeatureCollection's ``features`` array starts."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    lines: list[int] = []
    depth = 0
    features_depth = -1
    previous = ""
    for match in _TOKENS.finditer(text):
        mark = match.group()
        if features_depth > 0 and depth == features_depth and mark not in "]}":
            lines.append(bisect.bisect_right(newlines, match.start()) + 1)  # an element of "features" starts
        if mark in "{[":
            if mark == "[" and depth == 1 and previous == '"features"':
                features_depth = depth + 1
            depth += 1
        elif mark in "]}":
            depth -= 1
            if depth < features_depth:
                features_depth = -1
        previous = mark
    return lines


def _tags(properties: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    nested = properties.get("tags")
    if isinstance(nested, Mapping):
        values.update({normalise_key(str(k)): v for k, v in nested.items()})
    other = properties.get("other_tags")
    if isinstance(other, str):
        for key, value in _OTHER_TAG.findall(other):
            values.setdefault(normalise_key(key.replace('\\"', '"')), value.replace('\\"', '"'))
    for key, value in properties.items():
        if key not in {"tags", "other_tags"} and not isinstance(value, Mapping | list):
            values[normalise_key(str(key))] = value
    return values


def _location(geometry: Any) -> tuple[float, float] | str | None:
    """(lat, lon), None for no geometry, or a reason the geometry is unusable."""
    if geometry is None:
        return None
    if not isinstance(geometry, Mapping):
        return "bad_geometry"
    if geometry.get("type") == "Point":
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            return "bad_geometry"
        lon, lat = coordinate(coords[0]), coordinate(coords[1])
        if lon is None or lat is None:
            return "bad_geometry"
        return lat, lon
    try:
        shaped = shape(geometry)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError):
        return "bad_geometry"
    if shaped.is_empty:
        return "bad_geometry"
    inner = shapely.point_on_surface(shapely.make_valid(shaped)) if not shaped.is_valid else shaped.point_on_surface()
    return float(inner.y), float(inner.x)


def records(text: str, problems: list[RowProblem]) -> Iterator[Record]:
    """Each feature as a record; features that are not objects are reported and left out."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError("shelters.bad_json", line=exc.lineno, column=exc.colno, reason=exc.msg) from None
    if isinstance(data, Mapping) and data.get("type") == "Feature":
        features: list[Any] = [data]
        lines = [1]
    elif (
        isinstance(data, Mapping) and data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list)
    ):
        features = data["features"]
        lines = feature_lines(text)
        if len(lines) != len(features):  # cannot happen for valid JSON; never report a wrong line
            lines = [0] * len(features)
    else:
        raise DataError("shelters.not_geojson")
    for row, (feature, line) in enumerate(zip(features, lines, strict=True), start=1):
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problems.append(RowProblem(line, row, Severity.ERROR, "not_a_feature"))
            continue
        properties = feature.get("properties")
        values = _tags(properties) if isinstance(properties, Mapping) else {}
        if "id" in feature and "@id" not in values:
            values["@id"] = feature["id"]
        location = _location(feature.get("geometry"))
        if isinstance(location, str):
            problems.append(RowProblem(line, row, Severity.ERROR, location, "geometry"))
            continue
        yield Record(line, row, values, location)
