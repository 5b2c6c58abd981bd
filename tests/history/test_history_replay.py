"""Replay re-issues history as exercise alerts through the service, ends them all, and leaves real alerts alone."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from sirena import testing
from sirena.cli import main
from sirena.domain.model import AlertDraft, AlertState, Event, EventType, Status, Target
from sirena.domain.notice import Notice, NoticeType
from sirena.history.archive import History
from sirena.history.importer import HistoryFile, import_history
from sirena.history.replay import Replay
from sirena.runtime import Runtime

HEADER = "oblast,raion,hromada,level,started_at,finished_at,source"
ROWS = [
    "м. Київ,,,oblast,2022-10-10 03:50:00+00:00,2022-10-10 04:04:00+00:00,official",  # in force at the start
    "Київська область,,,oblast,2022-10-10 04:02:00+00:00,2022-10-10 04:06:00+00:00,official",
    "Харківська область,,,oblast,2022-10-10 04:05:00+00:00,2022-10-10 04:20:00+00:00,official",  # outlasts it
    "Дніпропетровська область,,,oblast,2022-10-10 04:08:00+00:00,2022-10-10 04:09:00+00:00,official",
    "Одеська область,,,oblast,2022-10-10 04:30:00+00:00,2022-10-10 04:40:00+00:00,official",  # after it
]
FILE = HistoryFile("official.csv", ("\n".join([HEADER, *ROWS]) + "\n").encode())
START = datetime(2022, 10, 10, 4, 0, tzinfo=UTC)
END = datetime(2022, 10, 10, 4, 10, tzinfo=UTC)


async def _prepared(rt: Runtime) -> History:
    history = History(rt.store, rt.registry)
    await import_history(rt.store, rt.registry, [FILE])
    return history


async def test_a_period_is_replayed_as_exercises(tmp_path: Path) -> None:
    heard: list[Event] = []
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        history = await _prepared(rt)
        real = (await rt.service.issue(AlertDraft(target=Target(regions=("31",))))).event.alert
        rt.bus.subscribe(heard.append)
        items = await history.replay_plan(START, END, sources={"official"})
        # Luhansk Oblast has been under alert since April 2022 (added to the official record on import)
        assert [i.region_id for i in items] == ["16", "31", "14", "22", "9"]
        status = await Replay(rt.service, items, start=START, end=END, speed=1200).run()
        assert (status.issued, status.ended, status.failed, status.finished) == (5, 5, 0, True)
        for _ in range(100):  # the relay publishes right after each commit
            if len(heard) >= 15:
                break
            await asyncio.sleep(0.02)
        assert real == await rt.service.get(real.id)  # untouched: still active, version 1
        assert [a.id for a in await rt.service.active()] == [real.id]
    clears = [e for e in heard if isinstance(e, Notice)]  # a drill practises the all-clear too
    assert [(e.type, e.reach.status) for e in clears] == [(NoticeType.ALL_CLEAR, Status.EXERCISE)] * 5
    replayed = [e for e in heard if not isinstance(e, Notice) and e.alert.id != real.id]
    assert {e.body["alert_id"] for e in clears} == {e.alert.id for e in replayed if e.type is EventType.ENDED}
    assert sorted((e.type, e.alert.regions) for e in replayed[:2]) == [
        (EventType.ISSUED, ("16",)),
        (EventType.ISSUED, ("31",)),
    ]
    assert sorted((e.type, e.alert.regions) for e in replayed[-2:]) == [
        (EventType.ENDED, ("16",)),
        (EventType.ENDED, ("22",)),
    ]
    assert [(e.type, e.alert.regions) for e in replayed[2:-2]] == [
        (EventType.ISSUED, ("14",)),
        (EventType.ENDED, ("31",)),
        (EventType.ISSUED, ("22",)),
        (EventType.ENDED, ("14",)),
        (EventType.ISSUED, ("9",)),
        (EventType.ENDED, ("9",)),
    ]
    assert {(e.alert.status, e.alert.issuer) for e in replayed} == {(Status.EXERCISE, "replay")}
    issued = next(e.alert for e in replayed if e.alert.regions == ("31",))
    assert issued.headline["en"].startswith("EXERCISE") and issued.headline["uk"].startswith("НАВЧАННЯ")
    assert "2022-10-10 03:50" in issued.instruction["en"]


async def test_a_stopped_replay_ends_what_it_issued(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        history = await _prepared(rt)
        items = await history.replay_plan(START, END, sources={"official"})
        replay = Replay(rt.service, items, start=START, end=END, speed=60)
        task = asyncio.create_task(replay.run())
        for _ in range(200):
            if replay.status.issued >= 2:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert replay.status.issued >= 2
        assert replay.status.ended == replay.status.issued
        assert await rt.service.active(frozenset(Status)) == []


def _db(tmp_path: Path) -> list[str]:
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    source = tmp_path / "official.csv"
    source.write_bytes(FILE.data)
    result = CliRunner().invoke(main, ["import", str(source), *db])
    assert result.exit_code == 0, result.output
    return db


def test_the_replay_command(tmp_path: Path) -> None:
    db = _db(tmp_path)
    runner = CliRunner()
    window = ["--from", "2022-10-10T04:00Z", "--to", "2022-10-10T04:10Z"]
    result = runner.invoke(main, ["replay", *window, "--speed", "3000", *db])
    assert result.exit_code == 0, result.output
    assert "Replay finished: 5 issued, 5 ended, 0 failed." in result.output
    listed = runner.invoke(main, ["list", "--state", "all", "--all-statuses", "--json", *db])
    assert listed.output.count('"status":"exercise"') == 5
    assert '"state":"active"' not in listed.output
    empty = runner.invoke(main, ["replay", "--from", "2030-01-01T00:00Z", "--to", "2030-01-02T00:00Z", *db])
    assert empty.exit_code == 1
    assert "sirena import --builtin" in empty.output
    for bad in (["--from", "yesterday", "--to", "2022-10-10T04:10Z"], ["--from", "2022-10-10T04:00Z", "--to", "soon"]):
        refused = runner.invoke(main, ["replay", *bad, *db])
        assert (refused.exit_code, refused.stdout) == (1, "")  # one line, no traceback
        assert refused.stderr.startswith("sirena: ") and refused.stderr.count("\n") == 1
        assert "is neither a date (YYYY-MM-DD) nor an ISO 8601 time" in refused.stderr
    issued = runner.invoke(main, ["issue", "--region", "31", "--status", "exercise", *db])
    assert issued.exit_code == 0
    with sqlite3.connect(tmp_path / "cli.db") as conn:  # as if a replay had been killed with this alert active
        conn.execute('UPDATE alerts SET body = replace(body, \'"issuer":"cli"\', \'"issuer":"replay"\')')
    cleaned = runner.invoke(main, ["replay", "--end-leftovers", *db])
    assert cleaned.exit_code == 0, cleaned.output
    assert "1 leftover replay alerts ended." in cleaned.output


def test_ctrl_c_stops_the_replay_and_ends_its_alerts(tmp_path: Path) -> None:
    db = _db(tmp_path)
    command = [sys.executable, "-m", "sirena", "replay", "--from", "2022-10-10T04:00Z", "--to", "2022-10-10T04:10Z"]
    process = subprocess.Popen([*command, "--speed", "2", *db], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "cli.db") as conn:
                active = conn.execute("SELECT COUNT(*) FROM alerts WHERE state = 'active'").fetchone()[0]
            if active:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        assert active
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err.decode()
    assert "Replay stopped at 2022-10-10T04:0" in err.decode()
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        states = conn.execute("SELECT state, status FROM alerts WHERE status = 'exercise'").fetchall()
    assert states and {s for s, _ in states} == {AlertState.ENDED.value}
