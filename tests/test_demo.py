"""The demo: a real day replayed as exercise alerts only, and the shipped record imported in the background."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from sirena import testing
from sirena.cluster.testing import free_port
from sirena.domain import AlertState, Status
from sirena.history.archive import History
from sirena.history.dataset import official_day
from sirena.history.demo import IMPORTED_KEY, import_builtin
from sirena.history.importer import HistoryFile
from sirena.regions import load_builtin


def test_the_demo_day_resolves_every_row_to_a_region() -> None:
    alerts = official_day(load_builtin("ua"), date(2022, 10, 10))
    assert len(alerts) == 57  # every official alert that started that day (UTC)
    assert all(a.finished_at > a.started_at for a in alerts)


async def test_demo_alerts_are_exercises_and_come_and_go(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, demo=True, demo_speed=20_000.0)
    async with testing.running(settings) as rt:
        # the background import shares the writer with the feed, so on a busy machine the feed may be slow to get
        # going: wait for its events however long they take (imported alerts make no events)
        async with asyncio.timeout(120):
            while await rt.store.last_seq() <= 60:  # noqa: ASYNC110 - polling
                await asyncio.sleep(0.05)
        every = await rt.service.find(statuses=None, limit=10_000)  # newest first: the demo's before the record
        demo = [a for a in every if not a.issuer.startswith("import:")]
        assert len(demo) > 20
        assert {a.status for a in demo} == {Status.EXERCISE}
        assert {a.issuer for a in demo} == {"demo"}
        assert any(a.state is AlertState.ENDED for a in demo)
        # the rest (if the background import got that far) is the shipped record: ended, never live
        assert {a.state for a in every if a not in demo} <= {AlertState.ENDED}
        assert await rt.service.active() == []  # nothing real


OFFICIAL = "\n".join(
    [
        "oblast,raion,hromada,level,started_at,finished_at",
        "Київська область,,,oblast,2023-03-09 02:00:00+00:00,2023-03-09 05:00:00+00:00",
        "Одеська область,,,oblast,2023-03-09 03:00:00+00:00,2023-03-09 03:40:00+00:00",
    ]
).encode()


async def test_two_nodes_import_the_record_one_at_a_time_and_once(tmp_path: Path) -> None:
    files = [HistoryFile("official.csv", OFFICIAL)]
    # a lease long enough that a loaded machine cannot let it run out during the import (the waiting node
    # looks again every third of it)
    a = testing.settings_for(tmp_path, node_id="a", lease_ttl_s=3.0)
    b = testing.settings_for(tmp_path, node_id="b", lease_ttl_s=3.0)
    async with testing.running(a) as first, testing.running(b) as second:
        reports = await asyncio.gather(import_builtin(first, files), import_builtin(second, files))
        done = [r for r in reports if r is not None]
        assert len(done) == 1  # the other node waited for the lease, then found the import recorded
        assert (done[0].alerts, done[0].added) == (4, 4)  # two rows, and Luhansk and Crimea (long-running)
        assert await first.store.get_meta(IMPORTED_KEY) == "4"
        assert await import_builtin(second, files) is None  # recorded: a restart imports nothing
        history = History(second.store, second.registry)
        assert [(s, n) for s, n, _, _ in await history.coverage()] == [("official", 4)]
        assert "history-import" not in first.leases.held + second.leases.held


async def test_only_a_demo_server_imports_the_record(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        assert "sirena-demo-history" not in {task.get_name() for task in asyncio.all_tasks()}
        assert await rt.store.get_meta(IMPORTED_KEY) is None


def test_serve_demo_imports_the_shipped_record_in_the_background_once(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SIRENA_DATABASE_URL": f"sqlite:///{tmp_path / 'sirena.db'}", "SIRENA_DEMO_SPEED": "600"}
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sirena", "serve", "--demo", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    summary = "97547 alerts after merging the files (2 long-running added): 97547 new"
    try:
        deadline = time.monotonic() + 300
        while summary not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert text.count("Importing the shipped alert history in the background") == 1  # one worker, once
        for step in ("Reading and matching 4/4", "Writing alerts 20000/97547", "Writing alerts 97547/97547"):
            assert f"INFO:     {step}\n" in text
        query = {"region": "UA", "from": "2023-01-01", "to": "2024-01-01", "group": "month", "descendants": "true"}
        stats = httpx.get(f"{base}/api/v1/stats", params=query, timeout=10).json()
        assert stats["total"]["alerts"] > 10_000 and len(stats["buckets"]) == 12
        latest = {"descendants": "true", "limit": "1"}
        newest = httpx.get(f"{base}/api/v1/regions/UA/history", params=latest, timeout=10).json()
        assert newest["alerts"][0]["started_at"] == "2024-04-22T22:33:56.000Z"  # the official record's last alert
        demo = httpx.get(f"{base}/api/v1/alerts", params={"statuses": "exercise", "state": "all"}, timeout=10).json()
        assert {a["issuer"] for a in demo["alerts"]} == {"demo"}  # the demo feed ran alongside
    finally:
        process.terminate()
        process.wait(30)
