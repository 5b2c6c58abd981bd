"""The region file format: reading it with full validation, and writing it back.

A region file is one JSON document, in either of two shapes (described in ``docs/regions.md``)::

    {"format": "sirena-regions/1", "country": "UA", "attribution": "...",
     "regions": [{"id": "UA", "parent": null, "level": "country", "names": {"uk": "Україна", "en": "Ukraine"},
                  "codes": {...}, "aliases": {"en": [...]}, "geometry": {GeoJSON Polygon or MultiPolygon}}, ...]}

    {"type": "FeatureCollection", "country": "UA", "features": [
        {"type": "Feature", "id": "UA", "geometry": {...} or null,
         "properties": {"parent": null, "level": "country", "names": {...}, "codes": {...}, "aliases": {...}}}]}

Every problem is reported as a :class:`~sirena.errors.DataError` naming the file, the entry and the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from sirena.errors import DataError
from sirena.regions.region import Region
from sirena.regions.registry import RegionRegistry

__all__ = ["FORMAT", "dump_data", "dumps", "load_data", "load_file", "write_file"]

FORMAT = "sirena-regions/1"
_FIELDS = frozenset({"id", "parent", "level", "names", "codes", "aliases", "geometry"})
_AREAS = frozenset({"Polygon", "MultiPolygon"})


@dataclass(slots=True)
class _Entry:
    label: str
    id: str
    parent: str | None
    level: str
    names: Mapping[str, str]
    codes: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]]
    geometry: BaseGeometry | None


def load_file(path: str | Path) -> RegionRegistry:
    """A registry from a region file (plain or GeoJSON shape); raises :class:`DataError` naming what is wrong."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError("regions.file.unreadable", file=source, reason=str(exc)) from exc
    return load_data(data, source=source)


def load_data(data: Any, *, source: str = "<data>") -> RegionRegistry:
    """A registry from an already-parsed region document; ``source`` names it in error messages."""
    if not isinstance(data, Mapping):
        raise DataError("regions.file.shape", file=source)
    if data.get("type") == "FeatureCollection":
        items, kind = data.get("features"), "features"
    else:
        items, kind = data.get("regions"), "regions"
        declared = data.get("format", FORMAT)
        if declared != FORMAT:
            raise DataError("regions.file.format", file=source, format=str(declared), expected=FORMAT)
    if not isinstance(items, list):
        raise DataError("regions.file.shape", file=source)
    if not items:
        raise DataError("regions.file.empty", file=source)
    country = _optional_text(data, "country", source)
    attribution = _optional_text(data, "attribution", source)
    entries = _read_entries(items, kind, source)
    root_id = _check_tree(entries, source)
    children: dict[str, list[str]] = {entry.id: [] for entry in entries.values()}
    for entry in entries.values():
        if entry.parent is not None:
            children[entry.parent].append(entry.id)
    regions = [
        Region(
            id=entry.id,
            level=entry.level,
            names=entry.names,
            parent_id=entry.parent,
            children=tuple(children[entry.id]),
            codes=entry.codes,
            aliases=entry.aliases,
        )
        for entry in entries.values()
    ]
    outlines = {e.id: e.geometry for e in entries.values() if e.geometry is not None}
    return RegionRegistry(regions, root_id=root_id, country=country, outlines=outlines, attribution=attribution)


def dump_data(registry: RegionRegistry) -> dict[str, Any]:
    """The registry as a plain-shape region document (what :func:`load_data` reads back to an equal registry)."""
    document: dict[str, Any] = {"format": FORMAT, "country": registry.country}
    if registry.attribution:
        document["attribution"] = registry.attribution
    document["regions"] = [_record(registry, region) for region in _preorder(registry)]
    return document


def dumps(registry: RegionRegistry) -> str:
    """The region document as text: one region per line, parents before children, so diffs stay readable."""
    document = dump_data(registry)
    records = document.pop("regions")
    head = "".join(
        f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n" for key, value in document.items()
    )
    lines = ",\n".join("    " + json.dumps(record, ensure_ascii=False) for record in records)
    return f'{{\n{head}  "regions": [\n{lines}\n  ]\n}}\n'


def write_file(registry: RegionRegistry, path: str | Path) -> None:
    """Write the registry as a region file (UTF-8, see :func:`dumps`)."""
    Path(path).write_text(dumps(registry), encoding="utf-8")


# -- reading -------------------------------------------------------------------------------------------------


def _optional_text(data: Mapping[str, Any], field: str, source: str) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and value):
        return value
    raise DataError("regions.file.field", file=source, field=field)


def _read_entries(items: list[Any], kind: str, source: str) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    for index, item in enumerate(items):
        label = f"{kind}[{index}]"
        if not isinstance(item, Mapping):
            raise DataError("regions.entry.not_object", file=source, entry=label)
        if kind == "features":
            properties = item.get("properties")
            properties = {} if properties is None else properties
            if not isinstance(properties, Mapping):
                raise DataError("regions.entry.not_object", file=source, entry=label)
            fields = {**properties, "id": item.get("id", properties.get("id")), "geometry": item.get("geometry")}
            entry = _read_entry(fields, label, source, strict=False)
        else:
            entry = _read_entry(item, label, source, strict=True)
        if entry.id in entries:
            raise DataError(
                "regions.entry.duplicate_id",
                file=source,
                entry=entry.label,
                region_id=entry.id,
                first=entries[entry.id].label,
            )
        entries[entry.id] = entry
    return entries


def _read_entry(fields: Mapping[str, Any], label: str, source: str, *, strict: bool) -> _Entry:
    region_id = _ident(fields.get("id"))
    if region_id is None:
        raise DataError("regions.entry.bad_id", file=source, entry=label)
    label = f'{label} (id "{region_id}")'
    unknown = [str(name) for name in fields if name not in _FIELDS] if strict else []
    if unknown:
        raise DataError("regions.entry.unknown_field", file=source, entry=label, field=unknown[0])
    raw_parent = fields.get("parent")
    parent = None if raw_parent is None else _ident(raw_parent)
    if raw_parent is not None and parent is None:
        raise DataError("regions.entry.bad_parent", file=source, entry=label)
    level = fields.get("level")
    if not isinstance(level, str) or not level.strip():
        raise DataError("regions.entry.bad_level", file=source, entry=label)
    names = _text_map(fields.get("names"))
    if not names:
        raise DataError("regions.entry.bad_names", file=source, entry=label)
    codes = _text_map(fields.get("codes") or {})
    if codes is None:
        raise DataError("regions.entry.bad_codes", file=source, entry=label)
    aliases = _alias_map(fields.get("aliases") or {})
    if aliases is None:
        raise DataError("regions.entry.bad_aliases", file=source, entry=label)
    geometry = _geometry(fields.get("geometry"), label, source)
    return _Entry(label, region_id, parent, level, names, codes, aliases, geometry)


def _ident(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _text_map(value: Any) -> Mapping[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    if not all(isinstance(k, str) and k and isinstance(v, str) and v.strip() for k, v in value.items()):
        return None
    return MappingProxyType(dict(value))


def _alias_map(value: Any) -> Mapping[str, tuple[str, ...]] | None:
    if not isinstance(value, Mapping):
        return None
    result: dict[str, tuple[str, ...]] = {}
    for lang, names in value.items():
        if not isinstance(lang, str) or not lang or not isinstance(names, list):
            return None
        if not all(isinstance(name, str) and name.strip() for name in names):
            return None
        result[lang] = tuple(names)
    return MappingProxyType(result)


def _geometry(value: Any, label: str, source: str) -> BaseGeometry | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else type(value).__name__
    if kind not in _AREAS:
        raise DataError("regions.entry.geometry_type", file=source, entry=label, type=str(kind))
    try:
        geom = shapely.force_2d(shape(value))
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, ShapelyError) as exc:
        raise DataError("regions.entry.bad_geometry", file=source, entry=label, reason=str(exc)) from exc
    if geom.is_empty:
        reason = "empty geometry"
    elif not shapely.is_valid(geom):
        reason = str(shapely.is_valid_reason(geom))
    else:
        west, south, east, north = geom.bounds
        in_range = -180 <= west <= east <= 180 and -90 <= south <= north <= 90
        reason = "" if in_range and all(map(math.isfinite, geom.bounds)) else "coordinates are not lon/lat"
    if reason:
        raise DataError("regions.entry.bad_geometry", file=source, entry=label, reason=reason)
    return geom


def _check_tree(entries: Mapping[str, _Entry], source: str) -> str:
    """The root id, once every parent exists and the parent links form one tree."""
    roots = []
    for entry in entries.values():
        if entry.parent is None:
            roots.append(entry.id)
        elif entry.parent not in entries:
            raise DataError("regions.entry.unknown_parent", file=source, entry=entry.label, parent=entry.parent)
    rooted: set[str] = set()
    for entry in entries.values():
        cycle = _walk_up(entry.id, entries, rooted)
        if cycle:
            raise DataError("regions.entry.cycle", file=source, entry=entry.label, cycle=" → ".join(cycle))
    if not roots:
        raise DataError("regions.file.no_root", file=source)
    if len(roots) > 1:
        listed = ", ".join(f'"{r}"' for r in roots[:5]) + (", …" if len(roots) > 5 else "")
        raise DataError("regions.file.several_roots", file=source, count=len(roots), roots=listed)
    return roots[0]


def _walk_up(start: str, entries: Mapping[str, _Entry], rooted: set[str]) -> list[str]:
    """Follow parents from ``start``; the ids of the cycle met on the way, or [] (marking the path rooted)."""
    on_path: dict[str, int] = {}
    path: list[str] = []
    current: str | None = start
    while current is not None and current not in rooted:
        if current in on_path:
            return [*path[on_path[current] :], current]
        on_path[current] = len(path)
        path.append(current)
        current = entries[current].parent
    rooted.update(path)
    return []


# -- writing -------------------------------------------------------------------------------------------------


def _preorder(registry: RegionRegistry) -> list[Region]:
    order: list[Region] = []
    stack = [registry.get(registry.root_id)]
    while stack:
        region = stack.pop()
        order.append(region)
        stack.extend(reversed(registry.children(region.id)))
    return order


def _record(registry: RegionRegistry, region: Region) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": region.id,
        "parent": region.parent_id,
        "level": region.level,
        "names": dict(region.names),
    }
    if region.codes:
        record["codes"] = dict(region.codes)
    if region.aliases:
        record["aliases"] = {lang: list(names) for lang, names in region.aliases.items()}
    outline = registry.geometry(region.id)
    if outline is not None:
        record["geometry"] = mapping(outline)
    return record
