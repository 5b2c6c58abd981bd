"""Situation reports: short structured observations operators attach to an active alert.

- ``movement``: a threat seen moving (type, count, heading and/or target region, observed at).
- ``interception``: how many air defence destroyed, and where.
- ``impact``: how many hit, and where.

A report is written with a notice (``report.added``), an audit entry and its counts in the hourly rollup of its
region, all in one transaction, so the statistics (drones reported and intercepted per region per day) are
exact at every moment. Reports on exercise and test alerts stream like any report but do not count.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sirena.advisories.access import Clock, audit, check_regions, require_regions, require_role, stamp
from sirena.advisories.errors import AlertNotActive, ReportNotFound
from sirena.advisories.model import ReportDraft, counts_of
from sirena.auth.principal import Principal, Role
from sirena.auth.storage import sql_store
from sirena.domain.model import AlertState, Status
from sirena.domain.notice import NoticeType
from sirena.errors import AlertNotFound, ValidationFailed
from sirena.history.stats import StatsQuery
from sirena.ids import new_id
from sirena.messages import Phrase
from sirena.regions import RegionRegistry
from sirena.store import advisories as sql
from sirena.store.base import Appended
from sirena.store.sql import Connection
from sirena.store.sqlite import _load_alert

ADD = "report.add"
HOUR_S = 3600
FUTURE_SLACK = timedelta(minutes=5)
"""How far in the future ``observed_at`` may lie (clocks differ a little)."""


class Reports:
    def __init__(self, store: object, registry: RegionRegistry, clock: Clock) -> None:
        self.sql = sql_store(store)
        self.registry = registry
        self.clock = clock

    async def add(self, who: Principal, draft: ReportDraft) -> dict[str, Any]:
        moment = self.clock()
        (region,) = check_regions(self.registry, [draft.region], "region")
        target = check_regions(self.registry, [draft.target_region], "target_region") if draft.target_region else ()
        if not 1 <= draft.count <= 100_000:
            raise ValidationFailed(
                "error.validation_field",
                field="count",
                value=draft.count,
                reason=Phrase("validation.reason.between", low=1, high=100000),
            )
        if draft.heading_deg is not None and not 0 <= draft.heading_deg < 360:
            raise ValidationFailed(
                "error.validation_field",
                field="heading_deg",
                value=draft.heading_deg,
                reason=Phrase("validation.reason.between", low=0, high=359.9),
            )
        if draft.location is not None and not (-90 <= draft.location.lat <= 90 and -180 <= draft.location.lon <= 180):
            raise ValidationFailed(
                "error.validation_field", field="location", reason=Phrase("validation.reason.location")
            )
        observed = draft.observed_at or moment
        if observed > moment + FUTURE_SLACK:
            raise ValidationFailed(
                "error.validation_field", field="observed_at", reason=Phrase("validation.reason.in_future")
            )
        require_role(who, Role.OPERATOR, ADD)
        require_regions(who, [region], self.registry, ADD)
        report_id = new_id(moment)
        report: dict[str, Any] = {
            "id": report_id,
            "alert_id": draft.alert_id,
            "kind": draft.kind.value,
            "threat": draft.threat.value,
            "count": draft.count,
            "region": region,
            "target_region": target[0] if target else None,
            "heading_deg": draft.heading_deg,
            "location": None if draft.location is None else {"lat": draft.location.lat, "lon": draft.location.lon},
            "observed_at": stamp(observed),
            "follow_up": draft.follow_up,
            "text": {lang: t.strip() for lang, t in draft.text.items() if t and t.strip()},
            "issuer": who.issuer,
            "added_at": stamp(moment),
        }

        def run(conn: Connection) -> Appended:
            alert = _load_alert(conn, draft.alert_id)
            if alert is None:
                raise AlertNotFound("error.alert_not_found", alert_id=draft.alert_id)
            if alert.state is not AlertState.ACTIVE:
                raise AlertNotActive("advisories.error.alert_not_active", alert_id=alert.id, state=alert.state.value)
            report["status"] = alert.status.value
            report["alert_version"] = alert.version
            notice = sql.append_notice(conn, NoticeType.REPORT_ADDED, report_id, moment, report)
            sql.insert_report(conn, report, notice.seq)
            if alert.status is Status.ACTUAL:
                reported, intercepted, impacts = counts_of(report)
                bucket = int(observed.timestamp()) // HOUR_S * HOUR_S
                sql.add_report_rollup(conn, region, bucket, report["threat"], reported, intercepted, impacts)
            details = {k: report[k] for k in ("alert_id", "kind", "threat", "count", "region", "target_region")}
            audit(conn, moment, who, ADD, f"report:{report_id}", {"seq": notice.seq, **details})
            return Appended((notice,), report)

        done = await self.sql.transaction(run)
        return dict(done.value)

    async def get(self, report_id: str) -> dict[str, Any]:
        found = await self.sql.read(lambda conn: sql.get_report(conn, report_id))
        if found is None:
            raise ReportNotFound("advisories.error.report_not_found", report=report_id)
        return found

    async def find(
        self,
        *,
        alert_id: str | None = None,
        active: bool = False,
        statuses: frozenset[Status] | None = frozenset({Status.ACTUAL}),
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        wanted = sorted(s.value for s in statuses) if statuses is not None else None
        when = stamp(since)
        return await self.sql.read(
            lambda conn: sql.find_reports(
                conn, alert_id=alert_id, active=active, statuses=wanted, since=when, limit=limit
            )
        )

    async def stats(self, query: StatsQuery, regions: frozenset[str] | None) -> dict[str, Any]:
        """Reported, intercepted and impacts per threat in the buckets of ``query`` (as ``/api/v1/stats``), summed
        over ``regions`` (``None``: everywhere)."""
        bounds = query.bounds()
        ids = sorted(regions) if regions is not None else None
        rows = await self.sql.read(lambda conn: sql.report_rollups(conn, ids, bounds[0], bounds[-1]))
        return assemble(query, bounds, rows)


def _add(into: dict[str, dict[str, int]], threat: str, reported: int, intercepted: int, impacts: int) -> None:
    for name, value in (("reported", reported), ("intercepted", intercepted), ("impacts", impacts)):
        if value:
            into[name][threat] = into[name].get(threat, 0) + value


def _empty() -> dict[str, dict[str, int]]:
    return {"reported": {}, "intercepted": {}, "impacts": {}}


def assemble(
    query: StatsQuery, bounds: Sequence[int], rows: Sequence[tuple[int, str, int, int, int]]
) -> dict[str, Any]:
    """Hourly rollup rows summed into the buckets between ``bounds``: ``{"total", "buckets"}``, each with
    ``reported``, ``intercepted`` and ``impacts`` per threat type."""
    buckets = [_empty() for _ in range(len(bounds) - 1)]
    total = _empty()
    for bucket, threat, reported, intercepted, impacts in rows:
        index = bisect.bisect_right(bounds, bucket) - 1
        if 0 <= index < len(buckets):
            _add(buckets[index], threat, reported, intercepted, impacts)
            _add(total, threat, reported, intercepted, impacts)
    starts = [datetime.fromtimestamp(b, query.tz).isoformat() for b in bounds[:-1]]
    return {"total": total, "buckets": [{"start": s, **b} for s, b in zip(starts, buckets, strict=True)]}


def arrow(report: Mapping[str, Any], registry: RegionRegistry) -> dict[str, Any] | None:
    """Where a movement report's arrow starts and points, for the map: ``{"from": [lon, lat], "to": [lon, lat]}``
    (towards the target region's centre, or 60 km along the heading); ``None`` when it has no direction."""
    if report.get("kind") != "movement":
        return None
    start = _point(report.get("location")) or _centre(registry, report.get("region"))
    if start is None:
        return None
    end = _centre(registry, report.get("target_region")) if report.get("target_region") else None
    if end is None and report.get("heading_deg") is not None:
        end = _along(start, float(report["heading_deg"]), 60.0)
    if end is None:
        return None
    return {"from": [round(start[0], 5), round(start[1], 5)], "to": [round(end[0], 5), round(end[1], 5)]}


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping) and "lat" in value and "lon" in value:
        return float(value["lon"]), float(value["lat"])
    return None


def _centre(registry: RegionRegistry, region_id: Any) -> tuple[float, float] | None:
    if not isinstance(region_id, str) or region_id not in registry:
        return None
    geometry = registry.geometry(region_id)
    while geometry is None:
        parent = registry.get(region_id).parent_id
        if parent is None:
            return None
        region_id = parent
        geometry = registry.geometry(region_id)
    point = geometry.representative_point()
    return float(point.x), float(point.y)


def _along(start: tuple[float, float], heading_deg: float, km: float) -> tuple[float, float]:
    lon, lat = math.radians(start[0]), math.radians(start[1])
    bearing, angular = math.radians(heading_deg), km / 6371.0088
    lat2 = math.asin(math.sin(lat) * math.cos(angular) + math.cos(lat) * math.sin(angular) * math.cos(bearing))
    lon2 = lon + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(lat), math.cos(angular) - math.sin(lat) * math.sin(lat2)
    )
    return math.degrees(lon2), math.degrees(lat2)
