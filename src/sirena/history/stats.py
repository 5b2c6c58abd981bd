"""Statistics over the rollups: buckets of an hour, a day or a month in any time zone, for one region.

A period is ``[start, end)``; each bucket reports the alerts that *started* in it and the minutes under alert
*clipped* to it. Days and months are local to the time zone (a Kyiv day is 23, 24 or 25 hours long): they are
assembled from hourly rollups, using the daily ones for every whole UTC day inside a bucket (see :func:`plan`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sirena.errors import ValidationFailed
from sirena.history.rollup import DAY_S, HOUR_S

__all__ = ["MAX_BUCKETS", "Bucket", "Group", "StatsQuery", "StatsResult", "boundaries", "parse_bound", "plan", "zone"]

MAX_BUCKETS = 100_000
DEFAULT_TZ = "Europe/Kyiv"


class Group(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a validation error naming the field ``tz``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("history.error.bad_tz", field="tz", value=name) from None


def parse_bound(value: str | date | datetime, tz: ZoneInfo, field: str) -> datetime:
    """A period bound: a date means its midnight in ``tz``; a datetime without an offset is in ``tz``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed("history.error.bad_time", field=field, value=value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise ValidationFailed("history.error.bad_time", field=field, value=str(value)) from None


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def boundaries(start: datetime, end: datetime, group: Group, tz: ZoneInfo) -> list[int]:
    """Bucket boundaries in Unix seconds: ``start``, each hour, local midnight or local first of the month
    after it, and ``end``."""
    first, last = _epoch(start), _epoch(end)
    if group is Group.HOUR:
        aligned = -(-first // HOUR_S) * HOUR_S
        if (last - aligned) // HOUR_S > MAX_BUCKETS:
            raise ValidationFailed(
                "history.error.too_many_buckets", field="group", value=group.value, limit=MAX_BUCKETS
            )
        inner = list(range(aligned, last, HOUR_S))
    else:
        local = start.astimezone(tz).date()
        day = local.replace(day=1) if group is Group.MONTH else local
        inner = []
        while True:
            moment = _epoch(datetime.combine(day, time(), tz))
            if moment >= last:
                break
            if moment > first:
                inner.append(moment)
            day = _next(day, group)
            if len(inner) > MAX_BUCKETS:
                raise ValidationFailed(
                    "history.error.too_many_buckets", field="group", value=group.value, limit=MAX_BUCKETS
                )
    bounds = [first, *(b for b in inner if b > first), last]
    return bounds


def _next(day: date, group: Group) -> date:
    if group is Group.DAY:
        return day + timedelta(days=1)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class StatsQuery:
    region_id: str
    start: datetime
    end: datetime
    group: Group = Group.DAY
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    sources: frozenset[str] | None = None
    """``None``: every source."""
    kinds: frozenset[str] | None = None
    descendants: bool = False

    def bounds(self) -> list[int]:
        if self.end <= self.start:
            raise ValidationFailed("history.error.empty_period", field="to", value=self.end.isoformat())
        bounds = boundaries(self.start, self.end, self.group, self.tz)
        misaligned = next((b for b in bounds if b % HOUR_S), None)
        if misaligned is not None:
            moment = datetime.fromtimestamp(misaligned, self.tz).isoformat()
            raise ValidationFailed("history.error.not_whole_hour", field="from", value=moment)
        return bounds


Ranges = list[tuple[int, int]]


def plan(bounds: Sequence[int], max_ranges: int = 500) -> tuple[Ranges, Ranges]:
    """Which rollups to read for buckets between ``bounds``: ``(day ranges, hour ranges)`` in Unix seconds.

    Every whole UTC day inside one bucket is read from the daily rollups, the hours around them from the hourly
    ones: a Kyiv month is its UTC days plus two or three hours at each end; a Kyiv day is all hours; a UTC day or
    month is all days. Adjacent ranges are merged; beyond ``max_ranges`` everything is read hourly.
    """
    days: Ranges = []
    hours: Ranges = []

    def add(ranges: Ranges, low: int, high: int) -> None:
        if low >= high:
            return
        if ranges and ranges[-1][1] == low:
            ranges[-1] = (ranges[-1][0], high)
        else:
            ranges.append((low, high))

    for low, high in itertools.pairwise(bounds):
        first_day = -(-low // DAY_S) * DAY_S
        last_day = high // DAY_S * DAY_S
        if first_day < last_day:
            add(hours, low, first_day)
            add(days, first_day, last_day)
            add(hours, last_day, high)
        else:
            add(hours, low, high)
    if len(days) + len(hours) > max_ranges:
        return [], [(bounds[0], bounds[-1])]
    return days, hours


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    alerts: int
    ms: int

    @property
    def minutes(self) -> float:
        return round(self.ms / 60_000, 2)

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "alerts": self.alerts, "minutes": self.minutes}


@dataclass(frozen=True, slots=True)
class StatsResult:
    query: StatsQuery
    buckets: tuple[Bucket, ...]
    regions: int
    """How many regions were summed (1, or more with descendants)."""

    @property
    def alerts(self) -> int:
        return sum(b.alerts for b in self.buckets)

    @property
    def ms(self) -> int:
        return sum(b.ms for b in self.buckets)

    def to_json(self) -> dict[str, Any]:
        q = self.query
        return {
            "region": q.region_id,
            "descendants": q.descendants,
            "regions": self.regions,
            "from": q.start.astimezone(q.tz).isoformat(),
            "to": q.end.astimezone(q.tz).isoformat(),
            "group": q.group.value,
            "tz": q.tz.key,
            "source": sorted(q.sources) if q.sources is not None else "all",
            "kind": sorted(q.kinds) if q.kinds is not None else "all",
            "total": {"alerts": self.alerts, "minutes": round(self.ms / 60_000, 2)},
            "buckets": [b.to_json() for b in self.buckets],
        }


def assemble(query: StatsQuery, bounds: Sequence[int], rows: Sequence[tuple[int, int, int]]) -> list[Bucket]:
    """Sum rollup rows ``(bucket, alerts, ms)`` into the buckets between ``bounds``."""
    alerts = [0] * (len(bounds) - 1)
    ms = [0] * (len(bounds) - 1)
    for bucket, count, millis in rows:
        index = bisect.bisect_right(bounds, bucket) - 1
        if 0 <= index < len(alerts):
            alerts[index] += count
            ms[index] += millis
    return [Bucket(datetime.fromtimestamp(bounds[i], query.tz), alerts[i], ms[i]) for i in range(len(bounds) - 1)]
