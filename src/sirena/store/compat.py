"""Storage for the compatible APIs: a consistent read of the actual alerts they show, and ukrainealarm webhook
registrations. SQL functions take a portable connection (``sirena.store.sql.Connection``); :class:`CompatStore`
runs them on the store's reader pool or writer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

from sirena.domain.model import Alert
from sirena.errors import ConfigurationError
from sirena.protocol.alert_json import alert_from_dict, format_time, parse_time
from sirena.store.sql import Connection, dialect

T = TypeVar("T")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ViewRows:
    """What the compatible APIs show, read in one transaction."""

    seq: int
    """The last event sequence number when read."""
    alerts: tuple[Alert, ...]
    """Active ``actual`` alerts, oldest first."""
    issued: dict[str, int]
    """Alert id → sequence number of the event that issued it."""
    last_change: tuple[int, datetime] | None
    """(sequence number, time) of the newest event of an ``actual`` alert after the ``after`` asked for."""


@dataclass(frozen=True, slots=True)
class Webhook:
    token_id: int
    url: str
    created_at: datetime
    updated_at: datetime
    subscription_id: str | None = None
    """The webhook delivery's subscription that sends this key's events."""


def issued_seqs(conn: Connection, alert_ids: Iterable[str]) -> dict[str, int]:
    """Alert id → the sequence number of its ``alert.issued`` event (version 1 in ``alert_versions``)."""
    ids = list(alert_ids)
    found: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            f"SELECT alert_id, event_seq FROM alert_versions WHERE version = 1 AND alert_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        found.update((str(r[0]), int(r[1])) for r in rows)
    return found


IMPORTED_BASE = 10**11
"""Record bases of alerts that were never live (imported history, no events) start here: their base is this
plus the alert's row number in ``alerts``, so they never meet the bases of live alerts (event sequence numbers)."""


@dataclass(frozen=True, slots=True)
class RecordBases:
    bases: dict[str, int]
    """Alert id → the base of its alerts.in.ua record ids (see :func:`record_bases`)."""
    estimated: frozenset[str]
    """Alerts whose end was estimated by the dataset they were imported from, not observed."""


def record_bases(conn: Connection, alert_ids: Iterable[str]) -> RecordBases:
    """A stable integer per alert for building record ids: the sequence number of its ``alert.issued`` event,
    or, for an alert imported from history (which has no events), :data:`IMPORTED_BASE` + its row number."""
    ids = list(alert_ids)
    bases = issued_seqs(conn, ids)
    missing = [i for i in ids if i not in bases]
    estimated: set[str] = set()
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT id, rowid FROM alerts WHERE id IN ({marks})", chunk).fetchall()
        bases.update((str(r[0]), IMPORTED_BASE + int(r[1])) for r in rows)
        if _has_table(conn, "history_flags"):
            flagged = conn.execute(
                f"SELECT alert_id FROM history_flags WHERE estimated_end = 1 AND alert_id IN ({marks})", chunk
            ).fetchall()
            estimated.update(str(r[0]) for r in flagged)
    return RecordBases(bases, frozenset(estimated))


def _has_table(conn: Connection, name: str) -> bool:
    if dialect(conn) == "postgresql":
        sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


def last_actual_change(conn: Connection, after_seq: int = 0) -> tuple[int, datetime] | None:
    """The newest event after ``after_seq`` whose alert is ``actual`` (an alert's status never changes)."""
    row = conn.execute(
        "SELECT e.seq, e.at FROM events e JOIN alerts a ON a.id = e.alert_id "
        "WHERE e.seq > ? AND a.status = 'actual' ORDER BY e.seq DESC LIMIT 1",
        (after_seq,),
    ).fetchone()
    if row is None:
        return None
    at = parse_time(row[1])
    assert at is not None
    return int(row[0]), at


def load_view(conn: Connection, after_seq: int = 0) -> ViewRows:
    """Active actual alerts, their issue sequence numbers and the last actual change, consistently."""
    conn.execute("BEGIN")
    try:
        seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
        rows = conn.execute(
            "SELECT body FROM alerts WHERE state = 'active' AND status = 'actual' ORDER BY started_at, id"
        ).fetchall()
        alerts = tuple(alert_from_dict(json.loads(r[0])) for r in rows)
        issued = issued_seqs(conn, (a.id for a in alerts))
        change = last_actual_change(conn, after_seq)
    finally:
        conn.execute("COMMIT")
    return ViewRows(seq, alerts, issued, change)


def last_change_covering(conn: Connection, region_ids: Iterable[str]) -> str | None:
    """The latest ``updated_at`` (as stored) among actual alerts issued for any of these regions."""
    ids = sorted(set(region_ids))
    if not ids:
        return None
    row = conn.execute(
        "SELECT MAX(a.updated_at) FROM alerts a JOIN alert_regions r ON r.alert_id = a.id "
        f"WHERE r.partial = 0 AND a.status = 'actual' AND r.region_id IN ({','.join('?' * len(ids))})",
        ids,
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else None


_WEBHOOK_COLUMNS = "token_id, url, created_at, updated_at, subscription_id"


def _webhook(row: tuple[int, str, str, str, str | None]) -> Webhook:
    created, updated = parse_time(row[2]), parse_time(row[3])
    assert created is not None
    assert updated is not None
    return Webhook(int(row[0]), str(row[1]), created, updated, row[4])


def get_webhook(conn: Connection, token_id: int) -> Webhook | None:
    row = conn.execute(f"SELECT {_WEBHOOK_COLUMNS} FROM compat_webhooks WHERE token_id = ?", (token_id,)).fetchone()
    return _webhook(row) if row else None


def put_webhook(
    conn: Connection, token_id: int, url: str, now: datetime, subscription_id: str | None = None
) -> Webhook:
    """Register (or replace) the one webhook of a key."""
    stamp = format_time(now)
    conn.execute(
        "INSERT INTO compat_webhooks (token_id, url, created_at, updated_at, subscription_id) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(token_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at, "
        "subscription_id = excluded.subscription_id",
        (token_id, url, stamp, stamp, subscription_id),
    )
    found = get_webhook(conn, token_id)
    assert found is not None
    return found


def update_webhook(conn: Connection, token_id: int, url: str, now: datetime) -> Webhook | None:
    """Change the URL of an existing registration; None when the key has none."""
    cur = conn.execute(
        "UPDATE compat_webhooks SET url = ?, updated_at = ? WHERE token_id = ?", (url, format_time(now), token_id)
    )
    return get_webhook(conn, token_id) if cur.rowcount else None


def delete_webhook(conn: Connection, token_id: int) -> bool:
    return conn.execute("DELETE FROM compat_webhooks WHERE token_id = ?", (token_id,)).rowcount > 0


def token_live(conn: Connection, token_id: int) -> bool:
    """Whether the token exists and is not revoked."""
    row = conn.execute("SELECT revoked_at FROM tokens WHERE id = ?", (token_id,)).fetchone()
    return row is not None and row[0] is None


def list_webhooks(conn: Connection) -> list[Webhook]:
    """Registrations whose key is still live (revoked keys' webhooks receive nothing)."""
    rows = conn.execute(
        "SELECT w.token_id, w.url, w.created_at, w.updated_at, w.subscription_id FROM compat_webhooks w "
        "JOIN tokens t ON t.id = w.token_id WHERE t.revoked_at IS NULL ORDER BY w.token_id"
    ).fetchall()
    return [_webhook(r) for r in rows]


@runtime_checkable
class SQLAccess(Protocol):
    """A store that runs area SQL functions (SQLite or PostgreSQL)."""

    async def transaction(self, fn: Callable[[Connection], T]) -> T: ...
    async def read(self, fn: Callable[[Connection], T]) -> T: ...


class CompatStore:
    """The compatible APIs' storage on top of a store that runs SQL (see :class:`SQLAccess`)."""

    def __init__(self, store: object) -> None:
        if not isinstance(store, SQLAccess):
            raise ConfigurationError("error.configuration")
        self._store: SQLAccess = store

    async def load_view(self, after_seq: int = 0) -> ViewRows:
        return await self._store.read(lambda conn: load_view(conn, after_seq))

    async def record_bases(self, alert_ids: Iterable[str]) -> RecordBases:
        ids = list(alert_ids)
        return await self._store.read(lambda conn: record_bases(conn, ids))

    async def last_change_covering(self, region_ids: Iterable[str]) -> str | None:
        ids = list(region_ids)
        return await self._store.read(lambda conn: last_change_covering(conn, ids))

    async def get_webhook(self, token_id: int) -> Webhook | None:
        return await self._store.read(lambda conn: get_webhook(conn, token_id))

    async def put_webhook(self, token_id: int, url: str, now: datetime, subscription_id: str | None = None) -> Webhook:
        return await self._store.transaction(lambda conn: put_webhook(conn, token_id, url, now, subscription_id))

    async def token_live(self, token_id: int) -> bool:
        return await self._store.read(lambda conn: token_live(conn, token_id))

    async def update_webhook(self, token_id: int, url: str, now: datetime) -> Webhook | None:
        return await self._store.transaction(lambda conn: update_webhook(conn, token_id, url, now))

    async def delete_webhook(self, token_id: int) -> bool:
        return await self._store.transaction(lambda conn: delete_webhook(conn, token_id))

    async def list_webhooks(self) -> list[Webhook]:
        return await self._store.read(list_webhooks)
