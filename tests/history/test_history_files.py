"""Importing newer downloads: matching rules, unmatched rows with reasons, merging files, the command line."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sirena.cli import main
from sirena.cluster import Leases
from sirena.errors import LeaseLost
from sirena.history.archive import History
from sirena.history.importer import IMPORT_LEASE, HistoryFile, collect, import_history, read_file
from sirena.history.report import ImportReport
from sirena.regions import RegionRegistry
from sirena.store import SQLiteStore
from sirena.store import leases as leases_sql

OFFICIAL = "oblast,raion,hromada,level,started_at,finished_at,source"
ROWS = [
    # matched, with the raion's former name, a typographic apostrophe and transliterated English
    "Волинська область,Володимир-Волинський район,Затурцівська територіальна громада,hromada,"
    "2023-05-01 10:00:00+00:00,2023-05-01 11:00:00+00:00,official",
    "Харківська область,Куп'янський район,,raion,2023-05-01 10:05:00+00:00,2023-05-01 10:35:00+00:00,official",
    "Kharkivska oblast,Kupianskyi raion,,raion,2023-05-02 10:05:00+00:00,2023-05-02 10:35:00+00:00,official",
    "Volynska oblast,,,oblast,2023-05-03 22:00:00+00:00,2023-05-04 01:30:00+00:00,official",
    # repaired: oblast and raion swapped
    "Куп’янський район,Харківська область,Великобурлуцька територіальна громада,hromada,"
    "2023-05-05 08:00:00+00:00,2023-05-05 08:20:00+00:00,official",
    # not matched
    "Атлантида,,,oblast,2023-05-01 10:00:00+00:00,2023-05-01 11:00:00+00:00,official",
    "Волинська область,Неіснуючий район,,raion,2023-05-01 10:00:00+00:00,2023-05-01 11:00:00+00:00,official",
    "Волинська область,Володимирський район,Неіснуюча громада,hromada,"
    "2023-05-01 10:00:00+00:00,2023-05-01 11:00:00+00:00,official",
    "Волинська область,,,city,2023-05-01 10:00:00+00:00,2023-05-01 11:00:00+00:00,official",
    "Волинська область,,,oblast,yesterday,2023-05-01 11:00:00+00:00,official",
    "Волинська область,,,oblast,2023-05-06 10:00:00+00:00,,official",
    "Волинська область,,,oblast,2023-05-07 10:00:00+00:00,2023-05-07 10:00:00+00:00,official",
]


def _file(name: str, header: str, rows: list[str]) -> HistoryFile:
    return HistoryFile(name, ("\n".join([header, *rows]) + "\n").encode())


def test_matching_rules_and_reasons(ua: RegionRegistry) -> None:
    unmatched: list = []
    merged, reports, ongoing = collect([_file("new.csv", OFFICIAL, ROWS)], ua, unmatched=unmatched)
    (report,) = reports
    assert (report.rows, report.matched) == (12, 5)
    assert report.unmatched == {
        "oblast_unknown": 1,
        "raion_unknown": 1,
        "hromada_unknown": 1,
        "level_unknown": 1,
        "bad_time": 2,
        "not_ended": 1,
    }
    assert report.repaired == {"swapped_oblast_raion": 1}
    zaturtsi = ua.find("Затурцівська територіальна громада", within="38")
    assert zaturtsi is not None
    assert sorted(r.region_id for r in merged.values() if not r.open_ended) == sorted(
        [zaturtsi.id, "123", "123", "8", ua.children("123")[0].id]
    )
    assert ongoing == 2  # an official file brings the two long-running alerts up to its last end
    assert [(u.line, u.reason) for u in unmatched] == [
        (7, "oblast_unknown"),
        (8, "raion_unknown"),
        (9, "hromada_unknown"),
        (10, "level_unknown"),
        (11, "bad_time"),
        (12, "not_ended"),
        (13, "bad_time"),
    ]


async def _import(db: Path, ua: RegionRegistry, *files: HistoryFile) -> tuple[int, int, int]:
    store = SQLiteStore(f"sqlite:///{db}")
    await store.open()
    try:
        report = await import_history(store, ua, files, batch_size=2)
    finally:
        await store.close()
    return report.added, report.updated, report.unchanged


def _state(db: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]]]:
    with sqlite3.connect(db) as conn:
        alerts = conn.execute("SELECT id, started_at, ended_at, body FROM alerts ORDER BY id").fetchall()
        hours = conn.execute(
            "SELECT region_id, bucket, source, kind, alerts, ms FROM history_rollup_hour WHERE alerts != 0 OR ms != 0 "
            "ORDER BY 1, 2, 3, 4"
        ).fetchall()
        days = conn.execute(
            "SELECT region_id, bucket, source, kind, alerts, ms FROM history_rollup_day WHERE alerts != 0 OR ms != 0 "
            "ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return alerts, hours, days


VOLUNTEER = "region,started_at,finished_at,naive"
UK = _file(
    "volunteer_uk.csv",
    VOLUNTEER,
    [
        "Київ,2024-05-18 23:26:26+00:00,2024-05-18 23:56:26+00:00,True",
        "Черкаська область,2024-05-18 20:00:00+00:00,2024-05-18 21:00:00+00:00,False",
    ],
)
EN = _file(
    "volunteer_en.csv",
    VOLUNTEER,
    [
        "Cherkaska oblast,2024-05-18 20:00:00+00:00,2024-05-18 21:00:00+00:00,False",
        "Kyiv City,2024-05-18 23:26:26+00:00,2024-05-19 00:40:00+00:00,False",  # its end seen later
        "Kyiv City,2024-05-19 10:00:00+00:00,2024-05-19 10:30:00+00:00,False",
    ],
)


async def test_files_merge_into_one_alert_each_in_any_order(tmp_path: Path, ua: RegionRegistry) -> None:
    one, other = tmp_path / "a.db", tmp_path / "b.db"
    assert await _import(one, ua, UK) == (2, 0, 0)
    assert await _import(one, ua, EN) == (1, 1, 1)  # one new alert, one observed end replaces an estimated one
    assert await _import(other, ua, EN, UK) == (3, 0, 0)
    assert await _import(other, ua, UK) == (0, 0, 2)
    assert _state(one) == _state(other)
    with sqlite3.connect(one) as conn:
        kyiv = conn.execute(
            "SELECT a.ended_at, f.estimated_end FROM alerts a LEFT JOIN history_flags f ON f.alert_id = a.id "
            "WHERE a.started_at = '2024-05-18T23:26:26.000Z'"
        ).fetchone()
    assert kyiv == ("2024-05-19T00:40:00.000Z", None)


async def test_a_newer_official_file_extends_the_long_running_alerts(tmp_path: Path, ua: RegionRegistry) -> None:
    older = _file("a.csv", OFFICIAL, [ROWS[3]])
    newer = _file("b.csv", OFFICIAL, [ROWS[3], ROWS[4]])
    db, fresh = tmp_path / "a.db", tmp_path / "b.db"
    assert await _import(db, ua, older) == (3, 0, 0)
    assert await _import(db, ua, newer) == (1, 2, 1)
    assert await _import(fresh, ua, newer) == (4, 0, 0)
    assert _state(db) == _state(fresh)


def test_the_import_command(tmp_path: Path) -> None:
    source = tmp_path / "official_data_uk.csv"
    source.write_text("\n".join([OFFICIAL, *ROWS]) + "\n", encoding="utf-8")
    unmatched = tmp_path / "unmatched.csv"
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(source), "--unmatched", str(unmatched), *db])
    assert result.exit_code == 0, result.output
    assert "official_data_uk.csv" in result.output
    assert "not matched: 2 × start or end unreadable" in result.output
    assert "7 alerts after merging the files (2 long-running added): 7 new" in result.output
    with unmatched.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["reason"] for r in rows].count("bad_time") == 2
    assert rows[0]["row"].startswith("Атлантида,")
    again = runner.invoke(main, ["import", str(source), "--json", "--unmatched", str(unmatched), *db])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)  # the JSON alone: the note about the unmatched file goes to stderr
    assert again.stderr == f"Unmatched rows written to {unmatched}.\n"
    assert (report["added"], report["unchanged"], report["unmatched"]["bad_time"]) == (0, 7, 2)
    nowhere = runner.invoke(main, ["import", str(source), "--unmatched", str(tmp_path / "no" / "u.csv"), *db])
    assert nowhere.exit_code == 1 and isinstance(nowhere.exception, SystemExit)  # one line, before any import
    assert "No such file or directory" in nowhere.output and "alerts after merging" not in nowhere.output
    nothing = runner.invoke(main, ["import", *db])
    assert nothing.exit_code == 2
    junk = tmp_path / "junk.txt"
    junk.write_text("hello", encoding="utf-8")
    refused = runner.invoke(main, ["import", str(junk), *db])
    assert refused.exit_code == 1
    assert "junk.txt: neither a CSV" in refused.output


@pytest.mark.parametrize("suffix", [".csv.gz"])
def test_gzipped_downloads_are_read(tmp_path: Path, suffix: str, ua: RegionRegistry) -> None:
    import gzip

    blob = gzip.compress(
        ("\n".join([VOLUNTEER, "Київ,2024-05-18 23:26:26+00:00,2024-05-18 23:56:26+00:00,True"])).encode()
    )
    merged, reports, _ = collect([HistoryFile("v" + suffix, blob)], ua)
    assert reports[0].matched == 1
    (record,) = merged.values()
    assert (record.region_id, record.estimated_end) == ("31", True)


def test_an_unmatched_file_that_cannot_be_written_stops_the_import_before_it_starts(tmp_path: Path) -> None:
    """A folder that exists but takes no new file (/proc here, even for root) is found before anything is
    imported: one line, exit 1, and the database as before."""
    source = tmp_path / "official_data_uk.csv"
    source.write_text("\n".join([OFFICIAL, *ROWS]) + "\n", encoding="utf-8")
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    runner = CliRunner()
    refused = runner.invoke(main, ["import", str(source), "--unmatched", "/proc/sirena-unmatched.csv", *db])
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("sirena: Could not open file")
    listed = runner.invoke(main, ["list", "--state", "all", *db])
    assert listed.exit_code == 0 and listed.stdout == ""


def test_an_import_that_fails_keeps_an_earlier_unmatched_file(tmp_path: Path) -> None:
    source = tmp_path / "official_data_uk.csv"
    source.write_text("\n".join([OFFICIAL, *ROWS]) + "\n", encoding="utf-8")
    earlier = tmp_path / "unmatched.csv"
    earlier.write_text("file,line,reason,row\n", encoding="utf-8")
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    failed = CliRunner().invoke(
        main, ["import", str(source), "--unmatched", str(earlier), "--database-url", f"sqlite:///{folder}"]
    )
    assert failed.exit_code == 1 and failed.stderr.count("\n") == 1, failed.output
    assert earlier.read_text(encoding="utf-8") == "file,line,reason,row\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-database", "official_data_uk.csv", "unmatched.csv"]


class Stop(Exception):
    """What Ctrl-C or a failing batch is to the import: it stops between two batches."""


async def _older_imported(tmp_path: Path, ua: RegionRegistry) -> tuple[Path, HistoryFile, HistoryFile]:
    """A database holding an older file's alerts, that file and a newer one that adds to and replaces them."""
    older = _file("a.csv", OFFICIAL, [ROWS[3]])
    newer = _file("b.csv", OFFICIAL, [ROWS[0], ROWS[1], ROWS[3], ROWS[4]])
    db = tmp_path / "a.db"
    assert await _import(db, ua, older) == (3, 0, 0)
    return db, older, newer


async def _unbroken(tmp_path: Path, ua: RegionRegistry, *files: HistoryFile) -> tuple[Any, ...]:
    """The state ``files`` leave, each imported whole in turn into a fresh database."""
    unbroken = tmp_path / "unbroken.db"
    for file in files:
        await _import(unbroken, ua, file)
    return _state(unbroken)


@pytest.mark.parametrize("after_batches", [1, 2, 3])
async def test_an_import_that_stops_midway_leaves_the_database_as_before(
    tmp_path: Path, ua: RegionRegistry, after_batches: int
) -> None:
    """Batches already committed (new alerts, and ends that replaced stored ones) are taken back, rollups too."""
    db, older, newer = await _older_imported(tmp_path, ua)
    before = _state(db)
    written: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "write" and done:
            written.append(done)
            if len(written) == after_batches:
                raise Stop

    store = SQLiteStore(f"sqlite:///{db}")
    await store.open()
    try:
        with pytest.raises(Stop):
            await import_history(store, ua, [newer], batch_size=2, progress=progress)
    finally:
        await store.close()
    assert written[-1] == 2 * after_batches  # batches of 2 alerts were written before it stopped
    assert _state(db) == before
    with sqlite3.connect(db) as conn:
        zeros = conn.execute("SELECT COUNT(*) FROM history_rollup_hour WHERE alerts = 0 AND ms = 0").fetchone()
        flags = conn.execute("SELECT COUNT(*) FROM history_flags").fetchone()
    fresh = tmp_path / "fresh.db"
    await _import(fresh, ua, older)
    with sqlite3.connect(fresh) as conn:
        assert conn.execute("SELECT COUNT(*) FROM history_flags").fetchone() == flags
        assert conn.execute("SELECT COUNT(*) FROM history_rollup_hour WHERE alerts = 0 AND ms = 0").fetchone() == zeros
    await _import(db, ua, newer)  # the next import starts over and ends where an unbroken one does
    assert _state(db) == await _unbroken(tmp_path, ua, older, newer)


# -- one import at a time ------------------------------------------------------------------------------------------

WAITING = "Another import of history into this database is running; waiting for it to end.\n"


async def _cli_import(db: Path, source: Path) -> asyncio.subprocess.Process:
    """``sirena import`` in a process of its own; it looks for the lease every second while it waits."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "sirena", "import", str(source), "--json", "--database-url", f"sqlite:///{db}"),
        env={**os.environ, "SIRENA_LEASE_TTL_S": "3"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _waits(cli: asyncio.subprocess.Process) -> None:
    assert cli.stderr is not None
    async with asyncio.timeout(120):
        assert (await cli.stderr.readline()).decode() == WAITING
    assert cli.returncode is None


async def _report(cli: asyncio.subprocess.Process) -> tuple[int, int, int]:
    async with asyncio.timeout(120):
        out, err = await cli.communicate()
    assert cli.returncode == 0, err
    assert err == b""  # the one line about waiting (read already), nothing else
    report = json.loads(out)
    return report["added"], report["updated"], report["unchanged"]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "official_data_uk.csv"
    path.write_text("\n".join([OFFICIAL, *ROWS]) + "\n", encoding="utf-8")
    return path


async def test_the_import_command_waits_for_a_server_s_import_and_then_finds_nothing_new(
    tmp_path: Path, ua: RegionRegistry, source: Path
) -> None:
    db = tmp_path / "a.db"
    store = SQLiteStore(f"sqlite:///{db}")
    await store.open()
    importing, proceed = asyncio.Event(), asyncio.Event()

    async def work() -> ImportReport:
        importing.set()
        report = await History(store, ua).import_files([read_file(source)])
        await proceed.wait()  # done, and still holding the lease
        return report

    try:
        async with Leases(store, "server", 30.0) as server:
            running = asyncio.create_task(server.holding(IMPORT_LEASE, work))
            async with asyncio.timeout(60):
                await importing.wait()
            cli = await _cli_import(db, source)
            await _waits(cli)
            proceed.set()
            first = await running
            assert await _report(cli) == (0, 0, 7)
        assert (first.added, first.unchanged) == (7, 0)
        assert await store.read(lambda c: leases_sql.holders(c)) == []  # both gave the lease up
    finally:
        await store.close()


async def test_two_import_commands_wait_and_one_of_them_imports(tmp_path: Path, source: Path) -> None:
    db = tmp_path / "a.db"
    store = SQLiteStore(f"sqlite:///{db}")
    await store.open()
    try:
        async with Leases(store, "server", 30.0) as server:
            assert await server.hold(IMPORT_LEASE)
            clis = [await _cli_import(db, source) for _ in range(2)]
            for cli in clis:
                await _waits(cli)
            await server.release(IMPORT_LEASE)
            reports = sorted([await _report(cli) for cli in clis])
        assert reports == [(0, 0, 7), (7, 0, 0)]  # the one that waited longer found everything there
    finally:
        await store.close()


class Paused:
    """The store, whose next transaction once armed never comes: an import caught between two batches."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.armed = False
        self.caught = asyncio.Event()

    async def transaction(self, fn):  # type: ignore[no-untyped-def]
        if self.armed:
            self.armed = False
            self.caught.set()
            await asyncio.Event().wait()
        return await self.store.transaction(fn)

    async def read(self, fn):  # type: ignore[no-untyped-def]
        return await self.store.read(fn)


async def test_an_import_whose_lease_is_lost_stops_and_keeps_what_it_wrote_for_the_next_holder(
    tmp_path: Path, ua: RegionRegistry
) -> None:
    """The process holding the lease now may already count the alerts written as stored: they stay, and its
    import completes them (as ``History.import_files`` is told by ``leases``)."""
    db, older, newer = await _older_imported(tmp_path, ua)
    before = _state(db)
    store = SQLiteStore(f"sqlite:///{db}")
    await store.open()
    paused = Paused(store)
    written: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "write" and done:
            written.append(done)
            paused.armed = True  # the batch after this one waits

    try:
        async with Leases(store, "a", 3.0) as leases:
            running = asyncio.create_task(
                leases.holding(
                    IMPORT_LEASE,
                    lambda: import_history(
                        paused,
                        ua,
                        [newer],
                        batch_size=2,
                        progress=progress,
                        take_back=lambda: IMPORT_LEASE in leases.held,
                    ),
                )
            )
            async with asyncio.timeout(60):
                await paused.caught.wait()
            assert _state(db) != before  # the first batch is in
            await store.transaction(lambda c: c.execute("UPDATE leases SET owner = 'b', until = until + 600"))
            with pytest.raises(LeaseLost):
                async with asyncio.timeout(60):
                    await running
            assert leases.held == []
        assert written == [2]
        kept = _state(db)
        assert kept != before  # the first batch stays
        assert [owner for _, owner, _ in await store.read(lambda c: leases_sql.holders(c))] == ["b"]
    finally:
        await store.close()
    assert await _import(db, ua, newer) != (0, 0, 0)  # the next holder's import completes what was written
    assert _state(db) == await _unbroken(tmp_path, ua, older, newer)
