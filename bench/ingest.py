"""Durable alert commits per second against SQLite's own fsync floor, measured in the same run.

- floor: single-row INSERT + COMMIT in a loop on a WAL database with ``synchronous=FULL`` (what one durable
  transaction at a time costs on this disk); and SQLite writing the rows one alert makes (alert, region, event,
  version), one alert a commit, which shows how much of the gap is the schema's pages rather than Sirena;
- sequential: ``AlertService.issue`` awaited one at a time (each its own durable commit);
- concurrent: 64 issuers at once, which the single writer's group commit folds into fewer fsyncs;
- batched: ``AlertService.issue_many`` with 1,000 alerts a call, one durable transaction each, against SQLite
  writing the same rows (alert, region, event, version; 450-byte bodies in the alert and the event, the version
  naming its event) with ``executemany``, 1,000 to a commit.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sirena import testing
from sirena.domain import AlertDraft, Target
from sirena.regions import load_builtin
from sirena.store.sqlite import connect, migrate

SECONDS = 3.0
BATCH = 1000


def fsync_floor(folder: Path) -> float:
    conn = connect(folder / "floor.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", ("x" * 600,))
        conn.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


async def issue_rate(folder: Path, concurrency: int) -> float:
    registry = load_builtin("ua")
    oblasts = [r.id for r in registry.children(registry.root_id)]
    async with testing.running(testing.settings_for(folder), registry=registry) as rt:
        count = 0
        deadline = time.perf_counter() + SECONDS

        async def worker(i: int) -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await rt.service.issue(AlertDraft(target=Target(regions=(oblasts[(i + count) % len(oblasts)],))))
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return count / (time.perf_counter() - started)


def bulk_floor(folder: Path, batch: int = BATCH) -> float:
    conn = connect(folder / f"bulk{batch}.db")
    migrate(conn)
    body = "x" * 450
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        ids = [f"A{count + i}" for i in range(batch)]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO alerts (id, version, state, status, kind, source, started_at, updated_at, ended_at, body) "
            "VALUES (?, 1, 'active', 'actual', 'air_raid', 'sirena', ?, ?, NULL, ?)",
            [(i, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", body) for i in ids],
        )
        conn.executemany(
            "INSERT INTO alert_regions (alert_id, region_id, partial) VALUES (?, ?, 0)",
            [(i, str(n % 100)) for n, i in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO events (seq, type, alert_id, at, body) VALUES (?, 'alert.issued', ?, ?, ?)",
            [(count + n + 1, i, "2026-01-01T00:00:00.000Z", body) for n, i in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO alert_versions (alert_id, version, event_seq) VALUES (?, 1, ?)",
            [(i, count + n + 1) for n, i in enumerate(ids)],
        )
        conn.execute("COMMIT")
        count += batch
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


async def batch_rate(folder: Path) -> float:
    registry = load_builtin("ua")
    regions = [r.id for r in registry.children(registry.root_id)]
    regions += [c.id for r in regions for c in registry.children(r)]
    async with testing.running(testing.settings_for(folder), registry=registry) as rt:
        count = 0
        started = time.perf_counter()
        deadline = started + SECONDS
        while time.perf_counter() < deadline:
            drafts = [AlertDraft(target=Target(regions=(regions[(count + i) % len(regions)],))) for i in range(BATCH)]
            count += len(await rt.service.issue_many(drafts))
        return count / (time.perf_counter() - started)


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = fsync_floor(folder)
        sequential = asyncio.run(issue_rate(folder / "a", 1))
        concurrent = asyncio.run(issue_rate(folder / "b", 64))
        batched = asyncio.run(batch_rate(folder / "c"))
        bulk = bulk_floor(folder)
        rows_one = bulk_floor(folder, 1)
    baseline = "SQLite single-row commits, WAL, synchronous=FULL"
    return [
        {
            "name": "durable single-alert commits, one at a time",
            "figure": sequential,
            "unit": "alerts/s",
            "baseline": floor,
            "baseline_name": baseline,
            "ratio": sequential / floor,
            "target": "≥ 5,000 /s",
        },
        {
            "name": "SQLite alone: an alert's rows, one alert a commit (reference)",
            "figure": rows_one,
            "unit": "alerts/s",
            "baseline": floor,
            "baseline_name": baseline,
            "ratio": rows_one / floor,
            "target": "",
        },
        {
            "name": "durable alert commits, 64 concurrent issuers (group commit)",
            "figure": concurrent,
            "unit": "alerts/s",
            "baseline": floor,
            "baseline_name": baseline,
            "ratio": concurrent / floor,
            "target": "≥ 5,000 /s",
        },
        {
            "name": f"batched alert ingest, issue_many of {BATCH:,}",
            "figure": batched,
            "unit": "alerts/s",
            "baseline": bulk,
            "baseline_name": f"SQLite executemany of the same rows, {BATCH:,} alerts a commit",
            "ratio": batched / bulk,
            "target": "≥ 50,000 /s",
        },
    ]
