"""Rollups: per region, source and kind, per UTC hour and per UTC day, the alerts that started in the bucket and
the milliseconds under alert clipped to it. Pure arithmetic; the SQL lives in :mod:`sirena.store.history`.

Statistics are answered from these tables alone. Buckets of another width or time zone are made of whole UTC
hours (or whole UTC days, when every boundary falls on a UTC midnight), so they are exact as long as the time
zone's offset is a whole number of hours, which it is for Ukraine and most of the world.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["DAY_S", "HOUR_S", "Rollup", "RollupKey", "spread"]

HOUR_S = 3600
DAY_S = 86_400

RollupKey = tuple[str, int, str, str]
"""(region id, bucket start in Unix seconds, source, kind)."""


def spread(started_ms: int, ended_ms: int, width_s: int) -> Iterator[tuple[int, int, int]]:
    """``(bucket start in seconds, alerts, milliseconds)`` for an alert over UTC buckets ``width_s`` wide: the
    bucket it starts in counts one alert, and each bucket gets the part of the alert that falls in it."""
    width_ms = width_s * 1000
    bucket = started_ms // width_ms * width_ms
    first = True
    while bucket < ended_ms or first:
        upper = bucket + width_ms
        covered = min(upper, ended_ms) - max(bucket, started_ms)
        yield bucket // 1000, 1 if first else 0, max(covered, 0)
        first = False
        bucket = upper


@dataclass
class Rollup:
    """Hour and day rollups being accumulated for one write, as deltas (``sign=-1`` takes an alert back out)."""

    hours: dict[RollupKey, list[int]] = field(default_factory=dict)
    days: dict[RollupKey, list[int]] = field(default_factory=dict)

    def add(
        self, region_ids: Iterable[str], source: str, kind: str, started_ms: int, ended_ms: int, sign: int = 1
    ) -> None:
        for region_id in region_ids:
            for table, width in ((self.hours, HOUR_S), (self.days, DAY_S)):
                for bucket, alerts, ms in spread(started_ms, ended_ms, width):
                    key = (region_id, bucket, source, kind)
                    cell = table.get(key)
                    if cell is None:
                        table[key] = [sign * alerts, sign * ms]
                    else:
                        cell[0] += sign * alerts
                        cell[1] += sign * ms

    def merge(self, other: Rollup) -> None:
        for mine, theirs in ((self.hours, other.hours), (self.days, other.days)):
            for key, (alerts, ms) in theirs.items():
                cell = mine.get(key)
                if cell is None:
                    mine[key] = [alerts, ms]
                else:
                    cell[0] += alerts
                    cell[1] += ms

    def rows(self, table: dict[RollupKey, list[int]]) -> list[tuple[str, int, str, str, int, int]]:
        return [(*key, alerts, ms) for key, (alerts, ms) in table.items() if alerts or ms]

    def __bool__(self) -> bool:
        return bool(self.hours or self.days)
