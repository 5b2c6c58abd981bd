"""A test oracle: the alerts of the raw CSV rows and statistics computed from them directly, without rollups."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sirena.history.report import ImportReport
from sirena.regions import RegionRegistry


@dataclass(frozen=True)
class Imported:
    """A database holding the full shipped record, and the report of importing it."""

    path: Path
    report: ImportReport

    def copy(self, folder: Path, name: str = "history.db") -> Path:
        """A private copy, for tests that write (``sirena.db`` is where ``sirena.testing`` looks)."""
        target = folder / name
        shutil.copyfile(self.path, target)
        return target


RawAlerts = dict[tuple[str, str, int], int]
"""(source, region id, start ms) → end ms."""

LONG_RUNNING = {"16": datetime(2022, 4, 4, 16, 45, tzinfo=UTC), "29": datetime(2022, 12, 10, 22, 22, tzinfo=UTC)}


def ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def _top(registry: RegionRegistry, name: str) -> str | None:
    found = [r.id for r in registry.find_all(name) if r.parent_id == registry.root_id]
    return found[0] if len(found) == 1 else None


def official_region(registry: RegionRegistry, row: dict[str, str]) -> str | None:
    oblast, raion = row["oblast"], row["raion"]
    oblast_id = _top(registry, oblast)
    if oblast_id is None:  # the one row of 2022 with oblast and raion swapped
        oblast_id, oblast, raion = _top(registry, raion), raion, oblast
        if oblast_id is None:
            return None
    if row["level"] == "oblast":
        return oblast_id
    found = registry.find(raion, within=oblast_id)
    if found is None:
        return None
    if row["level"] == "raion":
        return found.id
    hromada = registry.find(row["hromada"], within=found.id)
    return hromada.id if hromada else None


def raw_alerts(raw: dict[str, list[dict[str, str]]], registry: RegionRegistry) -> RawAlerts:
    """Every alert of the four files, the Ukrainian and English copy of an alert counted once, plus the two
    long-running official alerts up to the last end the official files saw."""
    alerts: RawAlerts = {}
    for name in ("official_data_en", "official_data_uk"):
        for row in raw[name]:
            region = official_region(registry, row)
            assert region is not None, row
            alerts[("official", region, ms(row["started_at"]))] = ms(row["finished_at"])
    for name in ("volunteer_data_en", "volunteer_data_uk"):
        for row in raw[name]:
            region = _top(registry, row["region"])
            assert region is not None, row
            alerts[("volunteer", region, ms(row["started_at"]))] = ms(row["finished_at"])
    coverage = max(end for (source, _, _), end in alerts.items() if source == "official")
    for region, started in LONG_RUNNING.items():
        alerts[("official", region, int(started.timestamp()) * 1000)] = coverage
    return alerts


def local_bounds(first: date, last: date, group: str, tz: ZoneInfo) -> list[int]:
    """Unix-ms boundaries of local days or months from ``first`` to ``last`` (exclusive)."""
    days = []
    day = first
    while day <= last:
        if group == "day" or day.day == 1 or day == first:
            days.append(day)
        day += timedelta(days=1)
    if days[-1] != last:
        days.append(last)
    return [int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * 1000 for d in days]


def direct(
    alerts: RawAlerts, regions: Iterable[str], sources: Iterable[str], bounds: list[int]
) -> list[tuple[int, float]]:
    """(alerts started, minutes under alert clipped) per bucket, from the alerts themselves."""
    wanted, kinds = set(regions), set(sources)
    counts = [0] * (len(bounds) - 1)
    millis = [0] * (len(bounds) - 1)
    for (source, region, started), ended in alerts.items():
        if region not in wanted or source not in kinds or ended <= bounds[0] or started >= bounds[-1]:
            continue
        for i in range(len(bounds) - 1):
            low, high = bounds[i], bounds[i + 1]
            if low <= started < high:
                counts[i] += 1
            overlap = min(ended, high) - max(started, low)
            if overlap > 0:
                millis[i] += overlap
    return [(c, round(m / 60_000, 2)) for c, m in zip(counts, millis, strict=True)]
