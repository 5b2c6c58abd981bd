"""The history of one database: import, statistics, listings, export pages and replay plans, over a store and
a region registry. The CLI and the HTTP API are thin adapters over :class:`History`."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sirena.domain.model import Alert, Kind, Source, Status
from sirena.errors import UnknownRegion, ValidationFailed
from sirena.history.importer import IMPORT_LEASE, HistoryFile, Progress, import_history, sql_store
from sirena.history.records import to_ms
from sirena.history.report import ImportReport
from sirena.history.stats import StatsQuery, StatsResult, assemble, plan
from sirena.protocol.alert_json import alert_from_dict, format_time, parse_time
from sirena.regions import RegionRegistry
from sirena.store import history as sql
from sirena.store.history import ExportRow, HistoryFilter
from sirena.store.sql import Connection

if TYPE_CHECKING:
    from sirena.cluster import Leases

__all__ = ["STATS_SOURCES", "History", "ReplayItem", "parse_choices"]

STATS_SOURCES = frozenset({Source.OFFICIAL.value, Source.SIRENA.value, Source.CAP.value})
"""Sources summed by default: every one but ``volunteer``, which records the same alerts as the official channel
a second time."""


def parse_choices(
    value: str | Iterable[str] | None, kind: type[Source] | type[Kind] | type[Status], field: str
) -> frozenset[str] | None:
    """``"official,cap"`` → ``{"official", "cap"}``; ``"all"`` → ``None`` (no filter); blank → ``None``."""
    if value is None:
        return None
    parts = [p.strip() for p in (value.split(",") if isinstance(value, str) else value) if p.strip()]
    if not parts or "all" in parts:
        return None
    known = {k.value for k in kind}
    for part in parts:
        if part not in known:
            raise ValidationFailed("error.bad_choice", field=field, value=part, choices=sorted(known))
    return frozenset(parts)


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """An alert to re-issue: the original's id, region and kind, and when it started and ended (UTC ms)."""

    alert_id: str
    region_id: str
    kind: Kind
    started_ms: int
    ended_ms: int


class History:
    def __init__(self, store: object, registry: RegionRegistry) -> None:
        self.store = store
        self.sql = sql_store(store)
        self.registry = registry

    # -- regions ---------------------------------------------------------------------------------------------

    def check_region(self, region_id: str, field: str = "region") -> str:
        if region_id not in self.registry:
            raise UnknownRegion("error.unknown_region", field=field, value=region_id)
        return region_id

    def scope(self, region_id: str | None, descendants: bool) -> frozenset[str] | None:
        """The region ids a query covers; ``None`` for everything (no region, or the root with descendants)."""
        if region_id is None:
            return None
        self.check_region(region_id)
        if not descendants:
            return frozenset({region_id})
        if region_id == self.registry.root_id:
            return None
        return frozenset({region_id, *self.registry.descendants(region_id)})

    # -- import ----------------------------------------------------------------------------------------------

    async def import_files(
        self,
        files: Sequence[HistoryFile],
        *,
        progress: Progress | None = None,
        keep_unmatched: bool = False,
        leases: Leases | None = None,
    ) -> ImportReport:
        """Import ``files`` (see :func:`~sirena.history.importer.import_history`), under :data:`IMPORT_LEASE` of
        ``leases`` when given: an import whose lease is lost keeps what it wrote for whoever holds the lease now."""
        take_back = None if leases is None else (lambda: IMPORT_LEASE in leases.held)
        return await import_history(
            self.store, self.registry, files, progress=progress, keep_unmatched=keep_unmatched, take_back=take_back
        )

    # -- statistics ------------------------------------------------------------------------------------------

    async def stats(self, query: StatsQuery) -> StatsResult:
        """Buckets from the rollups alone (see :mod:`sirena.history.stats`)."""
        regions = self.scope(query.region_id, query.descendants)
        bounds = query.bounds()
        days, hours = plan(bounds)
        common = {
            "regions": sorted(regions) if regions is not None else None,
            "sources": sorted(query.sources) if query.sources is not None else None,
            "kinds": sorted(query.kinds) if query.kinds is not None else None,
        }

        def read(conn: Connection) -> list[tuple[int, int, int]]:
            return sql.rollup_buckets(conn, "day", days, **common) + sql.rollup_buckets(conn, "hour", hours, **common)

        rows = await self.sql.read(read)
        count = len(regions) if regions is not None else len(self.registry)
        return StatsResult(query, tuple(assemble(query, bounds, rows)), count)

    # -- listing and export ----------------------------------------------------------------------------------

    def history_filter(
        self,
        region_id: str | None,
        *,
        descendants: bool,
        start: datetime | None = None,
        end: datetime | None = None,
        sources: frozenset[str] | None = None,
        kinds: frozenset[str] | None = None,
        statuses: frozenset[str] | None = frozenset({Status.ACTUAL.value}),
    ) -> HistoryFilter:
        if start is not None and end is not None and end <= start:
            raise ValidationFailed("history.error.empty_period", field="to", value=format_time(end))
        return HistoryFilter(
            regions=self.scope(region_id, descendants),
            start=format_time(start),
            end=format_time(end),
            sources=sources,
            kinds=kinds,
            statuses=statuses,
        )

    async def alerts(
        self, where: HistoryFilter, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Alert], str | None]:
        """A page of alerts, newest first, and the cursor of the next page (``None`` on the last one)."""
        before = _decode_cursor(cursor) if cursor else None
        rows = await self.sql.read(
            functools.partial(sql.find_alert_bodies, where=where, limit=limit + 1, before=before)
        )
        more = len(rows) > limit
        rows = rows[:limit]
        alerts = [alert_from_dict(json.loads(body)) for _, _, body in rows]
        next_cursor = f"{rows[-1][0]}~{rows[-1][1]}" if more and rows else None
        return alerts, next_cursor

    async def export_pages(self, where: HistoryFilter, page: int = 5000) -> AsyncIterator[list[ExportRow]]:
        """Every matching (alert, region) row in start order, a page at a time."""
        after: tuple[str, str, str] | None = None
        while True:
            rows = await self.sql.read(functools.partial(sql.export_page, where=where, after=after, limit=page))
            if not rows:
                return
            yield rows
            if len(rows) < page:
                return
            last = rows[-1]
            after = (last[6], last[0], last[1])

    # -- replay ----------------------------------------------------------------------------------------------

    async def replay_plan(
        self, start: datetime, end: datetime, *, sources: Iterable[str], region_id: str | None = None
    ) -> list[ReplayItem]:
        """The ended actual alerts in force at some moment of ``[start, end)``, in start order."""
        if end <= start:
            raise ValidationFailed("history.error.empty_period", field="to", value=format_time(end))
        regions = self.scope(region_id, True)
        begin, finish = format_time(start), format_time(end)
        assert begin is not None
        assert finish is not None
        rows = await self.sql.read(
            functools.partial(sql.overlapping, start=begin, end=finish, sources=sorted(sources), regions=regions)
        )
        return [
            ReplayItem(alert_id, region, Kind(kind), _ms(started), _ms(ended))
            for alert_id, region, kind, started, ended in rows
        ]

    async def coverage(self) -> list[tuple[str, int, str | None, str | None]]:
        return await self.sql.read(sql.coverage)


def _ms(text: str) -> int:
    moment = parse_time(text)
    assert moment is not None
    return to_ms(moment)


def _decode_cursor(cursor: str) -> tuple[str, str]:
    started, sep, alert_id = cursor.partition("~")
    if not sep or parse_time_safe(started) is None or not alert_id:
        raise ValidationFailed("history.error.bad_cursor", field="cursor", value=cursor)
    return started, alert_id


def parse_time_safe(text: str) -> datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        return None
