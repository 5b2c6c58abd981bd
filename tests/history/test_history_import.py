"""Importing the shipped record: counts against the raw files, idempotency, the long-running alerts, no events."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
from history_support import LONG_RUNNING, Imported, ms, raw_alerts

from sirena import testing
from sirena.domain.model import AlertState, Event, Source
from sirena.history.importer import HistoryFile, builtin_files, import_history
from sirena.regions import RegionRegistry
from sirena.store import SQLiteStore
from sirena.web import create_app


def _count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_every_row_of_the_shipped_files_is_matched(
    imported: Imported, raw: dict[str, list[dict[str, str]]], ua: RegionRegistry
) -> None:
    report = imported.report
    by_file = {f.name: f for f in report.files}
    for name, rows in raw.items():
        counted = by_file[f"{name}.csv.gz"]
        assert counted.rows == len(rows), name
        assert counted.matched == len(rows), name
        assert not counted.unmatched, name
    # the one 2022 row with its oblast and raion swapped, present in both official files
    assert by_file["official_data_en.csv.gz"].repaired == {"swapped_oblast_raion": 1}
    assert by_file["official_data_uk.csv.gz"].repaired == {"swapped_oblast_raion": 1}
    expected = raw_alerts(raw, ua)
    assert report.alerts == len(expected) == 43_031 + 54_514 + 2  # the English files hold every Ukrainian row
    assert (report.added, report.updated, report.unchanged, report.ongoing) == (report.alerts, 0, 0, 2)
    assert _count(imported.path, "SELECT COUNT(*) FROM alerts") == report.alerts
    assert _count(imported.path, "SELECT COUNT(*) FROM alerts WHERE source = 'official'") == 43_031 + 2
    assert _count(imported.path, "SELECT COUNT(*) FROM alerts WHERE state = 'ended'") == report.alerts
    assert _count(imported.path, "SELECT COUNT(*) FROM history_flags WHERE estimated_end = 1") == sum(
        row["naive"] == "True" for row in raw["volunteer_data_en"]
    )


def test_history_never_enters_the_event_log(imported: Imported) -> None:
    assert _count(imported.path, "SELECT COUNT(*) FROM events") == 0
    assert _count(imported.path, "SELECT COUNT(*) FROM alert_versions") == 0


def test_the_two_long_running_alerts_are_added(imported: Imported, raw: dict[str, list[dict[str, str]]]) -> None:
    coverage = max(ms(row["finished_at"]) for row in raw["official_data_en"])
    with sqlite3.connect(imported.path) as conn:
        rows = conn.execute(
            "SELECT r.region_id, a.started_at, a.ended_at, f.open_ended FROM alerts a "
            "JOIN alert_regions r ON r.alert_id = a.id JOIN history_flags f ON f.alert_id = a.id "
            "WHERE f.open_ended = 1 ORDER BY r.region_id"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("16", LONG_RUNNING["16"].strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ("29", LONG_RUNNING["29"].strftime("%Y-%m-%dT%H:%M:%S.000Z")),
    ]
    assert {ms(r[2].replace("Z", "+00:00")) for r in rows} == {coverage}


async def test_importing_again_adds_nothing(history_db: Path, ua: RegionRegistry) -> None:
    def fingerprint() -> tuple[int, ...]:
        with sqlite3.connect(history_db) as conn:
            return tuple(
                int(conn.execute(sql).fetchone()[0] or 0)
                for sql in (
                    "SELECT COUNT(*) FROM alerts",
                    "SELECT COUNT(*) FROM alert_regions",
                    "SELECT SUM(alerts) FROM history_rollup_hour",
                    "SELECT SUM(ms) FROM history_rollup_hour",
                    "SELECT SUM(alerts) FROM history_rollup_day",
                    "SELECT SUM(ms) FROM history_rollup_day",
                )
            )

    before = fingerprint()
    store = SQLiteStore(f"sqlite:///{history_db}")
    await store.open()
    try:
        report = await import_history(store, ua, builtin_files(["official_data_uk"]))
    finally:
        await store.close()
    assert (report.added, report.updated) == (0, 0)
    assert report.unchanged == report.alerts > 0
    assert fingerprint() == before


async def test_an_import_while_the_server_runs_publishes_nothing(
    tmp_path: Path, ua: RegionRegistry, raw: dict[str, list[dict[str, str]]]
) -> None:
    rows = raw["volunteer_data_uk"][:3000]
    lines = ["region,started_at,finished_at,naive", *(",".join(r.values()) for r in rows)]
    part = HistoryFile("volunteer_part.csv", "\n".join(lines).encode())
    heard: list[Event] = []
    async with testing.running(testing.settings_for(tmp_path), registry=ua) as rt:
        rt.bus.subscribe(heard.append)
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://sirena.test") as client:
            report = await import_history(rt.store, ua, [part])
            assert report.added == 3000
            await asyncio.sleep(0.3)  # longer than the relay's poll of the event log
            assert heard == []
            snapshot = await client.get("/api/v1/alerts", params={"state": "active"})
            assert snapshot.json()["alerts"] == []
        ended = await rt.service.find(states=frozenset({AlertState.ENDED}), region="31", limit=5)
        assert ended
        assert {a.source for a in ended} == {Source.VOLUNTEER}
        assert await rt.store.last_seq() == 0
