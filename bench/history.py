"""History benchmark: importing the shipped Ukrainian record, and statistics over all of it.

Run with ``python -m bench history`` (or ``python -m bench.history`` for JSON lines). Figures and baselines, all
measured in the same process on the same files:

* ``import.full``: ``sirena import --builtin`` into a fresh database (the four files, 175,377 rows, 97,547
  alerts). Baseline: the same alerts written one at a time through the live write path (``store.write``, one
  transaction and one event each), timed on the first 2,000 and scaled to all of them.
* ``import.full_cpu``: the CPU time of that import (all threads), which a busy machine does not inflate.
  Baseline: the CPU time to gunzip the four files and split them into CSV rows, the floor of any import.
* ``import.again``: importing the same four files into the same database again (adds nothing). Baseline: the
  first import.
* ``stats.*``: median time of a statistics query served from the rollups (``History.stats``). Baseline: the
  same buckets computed directly from the stored alerts (one SQL scan of the alerts in the period, clipped to the
  buckets in Python), checked to give the same answer.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import row
from sirena.domain import Transition
from sirena.domain.model import EventType
from sirena.history.archive import History
from sirena.history.dataset import text_of
from sirena.history.importer import builtin_files, collect, import_history
from sirena.history.records import to_ms
from sirena.history.stats import Group, StatsQuery, parse_bound
from sirena.protocol.alert_json import parse_time
from sirena.regions import RegionRegistry, load_builtin
from sirena.store import SQLiteStore
from sirena.store.history import time_text

KYIV = ZoneInfo("Europe/Kyiv")
SAMPLE = 2_000


def _parse_floor() -> float:
    """CPU seconds to gunzip and split the four files into CSV rows, and nothing else."""
    began = time.process_time()
    for item in builtin_files():
        with text_of(item.data) as text:
            for _ in csv.reader(text):
                pass
    return time.process_time() - began


async def _import(folder: Path, registry: RegionRegistry) -> tuple[Path, float, float, float, int]:
    path = folder / "history.db"
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        began, cpu = time.perf_counter(), time.process_time()
        report = await import_history(store, registry, builtin_files())
        first, first_cpu = time.perf_counter() - began, time.process_time() - cpu
        began = time.perf_counter()
        again = await import_history(store, registry, builtin_files())
        second = time.perf_counter() - began
        assert (again.added, again.unchanged) == (0, report.alerts), "the second import changed something"
    finally:
        await store.close()
    return path, first, second, first_cpu, report.alerts


async def _one_by_one(folder: Path, registry: RegionRegistry, alerts: int) -> float:
    merged, _, _ = collect(builtin_files(), registry)
    sample = sorted(merged.values(), key=lambda r: r.started_ms)[:SAMPLE]
    store = SQLiteStore(f"sqlite:///{folder / 'one_by_one.db'}")
    await store.open()
    try:
        began = time.perf_counter()
        for record in sample:
            alert = record.alert()
            await store.write(alert.id, lambda _current, a=alert: Transition(a, EventType.ENDED))
        elapsed = time.perf_counter() - began
    finally:
        await store.close()
    return elapsed / len(sample) * alerts


QUERIES = [
    ("kyiv_by_day_whole_record", "31", "2022-02-24", "2024-11-01", Group.DAY, False),
    ("country_by_month_with_descendants", "UA", "2022-02-24", "2024-11-01", Group.MONTH, True),
    ("kharkiv_oblast_by_hour_2023_with_descendants", "22", "2023-01-01", "2024-01-01", Group.HOUR, True),
]


def _direct(path: Path, regions: set[str] | None, query: StatsQuery, bounds: list[int]) -> list[tuple[int, int]]:
    first, last = bounds[0] * 1000, bounds[-1] * 1000
    counts = [0] * (len(bounds) - 1)
    millis = [0] * (len(bounds) - 1)
    ms_bounds = [b * 1000 for b in bounds]
    sources = sorted(query.sources or ())
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT r.region_id, a.started_at, a.ended_at FROM alerts a JOIN alert_regions r ON r.alert_id = a.id "
            f"WHERE r.partial = 0 AND a.status = 'actual' AND a.source IN ({','.join('?' * len(sources))}) "
            "AND a.ended_at IS NOT NULL AND a.started_at < ? AND a.ended_at > ?",
            (*sources, time_text(last), time_text(first)),
        ).fetchall()
    for region, started_text, ended_text in rows:
        if regions is not None and region not in regions:
            continue
        started, ended = _ms(started_text), _ms(ended_text)
        if first <= started < last:
            counts[bisect.bisect_right(ms_bounds, started) - 1] += 1
        index = max(bisect.bisect_right(ms_bounds, started) - 1, 0)
        while index < len(counts) and ms_bounds[index] < ended:
            overlap = min(ended, ms_bounds[index + 1]) - max(started, ms_bounds[index])
            if overlap > 0:
                millis[index] += overlap
            index += 1
    return list(zip(counts, millis, strict=True))


def _ms(text: str) -> int:
    moment = parse_time(text)
    assert moment is not None
    return to_ms(moment)


async def _stats_rows(path: Path, registry: RegionRegistry, repeat: int = 5) -> list[dict[str, Any]]:
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    rows = []
    try:
        history = History(store, registry)
        for name, region, first, last, group, descendants in QUERIES:
            query = StatsQuery(
                region,
                parse_bound(first, KYIV, "from"),
                parse_bound(last, KYIV, "to"),
                group,
                KYIV,
                frozenset({"official"}),
                None,
                descendants,
            )
            timings = []
            result = None
            for _ in range(repeat):
                began = time.perf_counter()
                result = await history.stats(query)
                timings.append(time.perf_counter() - began)
            assert result is not None
            scope = history.scope(region, descendants)
            bounds = query.bounds()
            direct_timings = []
            expected: list[tuple[int, int]] = []
            for _ in range(repeat):
                began = time.perf_counter()
                expected = await asyncio.to_thread(_direct, path, set(scope) if scope else None, query, bounds)
                direct_timings.append(time.perf_counter() - began)
            assert [(b.alerts, b.ms) for b in result.buckets] == expected, f"{name}: rollups and direct differ"
            rows.append(
                row(
                    f"history.stats.{name}",
                    statistics.median(timings) * 1000,
                    "ms",
                    statistics.median(direct_timings) * 1000,
                    f"direct from the alerts table ({len(result.buckets)} buckets)",
                    "<= 100 ms",
                )
            )
    finally:
        await store.close()
    return rows


async def _run() -> list[dict[str, Any]]:
    registry = load_builtin("ua")
    with tempfile.TemporaryDirectory(prefix="sirena-bench-history-") as name:
        folder = Path(name)
        path, first, again, first_cpu, alerts = await _import(folder, registry)
        one_by_one = await _one_by_one(folder, registry, alerts)
        floor = _parse_floor()
        rows = [
            row(
                "history.import.full",
                first,
                "s",
                one_by_one,
                f"one store.write per alert (timed on {SAMPLE:,}, scaled to {alerts:,})",
                "< 30 s",
            ),
            row(
                "history.import.full_cpu",
                first_cpu,
                "s CPU",
                floor,
                "CPU to gunzip and csv.reader the four files, nothing else",
                "",
            ),
            row("history.import.again", again, "s", first, "the first import", "adds nothing"),
        ]
        rows += await _stats_rows(path, registry)
    return rows


def run() -> list[dict[str, Any]]:
    """Measure every figure; returns one row per figure."""
    return asyncio.run(_run())


def main() -> None:
    started = datetime.now()
    for result in run():
        print(json.dumps(result, ensure_ascii=False))
    print(json.dumps({"elapsed_s": round((datetime.now() - started).total_seconds(), 1)}))


if __name__ == "__main__":
    main()
