"""The shelter directory: imports replace a source's shelters in one transaction; nearest-shelter queries are
answered from memory by a :class:`sirena.geo.NearestIndex`, or, on a PostgreSQL store with PostGIS, by the
database (a k-nearest scan of a GiST index: every node gives the same answer, nothing is loaded into memory).

The in-memory copy is checked against the store's import revision at most once per ``recheck_s`` seconds, so
an import made by another process (``sirena shelters import`` next to a running server) is seen within that.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from sirena.errors import ValidationFailed
from sirena.geo import NearestIndex, coords
from sirena.shelters.importer import read
from sirena.shelters.model import Shelter
from sirena.shelters.report import ImportReport
from sirena.store import targeting as sql
from sirena.store.postgis import geometry_of

__all__ = ["ShelterDirectory", "ShelterImportRefused", "Snapshot"]

LISTED_IN_PROBLEM = 100


class ShelterImportRefused(ValidationFailed):
    """The file has rows that cannot be imported, and a partial import was not asked for: nothing is stored."""

    slug = "shelter-import-refused"
    key = "shelters.refused"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every shelter at one import revision, with the arrays and index the queries use."""

    revision: int
    shelters: tuple[Shelter, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    index: NearestIndex

    @classmethod
    def of(cls, revision: int, shelters: list[Shelter]) -> Snapshot:
        lon = np.array([s.lon for s in shelters], dtype=np.float64)
        lat = np.array([s.lat for s in shelters], dtype=np.float64)
        return cls(revision, tuple(shelters), lon, lat, NearestIndex(lon, lat))

    def nearest(self, lat: float, lon: float, limit: int) -> list[tuple[Shelter, float]]:
        """The ``limit`` nearest shelters and their great-circle distances in metres, nearest first."""
        which, metres = self.index.nearest(lat, lon, limit)
        return [(self.shelters[i], d) for i, d in zip(which.tolist(), metres.tolist(), strict=True)]

    def within(self, west: float, south: float, east: float, north: float, limit: int) -> list[Shelter]:
        """Shelters in a longitude/latitude box (``west > east`` crosses the antimeridian), in import order."""
        lat_ok = (self.lat >= south) & (self.lat <= north)
        lon_ok = (self.lon >= west) & (self.lon <= east) if west <= east else (self.lon >= west) | (self.lon <= east)
        return [self.shelters[i] for i in np.flatnonzero(lat_ok & lon_ok)[:limit].tolist()]


class ShelterDirectory:
    def __init__(self, store: object, *, recheck_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.sql = sql.sql_access(store)
        self.recheck_s = recheck_s
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._checked_at = -math.inf
        self._lock = asyncio.Lock()

    async def import_file(
        self,
        data: bytes,
        *,
        source: str,
        name: str = "",
        fmt: str | None = None,
        content_type: str | None = None,
        partial: bool = False,
        actor: str = "local",
    ) -> ImportReport:
        """Read ``data`` and replace the shelters of ``source`` with it, all at once or not at all.

        Any row in error refuses the whole file (:class:`ShelterImportRefused`, listing the rows) unless
        ``partial`` is true, in which case the valid rows are imported and the others reported. A file with
        no valid shelter is always refused, so an import can never empty a source by mistake."""
        report = await asyncio.to_thread(read, data, source=source, name=name, fmt=fmt, content_type=content_type)
        errors = report.errors
        if errors and not partial:
            first = errors[0]
            raise ShelterImportRefused(
                "shelters.refused",
                count=len(errors),
                rows=report.rows,
                line=first.line,
                reason=first.message(),
                errors=[p.to_json() for p in errors[:LISTED_IN_PROBLEM]],
                errors_total=len(errors),
            )
        if not report.shelters:
            raise ShelterImportRefused("shelters.none_valid", rows=report.rows, errors_total=len(errors))
        now = datetime.now(UTC)
        record = await self.sql.transaction(
            lambda conn: sql.replace_shelters(
                conn,
                source,
                report.shelters,
                file=name,
                fmt=report.format,
                rejected=len(errors),
                at=now,
                actor=actor,
            )
        )
        report.stored = True
        report.replaced = record.replaced
        report.revision = record.revision
        self._checked_at = -math.inf
        return report

    async def snapshot(self) -> Snapshot:
        """The shelters as last imported (read again when an import has happened since)."""
        now = self._clock()
        current = self._snapshot
        if current is not None and now - self._checked_at < self.recheck_s:
            return current
        async with self._lock:
            current = self._snapshot
            if current is not None and self._clock() - self._checked_at < self.recheck_s:
                return current
            revision = await self.sql.read(sql.shelter_revision)
            if current is None or current.revision != revision:
                revision, shelters = await self.sql.read(sql.load_shelters)
                current = self._snapshot = await asyncio.to_thread(Snapshot.of, revision, shelters)
            self._checked_at = self._clock()
            return current

    async def nearest(self, lat: float, lon: float, limit: int = 5) -> list[tuple[Shelter, float]]:
        """The ``limit`` nearest shelters and their great-circle distances in metres, nearest first (ties in
        import order)."""
        if geometry_of(self.store).engine == "postgis":
            lat, lon = coords.point(lat, lon)
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise coords.invalid("k", repr(limit), "k must be a whole number, zero or more")
            return await self.sql.read(lambda conn: sql.nearest_shelters(conn, lat, lon, limit))
        return (await self.snapshot()).nearest(lat, lon, limit)

    async def within(self, west: float, south: float, east: float, north: float, limit: int) -> list[Shelter]:
        """Shelters in a longitude/latitude box (``west > east`` crosses the antimeridian), in import order."""
        if geometry_of(self.store).engine == "postgis":
            return await self.sql.read(lambda conn: sql.shelters_within(conn, west, south, east, north, limit))
        return (await self.snapshot()).within(west, south, east, north, limit)

    async def imports(self, limit: int = 100) -> list[sql.ShelterImport]:
        return await self.sql.read(lambda conn: sql.list_imports(conn, limit))
