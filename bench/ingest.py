"""Durable alert commits per second against SQLite's own fsync floor, measured in the same run.

- floor: single-row INSERT + COMMIT in a loop on a WAL database with ``synchronous=FULL`` (what one durable
  transaction at a time costs on this disk);
- sequential: ``AlertService.issue`` awaited one at a time (each its own durable commit);
- concurrent: 64 issuers at once, which the single writer's group commit folds into fewer fsyncs.
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
from sirena.store.sqlite import connect

SECONDS = 3.0


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


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = fsync_floor(folder)
        sequential = asyncio.run(issue_rate(folder / "a", 1))
        concurrent = asyncio.run(issue_rate(folder / "b", 64))
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
            "name": "durable alert commits, 64 concurrent issuers (group commit)",
            "figure": concurrent,
            "unit": "alerts/s",
            "baseline": floor,
            "baseline_name": baseline,
            "ratio": concurrent / floor,
            "target": "≥ 5,000 /s",
        },
    ]
