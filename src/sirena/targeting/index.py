"""The in-memory index of registered places: which subscribers an alert reaches, exactly, at national scale.

Places live in a *base* built in one go (a :class:`sirena.geo.PointIndex` over the points and a table of
(place, region) pairs sorted by region) plus small *deltas*: places added since, and places removed since. A
query answers from the base and patches in the deltas, so registering or deleting a place costs nothing here;
once the deltas grow past a fraction of the base, :meth:`PlaceIndex.plan` and :meth:`CompactionPlan.build` make a
new base (in a worker thread: it is pure numpy) and :meth:`PlaceIndex.install` swaps it in.

Matching follows :class:`~sirena.targeting.area.AlertArea`: points by geometry for polygon and circle alerts,
by their resolved regions for region alerts; region places by region for every alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sirena.geo import PointIndex
from sirena.targeting.area import AlertArea

__all__ = ["Compaction", "CompactionPlan", "Match", "PlaceColumns", "PlaceIndex"]

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]

_EMPTY_I64: I64 = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class PlaceColumns:
    """Places as columns, ``keys`` strictly increasing. ``pair_keys``/``pair_regions`` list each place's
    regions (for a point: those it was resolved to; for a region place: that region), as region codes."""

    keys: I64
    subscribers: I32
    points: NDArray[np.bool_]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    pair_keys: I64
    pair_regions: I32

    @classmethod
    def empty(cls) -> PlaceColumns:
        return cls(
            _EMPTY_I64,
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.bool_),
            np.empty(0),
            np.empty(0),
            _EMPTY_I64,
            np.empty(0, dtype=np.int32),
        )

    @classmethod
    def concat(cls, parts: Sequence[PlaceColumns]) -> PlaceColumns:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.keys for p in parts]),
            np.concatenate([p.subscribers for p in parts]),
            np.concatenate([p.points for p in parts]),
            np.concatenate([p.lon for p in parts]),
            np.concatenate([p.lat for p in parts]),
            np.concatenate([p.pair_keys for p in parts]),
            np.concatenate([p.pair_regions for p in parts]),
        )

    def without(self, removed: I64) -> PlaceColumns:
        if not removed.size:
            return self
        keep = ~np.isin(self.keys, removed)
        pairs = ~np.isin(self.pair_keys, removed)
        return PlaceColumns(
            self.keys[keep],
            self.subscribers[keep],
            self.points[keep],
            self.lon[keep],
            self.lat[keep],
            self.pair_keys[pairs],
            self.pair_regions[pairs],
        )

    def __len__(self) -> int:
        return int(self.keys.size)


@dataclass(frozen=True, slots=True)
class Match:
    """What an alert reaches: place keys (sorted) and subscriber codes (sorted, distinct)."""

    keys: I64
    subscribers: I32


class _Members:
    """(place, region) pairs sorted by region: the pairs of region ``c`` are ``[starts[c], starts[c + 1])``."""

    __slots__ = ("keys", "starts", "subs")

    def __init__(self, keys: I64, regions: I32, subs: I32, count: int) -> None:
        order = np.argsort(regions, kind="stable")
        self.starts: I64 = np.searchsorted(regions[order], np.arange(count + 1)).astype(np.int64)
        self.keys: I64 = keys[order]
        self.subs: I32 = subs[order]

    def of(self, codes: I32) -> tuple[I64, I32]:
        pos = _expand(self.starts[codes], self.starts[codes + 1])
        return self.keys[pos], self.subs[pos]


class _Base:
    """The immutable bulk of the index: the points (a quadtree), and region membership kept apart for
    points (used by region alerts only) and for region places (used by every alert)."""

    __slots__ = ("columns", "point_keys", "point_members", "point_subs", "points", "region_members")

    def __init__(self, columns: PlaceColumns, regions: int) -> None:
        self.columns = columns
        p = columns.points
        self.points = PointIndex(columns.lon[p], columns.lat[p])
        self.point_keys = columns.keys[p]
        self.point_subs = columns.subscribers[p]
        where = np.searchsorted(columns.keys, columns.pair_keys)
        of_point = columns.points[where]
        pair_subs = columns.subscribers[where]
        self.point_members = _Members(
            columns.pair_keys[of_point], columns.pair_regions[of_point], pair_subs[of_point], regions
        )
        self.region_members = _Members(
            columns.pair_keys[~of_point], columns.pair_regions[~of_point], pair_subs[~of_point], regions
        )


@dataclass(frozen=True, slots=True)
class Compaction:
    base: _Base
    added: int
    removed: frozenset[int]


@dataclass(frozen=True, slots=True)
class CompactionPlan:
    columns: PlaceColumns
    added: tuple[PlaceColumns, ...]
    removed: frozenset[int]
    regions: int

    def build(self) -> Compaction:
        """The new base (pure: safe in a worker thread)."""
        keys = np.fromiter(self.removed, dtype=np.int64, count=len(self.removed))
        columns = PlaceColumns.concat([self.columns, *self.added]).without(keys)
        return Compaction(_Base(columns, self.regions), len(self.added), self.removed)


class PlaceIndex:
    """Places by key, subscriber code and region code (see :class:`PlaceColumns`); used from one thread."""

    def __init__(self, columns: PlaceColumns | Compaction, regions: int) -> None:
        self.regions = regions
        self._base = columns.base if isinstance(columns, Compaction) else _Base(columns, regions)
        self._added: list[PlaceColumns] = []
        self._removed: set[int] = set()
        self._added_cache: PlaceColumns | None = None
        self._removed_cache: I64 | None = None

    def __len__(self) -> int:
        return len(self._base.columns) + sum(len(p) for p in self._added) - len(self._removed)

    @property
    def pending(self) -> int:
        """Changes not yet in the base."""
        return sum(len(p) for p in self._added) + len(self._removed)

    def wants_compaction(self) -> bool:
        return self.pending > max(4096, len(self._base.columns) // 16)

    # -- changes -------------------------------------------------------------------------------------------

    def add(self, columns: PlaceColumns) -> None:
        """New places; their keys must be larger than every key already here."""
        if len(columns):
            self._added.append(columns)
            self._added_cache = None

    def remove(self, keys: Iterable[int]) -> None:
        self._removed.update(int(k) for k in keys)
        self._removed_cache = None

    def plan(self) -> CompactionPlan:
        """What a compaction would absorb: every change so far (cheap; call it from the owning thread, then run
        :meth:`CompactionPlan.build` anywhere and :meth:`install` the result from the owning thread)."""
        return CompactionPlan(self._base.columns, tuple(self._added), frozenset(self._removed), self.regions)

    def install(self, compaction: Compaction) -> None:
        """Swap in a new base; changes made since its plan stay as deltas."""
        self._base = compaction.base
        del self._added[: compaction.added]
        self._removed -= compaction.removed
        self._added_cache = None
        self._removed_cache = None

    # -- queries -------------------------------------------------------------------------------------------

    def match(self, area: AlertArea, affected_codes: I32) -> Match:
        """The places ``area`` reaches; ``affected_codes`` are the codes of ``area.affected``."""
        base = self._base
        keys: list[I64] = []
        subs: list[I32] = []
        # By region: region places in an affected region; for region alerts, points resolved to one too.
        codes = affected_codes[affected_codes < self.regions]
        if codes.size:
            for members in (base.region_members,) if area.is_geometry else (base.region_members, base.point_members):
                k, s = members.of(codes)
                keys.append(k)
                subs.append(s)
        # By geometry: the points inside.
        if area.circle is not None:
            c = area.circle
            hit = base.points.query_circle(c.lat, c.lon, c.radius_km)
        elif area.geometry is not None:
            hit = base.points.query(area.geometry)
        else:
            hit = _EMPTY_I64
        keys.append(base.point_keys[hit])
        subs.append(base.point_subs[hit])
        if self._added:
            k, s = self._match_added(area, affected_codes)
            keys.append(k)
            subs.append(s)
        all_keys = np.concatenate(keys)
        all_subs = np.concatenate(subs)
        if self._removed:
            keep = ~np.isin(all_keys, self._removed_keys())
            all_keys, all_subs = all_keys[keep], all_subs[keep]
        return Match(_distinct(all_keys), _distinct(all_subs).astype(np.int32, copy=False))

    def _match_added(self, area: AlertArea, affected_codes: I32) -> tuple[I64, I32]:
        added = self._added_columns()
        by_region = added.pair_keys[np.isin(added.pair_regions, affected_codes)]
        mask = np.isin(added.keys, by_region)
        if area.is_geometry:
            mask &= ~added.points
            mask |= added.points & area.points_inside(added.lon, added.lat)
        return added.keys[mask], added.subscribers[mask]

    def _added_columns(self) -> PlaceColumns:
        if self._added_cache is None:
            self._added_cache = PlaceColumns.concat(self._added)
        return self._added_cache

    def _removed_keys(self) -> I64:
        if self._removed_cache is None:
            self._removed_cache = np.fromiter(self._removed, dtype=np.int64, count=len(self._removed))
        return self._removed_cache


def _distinct(values: NDArray[Any]) -> NDArray[Any]:
    """Sorted distinct values (a sort and a comparison: faster here than ``numpy.unique``'s hashing)."""
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _expand(starts: I64, ends: I64) -> I64:
    """All positions in the half-open slices ``[start, end)``."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return _EMPTY_I64
    offsets = np.cumsum(lengths) - lengths
    positions: I64 = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
    return positions
