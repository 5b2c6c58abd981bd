"""Region outlines and the spatial index that answers "which regions does this area touch?"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

__all__ = ["OutlineIndex"]


class OutlineIndex:
    """Outlines by region id, and an R-tree over the finest ones (those with no outlined descendant).

    Every outline is prepared once, so point and area tests against :meth:`get` results are fast too.
    """

    __slots__ = ("_finest", "_outlines", "_tree")

    def __init__(self, outlines: Mapping[str, BaseGeometry], finest: Iterable[str]) -> None:
        for outline in outlines.values():
            shapely.prepare(outline)
        self._outlines: Mapping[str, BaseGeometry] = MappingProxyType(dict(outlines))
        self._finest: tuple[str, ...] = tuple(finest)
        self._tree = STRtree([self._outlines[region_id] for region_id in self._finest])

    def get(self, region_id: str) -> BaseGeometry | None:
        return self._outlines.get(region_id)

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._outlines

    @property
    def finest(self) -> tuple[str, ...]:
        return self._finest

    def split(self, geom: BaseGeometry) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(covered, partial) ids among the finest outlines, in registry order.

        ``covered``: outlines lying wholly inside ``geom`` (boundary included). ``partial``: the others that share
        a point with it; when ``geom`` is an area, touching an outline only along its edge does not count.
        An invalid ``geom`` is repaired with ``make_valid`` first.
        """
        if geom is None or geom.is_empty or not self._finest:
            return (), ()
        if not shapely.is_valid(geom):
            geom = shapely.make_valid(geom)
        hits = np.sort(self._tree.query(geom, predicate="intersects"))
        if hits.size == 0:
            return (), ()
        candidates = self._tree.geometries.take(hits)
        prepared_here = not shapely.is_prepared(geom)
        if prepared_here:
            shapely.prepare(geom)
        try:
            covered = shapely.covers(geom, candidates)
            edge_only = shapely.touches(geom, candidates) if shapely.get_dimensions(geom) == 2 else None
        finally:
            if prepared_here:
                shapely.destroy_prepared(geom)
        full: list[str] = []
        part: list[str] = []
        for position, index in enumerate(hits.tolist()):
            region_id = self._finest[index]
            if covered[position]:
                full.append(region_id)
            elif edge_only is None or not edge_only[position]:
                part.append(region_id)
        return tuple(full), tuple(part)
