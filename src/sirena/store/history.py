"""SQL for the alert history: imported alerts, rollups, and the queries behind statistics, listings and export.

Every function takes a portable connection (``sirena.store.sql.Connection``: SQLite or PostgreSQL); writers run
through ``store.transaction`` (inside the one write transaction), readers through ``store.read``. Imported alerts
live in the ``alerts`` and ``alert_regions`` tables like every other alert, but have no ``events`` and no
``alert_versions`` rows: they were never live, so no live channel ever hears of them. ``history_flags`` marks the
few with an estimated or open end. Region lists are passed as one JSON array (``json_each``), so any number of
regions costs one parameter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sirena.domain.model import Kind, Source
from sirena.history.records import HistoryRecord, supersedes, to_ms
from sirena.history.rollup import Rollup
from sirena.protocol.alert_json import parse_time
from sirena.store.sql import Connection

__all__ = [
    "ROLLUP_CURSOR_KEY",
    "AlertRow",
    "ExportRow",
    "HistoryFilter",
    "WriteCounts",
    "Written",
    "alert_rows",
    "apply_live_rollups",
    "coverage",
    "export_page",
    "find_alert_bodies",
    "lookup",
    "overlapping",
    "rollup_buckets",
    "rollup_cursor",
    "time_text",
    "undo_records",
    "write_records",
]

ROLLUP_CURSOR_KEY = "history.rollup_seq"
"""``meta`` key: the last event sequence number whose ended alerts are in the rollups."""

AlertRow = tuple[str, int, str, str, str, str, str, str, str, str]
"""(id, version, state, status, kind, source, started_at, updated_at, ended_at, body) of the ``alerts`` table."""

_UPSERT = (
    "INSERT INTO {table} (region_id, bucket, source, kind, alerts, ms) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(region_id, bucket, source, kind) DO UPDATE SET "
    "alerts = {table}.alerts + excluded.alerts, ms = {table}.ms + excluded.ms"
)
TABLES = {"hour": "history_rollup_hour", "day": "history_rollup_day"}


@dataclass(frozen=True, slots=True)
class WriteCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def _ms(text: str) -> int:
    moment = parse_time(text)
    assert moment is not None
    return to_ms(moment)


def lookup(conn: Connection, ids: Sequence[str]) -> dict[str, HistoryRecord]:
    """The stored imported alerts among ``ids``, as records."""
    rows = conn.execute(
        "SELECT a.id, a.source, a.kind, a.started_at, a.ended_at, r.region_id, "
        "coalesce(f.estimated_end, 0), coalesce(f.open_ended, 0) "
        "FROM alerts a JOIN alert_regions r ON r.alert_id = a.id LEFT JOIN history_flags f ON f.alert_id = a.id "
        "WHERE a.id IN (SELECT value FROM json_each(?)) AND a.ended_at IS NOT NULL",
        (json.dumps(list(ids)),),
    ).fetchall()
    found: dict[str, HistoryRecord] = {}
    for alert_id, source, kind, started, ended, region_id, estimated, open_ended in rows:
        found[alert_id] = HistoryRecord(
            Source(source),
            region_id,
            _ms(started),
            _ms(ended),
            Kind(kind),
            estimated_end=bool(estimated),
            open_ended=bool(open_ended),
        )
    return found


def write_records(conn: Connection, batch: Sequence[tuple[HistoryRecord, AlertRow]]) -> WriteCounts:
    """Store imported alerts and their rollups in one go; idempotent.

    An alert already stored is left alone unless the new record is preferred (see
    :func:`sirena.history.records.preferred`), in which case its end is replaced and the rollups corrected.
    """
    stored = lookup(conn, [row[0] for _, row in batch])
    rollup = Rollup()
    new_rows: list[AlertRow] = []
    regions: list[tuple[str, str]] = []
    flags: list[tuple[str, int, int]] = []
    changed: list[tuple[str, str, str, str]] = []
    unflag: list[tuple[str]] = []
    unchanged = 0
    for record, row in batch:
        old = stored.get(row[0])
        if old is None:
            new_rows.append(row)
            regions.append((row[0], record.region_id))
            if record.flagged:
                flags.append((row[0], int(record.estimated_end), int(record.open_ended)))
            rollup.add((record.region_id,), record.source.value, record.kind.value, record.started_ms, record.ended_ms)
            continue
        if not supersedes(old, record):
            unchanged += 1
            continue
        changed.append((row[7], row[8], row[9], row[0]))
        if record.flagged:
            flags.append((row[0], int(record.estimated_end), int(record.open_ended)))
        else:
            unflag.append((row[0],))
        rollup.add((old.region_id,), old.source.value, old.kind.value, old.started_ms, old.ended_ms, sign=-1)
        rollup.add((record.region_id,), record.source.value, record.kind.value, record.started_ms, record.ended_ms)
    conn.executemany(
        "INSERT INTO alerts (id, version, state, status, kind, source, started_at, updated_at, ended_at, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        new_rows,
    )
    conn.executemany("INSERT INTO alert_regions (alert_id, region_id, partial) VALUES (?, ?, 0)", regions)
    _rewrite(conn, changed, flags, unflag, rollup)
    return WriteCounts(added=len(new_rows), updated=len(changed), unchanged=unchanged)


Written = tuple[HistoryRecord, HistoryRecord | None, tuple[str, str, str] | None]
"""What an import handed :func:`write_records` for one alert: the record, the stored record it replaces (or None)
and that alert's (updated_at, ended_at, body) before."""


def alert_rows(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """(updated_at, ended_at, body) of the alerts among ``ids``: what :func:`undo_records` puts back."""
    rows = conn.execute(
        "SELECT id, updated_at, ended_at, body FROM alerts WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ).fetchall()
    return {alert_id: (updated, ended, body) for alert_id, updated, ended, body in rows}


def undo_records(conn: Connection, written: Sequence[Written]) -> int:
    """Take back what an import that stopped wrote (its earlier batches are committed): remove the alerts it added,
    put back the ends it replaced, and correct the rollups. Only writes that are there are taken back (the batch
    in flight when the import stopped may or may not have committed). Returns how many alerts were taken back."""
    now = lookup(conn, [record.id for record, _, _ in written])
    rollup = Rollup()
    added: list[str] = []
    restored: list[tuple[str, str, str, str]] = []
    flags: list[tuple[str, int, int]] = []
    unflag: list[tuple[str]] = []
    for record, old, row in written:
        found = now.get(record.id)
        if found is None or (found.ended_ms, found.flagged) != (record.ended_ms, record.flagged):
            continue  # not written
        rollup.add((found.region_id,), found.source.value, found.kind.value, found.started_ms, found.ended_ms, sign=-1)
        if old is None or row is None:
            added.append(record.id)
            continue
        restored.append((*row, record.id))
        if old.flagged:
            flags.append((record.id, int(old.estimated_end), int(old.open_ended)))
        else:
            unflag.append((record.id,))
        rollup.add((old.region_id,), old.source.value, old.kind.value, old.started_ms, old.ended_ms)
    gone = (json.dumps(added),)
    conn.execute("DELETE FROM history_flags WHERE alert_id IN (SELECT value FROM json_each(?))", gone)
    conn.execute("DELETE FROM alert_regions WHERE alert_id IN (SELECT value FROM json_each(?))", gone)
    conn.execute("DELETE FROM alerts WHERE id IN (SELECT value FROM json_each(?))", gone)
    _rewrite(conn, restored, flags, unflag, rollup)
    for unit, table in TABLES.items():  # cells the import made and the undo emptied go too
        cells = [row[:4] for row in rollup.rows(rollup.hours if unit == "hour" else rollup.days)]
        conn.executemany(
            f"DELETE FROM {table} WHERE region_id = ? AND bucket = ? AND source = ? AND kind = ? "
            "AND alerts = 0 AND ms = 0",
            cells,
        )
    return len(added) + len(restored)


def _rewrite(
    conn: Connection,
    ends: Sequence[tuple[Any, ...]],
    flags: Sequence[tuple[Any, ...]],
    unflag: Sequence[tuple[Any, ...]],
    rollup: Rollup,
) -> None:
    """Alerts' ends and bodies replaced, their history flags set or cleared, and the rollups moved by ``rollup``
    (what an import writes over stored alerts, and what taking an import back puts back)."""
    conn.executemany("UPDATE alerts SET updated_at = ?, ended_at = ?, body = ? WHERE id = ?", ends)
    conn.executemany(
        "INSERT INTO history_flags (alert_id, estimated_end, open_ended) VALUES (?, ?, ?) ON CONFLICT(alert_id) "
        "DO UPDATE SET estimated_end = excluded.estimated_end, open_ended = excluded.open_ended",
        flags,
    )
    conn.executemany("DELETE FROM history_flags WHERE alert_id = ?", unflag)
    _write_rollup(conn, rollup)


def _write_rollup(conn: Connection, rollup: Rollup) -> None:
    conn.executemany(_UPSERT.format(table=TABLES["hour"]), rollup.rows(rollup.hours))
    conn.executemany(_UPSERT.format(table=TABLES["day"]), rollup.rows(rollup.days))


# -- live alerts -----------------------------------------------------------------------------------------------


def rollup_cursor(conn: Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (ROLLUP_CURSOR_KEY,)).fetchone()
    return int(row[0]) if row else 0


def apply_live_rollups(conn: Connection, expected: int, upto: int, rollup: Rollup) -> bool:
    """Add the rollups of the events ``expected + 1 … upto`` and move the cursor, unless another process has
    moved it meanwhile (then nothing is written and the caller reads the events again)."""
    if rollup_cursor(conn) != expected:
        return False
    _write_rollup(conn, rollup)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (ROLLUP_CURSOR_KEY, str(upto)),
    )
    return True


# -- reading -------------------------------------------------------------------------------------------------------


def rollup_buckets(
    conn: Connection,
    table: str,
    ranges: Sequence[tuple[int, int]],
    regions: Sequence[str] | None,
    sources: Sequence[str] | None,
    kinds: Sequence[str] | None,
) -> list[tuple[int, int, int]]:
    """``(bucket, alerts, ms)`` of the ``hour`` or ``day`` rollups in ``ranges`` (``[start, end)`` in Unix seconds),
    summed over ``regions`` (all when ``None``), sources and kinds, by bucket."""
    clauses = ["bucket >= ?", "bucket < ?"]
    params: list[Any] = []
    if regions is not None:
        clauses.append("region_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(regions)))
    if sources is not None:
        clauses.append("source IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(sources)))
    if kinds is not None:
        clauses.append("kind IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(kinds)))
    sql = (
        f"SELECT bucket, SUM(alerts), SUM(ms) FROM {TABLES[table]} WHERE {' AND '.join(clauses)} "
        "GROUP BY bucket ORDER BY bucket"
    )
    out: list[tuple[int, int, int]] = []
    for low, high in ranges:  # one index range each: SQLite scans the whole index for an OR of ranges
        out.extend((int(b), int(a), int(m)) for b, a, m in conn.execute(sql, (low, high, *params)))
    return out


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Alerts targeting one of ``regions`` (all when ``None``) that started in ``[start, end)``."""

    regions: frozenset[str] | None = None
    start: str | None = None
    end: str | None = None
    sources: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    statuses: frozenset[str] | None = frozenset({"actual"})

    def where(self) -> tuple[list[str], list[Any]]:
        clauses = ["r.partial = 0"]
        params: list[Any] = []
        if self.regions is not None:
            clauses.append("r.region_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(self.regions)))
        if self.start is not None:
            clauses.append("a.started_at >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append("a.started_at < ?")
            params.append(self.end)
        for column, values in (("a.source", self.sources), ("a.kind", self.kinds), ("a.status", self.statuses)):
            if values is not None:
                clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(sorted(values)))
        return clauses, params


def find_alert_bodies(
    conn: Connection, where: HistoryFilter, limit: int, before: tuple[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """``(started_at, id, body)`` of matching alerts, newest first, each once; ``before`` continues a page."""
    clauses, params = where.where()
    if before is not None:
        clauses.append("(a.started_at, a.id) < (?, ?)")
        params.extend(before)
    rows = conn.execute(
        "SELECT DISTINCT a.started_at, a.id, a.body FROM alerts a JOIN alert_regions r ON r.alert_id = a.id "
        f"WHERE {' AND '.join(clauses)} ORDER BY a.started_at DESC, a.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [(str(s), str(i), str(b)) for s, i, b in rows]


ExportRow = tuple[str, str, str, str, str, str, str, str | None, int, int]
"""(id, region_id, source, kind, status, state, started_at, ended_at, estimated_end, open_ended)."""


def export_page(
    conn: Connection, where: HistoryFilter, after: tuple[str, str, str] | None, limit: int
) -> list[ExportRow]:
    """One page of (alert, region) rows in start order; ``after`` is the last (started_at, id, region) seen."""
    clauses, params = where.where()
    if after is not None:
        clauses.append("(a.started_at, a.id, r.region_id) > (?, ?, ?)")
        params.extend(after)
    rows = conn.execute(
        "SELECT a.id, r.region_id, a.source, a.kind, a.status, a.state, a.started_at, a.ended_at, "
        "coalesce(f.estimated_end, 0), coalesce(f.open_ended, 0) "
        "FROM alerts a JOIN alert_regions r ON r.alert_id = a.id LEFT JOIN history_flags f ON f.alert_id = a.id "
        f"WHERE {' AND '.join(clauses)} ORDER BY a.started_at, a.id, r.region_id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [tuple(row) for row in rows]


def overlapping(
    conn: Connection, start: str, end: str, sources: Sequence[str], regions: frozenset[str] | None
) -> list[tuple[str, str, str, str, str]]:
    """``(id, region_id, kind, started_at, ended_at)`` of actual ended alerts in force at some time in
    ``[start, end)``, in start order (what a replay of that period issues)."""
    where = HistoryFilter(regions=regions, sources=frozenset(sources))
    clauses, params = where.where()
    clauses += ["a.started_at < ?", "a.ended_at > ?", "a.state != 'active'"]
    params += [end, start]
    rows = conn.execute(
        "SELECT a.id, r.region_id, a.kind, a.started_at, a.ended_at FROM alerts a "
        f"JOIN alert_regions r ON r.alert_id = a.id WHERE {' AND '.join(clauses)} "
        "ORDER BY a.started_at, a.id, r.region_id",
        params,
    ).fetchall()
    return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]


def coverage(conn: Connection) -> list[tuple[str, int, str | None, str | None]]:
    """``(source, alerts, first start, last end)`` per source of ended alerts."""
    rows = conn.execute(
        "SELECT source, COUNT(*), MIN(started_at), MAX(ended_at) FROM alerts WHERE ended_at IS NOT NULL "
        "AND status = 'actual' GROUP BY source ORDER BY source"
    ).fetchall()
    return [(str(s), int(n), first, last) for s, n, first, last in rows]


def time_text(ms: int) -> str:
    """A stored time (``2022-03-15T16:10:34.000Z``, as :func:`format_time` writes it) from Unix milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
