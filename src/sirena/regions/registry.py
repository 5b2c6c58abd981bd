"""The region registry: a country's tree of regions, looked up by id, name, level or area."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from shapely.geometry.base import BaseGeometry

from sirena.errors import RegionNotFound
from sirena.regions.names import NameIndex
from sirena.regions.outlines import OutlineIndex
from sirena.regions.region import Region

__all__ = ["RegionRegistry"]


class RegionRegistry:
    """An immutable tree of regions with a single root (the country).

    Build one with :func:`sirena.regions.load_builtin` or :func:`sirena.regions.load_file`; the constructor
    expects regions that already form a valid tree (the loaders check that and report what is wrong). All
    indexes are built up front, so every query afterwards is a dictionary lookup or an R-tree search, and the
    registry can be shared between threads.
    """

    __slots__ = (
        "_by_level",
        "_depth",
        "_descendants",
        "_names",
        "_outlines",
        "_regions",
        "attribution",
        "country",
        "root_id",
    )

    def __init__(
        self,
        regions: Iterable[Region],
        *,
        root_id: str,
        country: str | None = None,
        outlines: Mapping[str, BaseGeometry] | None = None,
        attribution: str | None = None,
    ) -> None:
        self._regions: Mapping[str, Region] = MappingProxyType({r.id: r for r in regions})
        self.root_id = root_id
        self.country = country or root_id
        self.attribution = attribution
        order = self._preorder()
        self._depth: Mapping[str, int] = MappingProxyType(self._depths(order))
        self._descendants: Mapping[str, frozenset[str]] = MappingProxyType(self._all_descendants(order))
        by_level: dict[str, list[Region]] = {}
        for region in self._regions.values():
            by_level.setdefault(region.level, []).append(region)
        self._by_level: Mapping[str, tuple[Region, ...]] = MappingProxyType(
            {level: tuple(found) for level, found in by_level.items()}
        )
        self._names = NameIndex(self._regions.values())
        shapes = dict(outlines or {})
        finest = [
            region.id
            for region in self._regions.values()
            if region.id in shapes and not any(d in shapes for d in self._descendants[region.id])
        ]
        self._outlines = OutlineIndex(shapes, finest)

    # -- the mapping of ids -------------------------------------------------------------------------------

    def get(self, region_id: str) -> Region:
        """The region with ``region_id``; raises :class:`~sirena.errors.RegionNotFound`."""
        try:
            return self._regions[region_id]
        except (KeyError, TypeError):
            raise RegionNotFound("regions.not_found", region_id=str(region_id)) from None

    def __contains__(self, region_id: object) -> bool:
        return isinstance(region_id, str) and region_id in self._regions

    def __iter__(self) -> Iterator[Region]:
        """Every region, in the order of the file it came from."""
        return iter(self._regions.values())

    def __len__(self) -> int:
        return len(self._regions)

    def __repr__(self) -> str:
        return f"<RegionRegistry {self.country}: {len(self)} regions>"

    # -- the tree -------------------------------------------------------------------------------------------

    def ancestors(self, region_id: str) -> tuple[str, ...]:
        """Ids above the region, nearest first, up to and including the root (empty for the root)."""
        found: list[str] = []
        parent = self.get(region_id).parent_id
        while parent is not None:
            found.append(parent)
            parent = self._regions[parent].parent_id
        return tuple(found)

    def descendants(self, region_id: str) -> frozenset[str]:
        """Ids of every region below this one, not including itself."""
        self.get(region_id)
        return self._descendants[region_id]

    def oblast_of(self, region_id: str) -> str | None:
        """The top-level region (child of the root) that is this region or contains it; None for the root.

        For Ukraine that is the oblast-level region: an oblast, Crimea, Kyiv or Sevastopol.
        """
        region = self.get(region_id)
        if region.parent_id is None:
            return None
        while region.parent_id != self.root_id and region.parent_id is not None:
            region = self._regions[region.parent_id]
        return region.id

    def depth(self, region_id: str) -> int:
        """How many steps below the root the region is (0 for the root, 1 for an oblast)."""
        self.get(region_id)
        return self._depth[region_id]

    def children(self, region_id: str) -> tuple[Region, ...]:
        return tuple(self._regions[child] for child in self.get(region_id).children)

    def by_level(self, level: str) -> tuple[Region, ...]:
        """Every region at ``level`` ("oblast", "raion", …), in file order; empty for an unknown level."""
        return self._by_level.get(level, ())

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels used, in the order they first appear."""
        return tuple(self._by_level)

    # -- outlines --------------------------------------------------------------------------------------------

    def geometry(self, region_id: str) -> BaseGeometry | None:
        """The region's outline (a prepared shapely Polygon or MultiPolygon, lon/lat), or None if it has none."""
        self.get(region_id)
        return self._outlines.get(region_id)

    def regions_for_geometry(self, geom: BaseGeometry) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(covered, partial) region ids for an area, point or line given in lon/lat.

        Only the finest outlined regions are considered: those with an outline and no outlined descendant (the
        oblast level for Ukraine today). ``covered`` are those whose whole outline lies within ``geom``;
        ``partial`` those it only intersects. An area touching an outline only along its edge is in neither.
        """
        return self._outlines.split(geom)

    # -- names -----------------------------------------------------------------------------------------------

    def find(self, name: str, lang: str | None = None, *, within: str | None = None) -> Region | None:
        """The one region called ``name``, or None when no region, or more than one, bears it.

        Names and aliases in every language are matched (only ``lang`` when given), ignoring case, the
        apostrophe variant (’ ' ʼ `) and runs of whitespace. ``within`` limits the search to that region and
        its descendants, which resolves names shared by hromadas in different oblasts.
        """
        found = self.find_all(name, lang, within=within)
        return found[0] if len(found) == 1 else None

    def find_all(self, name: str, lang: str | None = None, *, within: str | None = None) -> tuple[Region, ...]:
        """Every region called ``name`` (see :meth:`find`), in file order."""
        ids = self._names.lookup(name, lang)
        if within is not None:
            scope = self.descendants(within) | {within}
            ids = tuple(i for i in ids if i in scope)
        return tuple(self._regions[i] for i in ids)

    # -- export ----------------------------------------------------------------------------------------------

    def to_tree(self, lang: str | None = None, *, root: str | None = None) -> dict[str, Any]:
        """The tree as nested JSON-ready dicts ``{id, level, names, codes, children: [...]}``.

        With ``lang``, each node carries ``name`` (in that language, see :meth:`Region.name`) instead of the
        ``names`` mapping. ``root`` picks a subtree (the whole country by default).
        """
        return self._node(self.get(root if root is not None else self.root_id), lang)

    def _node(self, region: Region, lang: str | None) -> dict[str, Any]:
        node: dict[str, Any] = {"id": region.id, "level": region.level}
        if lang is None:
            node["names"] = dict(region.names)
        else:
            node["name"] = region.name(lang)
        node["codes"] = dict(region.codes)
        node["children"] = [self._node(self._regions[child], lang) for child in region.children]
        return node

    # -- construction helpers --------------------------------------------------------------------------------

    def _preorder(self) -> list[str]:
        order: list[str] = []
        stack = [self.root_id]
        while stack:
            region_id = stack.pop()
            order.append(region_id)
            stack.extend(reversed(self._regions[region_id].children))
        return order

    def _depths(self, order: list[str]) -> dict[str, int]:
        depth: dict[str, int] = {}
        for region_id in order:
            parent = self._regions[region_id].parent_id
            depth[region_id] = 0 if parent is None else depth[parent] + 1
        return depth

    def _all_descendants(self, order: list[str]) -> dict[str, frozenset[str]]:
        below: dict[str, frozenset[str]] = {}
        for region_id in reversed(order):
            children = self._regions[region_id].children
            collected: set[str] = set(children)
            for child in children:
                collected |= below[child]
            below[region_id] = frozenset(collected)
        return below
