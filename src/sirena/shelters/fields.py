"""From one record (a GeoJSON feature's properties or a CSV row) to a shelter's fields.

Both formats go through :func:`build`: it finds each field under the names OpenStreetMap exports and city open
data use (English and Ukrainian), checks the location, and reads capacity and accessibility, noting what it
could not read. Pure functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sirena.shelters.model import Accessibility, Shelter
from sirena.shelters.report import RowProblem, Severity

__all__ = ["ALIASES", "Record", "build", "coordinate", "normalise_key"]

ALIASES: dict[str, tuple[str, ...]] = {
    "ref": ("@id", "id", "ref", "osm_id", "код", "номер", "№"),
    "name": ("name", "name:uk", "name:en", "назва", "найменування", "назва укриття", "title"),
    "lat": ("lat", "@lat", "latitude", "y", "широта"),
    "lon": ("lon", "@lon", "lng", "long", "longitude", "x", "довгота"),
    "capacity": ("capacity", "capacity:persons", "місткість", "кількість місць", "місць", "осіб"),
    "accessibility": ("wheelchair", "accessibility", "доступність", "інклюзивність", "доступ для маломобільних"),
    "hours": ("opening_hours", "hours", "години роботи", "режим роботи", "графік роботи"),
    "address": ("addr:full", "address", "адреса", "місцезнаходження"),
    "kind": ("shelter_type", "type", "тип", "тип укриття"),
}
"""Names each field is looked for under, in order of preference (compared after :func:`normalise_key`)."""

_YES = {"yes", "y", "true", "1", "так", "є", "наявна", "наявний", "доступне", "доступний", "+", "designated"}
_LIMITED = {"limited", "partial", "partially", "частково", "обмежено", "обмежений"}
_NO = {"no", "n", "false", "0", "ні", "немає", "відсутня", "відсутній", "недоступне", "-"}
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?$")
_LEADING_INT = re.compile(r"^(\d[\d\s\u00a0\u202f]*)(?:\D.*)?$")
_MAX_TEXT = 500


def normalise_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


@dataclass(frozen=True, slots=True)
class Record:
    """One row or feature: where it starts, its position, its values by normalised key, and a location taken
    from a geometry (None when the values must give it)."""

    line: int
    row: int
    values: Mapping[str, Any]
    location: tuple[float, float] | None = None
    kind: str | None = None


def text(value: Any) -> str | None:
    if value is None:
        return None
    found = " ".join(str(value).split())
    return found[:_MAX_TEXT] or None


def coordinate(value: Any) -> float | None:
    """A number, also written with a decimal comma; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = text(value)
    if found is None or not _NUMBER.match(found):
        return None
    return float(found.replace(",", "."))


def _pick(values: Mapping[str, Any], field: str) -> tuple[str | None, Any]:
    """The first of the field's names that holds something other than blanks, and its value."""
    for name in ALIASES[field]:
        value = values.get(name)
        if value is not None and (not isinstance(value, str) or (value and not value.isspace())):
            return name, value
    return None, None


def _capacity(value: Any) -> int | bool | None:
    """An int, None (not given), or False (given but unreadable)."""
    if value is None or isinstance(value, bool):
        return None if value is None else False
    if isinstance(value, int):
        return value if value >= 0 else False
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else False
    found = text(value)
    if found is None:
        return None
    match = _LEADING_INT.match(found)
    if match is None:
        return False
    return int(re.sub(r"\D", "", match.group(1)))


def _accessibility(value: Any) -> Accessibility | bool | None:
    found = text(value)
    if found is None:
        return None
    word = found.lower()
    for words, level in ((_YES, Accessibility.YES), (_LIMITED, Accessibility.LIMITED), (_NO, Accessibility.NO)):
        if word in words:
            return level
    return False


def _address(values: Mapping[str, Any]) -> str | None:
    _, full = _pick(values, "address")
    if full is not None:
        return text(full)
    parts = [text(values.get(k)) for k in ("addr:street", "addr:housenumber", "addr:city")]
    street = ", ".join(p for p in parts if p)
    return street or None


def build(record: Record, source: str, problems: list[RowProblem]) -> Shelter | None:
    """The shelter a record describes, or None (with the reason appended to ``problems``)."""
    values = record.values

    def problem(severity: Severity, reason: str, field: str | None = None, value: Any = None) -> None:
        shown = None if value is None else str(value)[:200]
        problems.append(RowProblem(record.line, record.row, severity, reason, field, shown))

    kind = text(values.get("shelter_type")) or record.kind
    osm_tagged = "amenity" in values or "shelter_type" in values
    if osm_tagged and text(values.get("shelter_type")) != "bomb_shelter":  # OSM: only air-raid shelters count
        given = text(values.get("shelter_type"))
        problem(Severity.SKIPPED, "not_air_raid_shelter" if given else "no_shelter_type", "shelter_type", given)
        return None
    lat_field: str | None = "geometry"
    lon_field: str | None = "geometry"
    if record.location is not None:
        lat, lon = record.location
    else:
        lat_field, lat_raw = _pick(values, "lat")
        lon_field, lon_raw = _pick(values, "lon")
        if lat_raw is None or lon_raw is None:
            problem(Severity.ERROR, "no_location", "lat" if lat_raw is None else "lon")
            return None
        lat_value, lon_value = coordinate(lat_raw), coordinate(lon_raw)
        if lat_value is None or lon_value is None:
            bad = (lat_field, lat_raw) if lat_value is None else (lon_field, lon_raw)
            problem(Severity.ERROR, "bad_number", bad[0], bad[1])
            return None
        lat, lon = lat_value, lon_value
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        problem(Severity.ERROR, "out_of_range", lat_field if not -90 <= lat <= 90 else lon_field, f"{lat}, {lon}")
        return None
    if lat == 0 and lon == 0:
        problem(Severity.ERROR, "zero_location", lat_field, "0, 0")
        return None
    capacity_field, capacity_raw = _pick(values, "capacity")
    capacity = _capacity(capacity_raw)
    if capacity is False:
        problem(Severity.WARNING, "bad_capacity", capacity_field, capacity_raw)
    access_field, access_raw = _pick(values, "accessibility")
    access = _accessibility(access_raw)
    if access is False:
        problem(Severity.WARNING, "bad_accessibility", access_field, access_raw)
    _, ref_raw = _pick(values, "ref")
    _, name = _pick(values, "name")
    _, hours = _pick(values, "hours")
    if kind is None:
        _, kind_raw = _pick(values, "kind")
        kind = text(kind_raw)
    ref = text(ref_raw) or ""
    return Shelter(
        id=f"{source}:{ref}",
        source=source,
        ref=ref,
        lat=float(lat),
        lon=float(lon),
        name=text(name),
        capacity=capacity if isinstance(capacity, int) and not isinstance(capacity, bool) else None,
        accessibility=access if isinstance(access, Accessibility) else None,
        hours=text(hours),
        address=_address(values),
        kind=kind,
        line=record.line,
    )
