"""SQL of channels, advisories, situation reports, all-clears and the coordination line.

Functions take a connection (:class:`sirena.store.sql.Connection`, portable SQL for SQLite and PostgreSQL) and
run inside the store's write transaction (``store.transaction``) or on a reader (``store.read``). Every notice is
appended to the one event log (:func:`append_notice`) in the same transaction as the record it announces, so
alerts and notices share one sequence of numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sirena.domain.notice import Notice, NoticeType
from sirena.protocol.alert_json import dumps, format_time
from sirena.store.sql import Connection

# -- the event log ----------------------------------------------------------------------------------------------


def append_notice(conn: Connection, kind: NoticeType, subject: str, at: datetime, body: dict[str, Any]) -> Notice:
    """Append a notice to the event log with the next sequence number (writers are serialised, so sequence order
    is commit order). The ``alert_id`` column holds ``<family>:<subject>``, never an alert id, so queries joining
    events to alerts see alert events only."""
    row = conn.execute(
        "INSERT INTO events (seq, type, alert_id, at, body) "
        "VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?, ?, ?, ?) RETURNING seq",
        (kind.value, f"{kind.family}:{subject}", format_time(at), dumps(body)),
    ).fetchone()
    return Notice(seq=int(row[0]), type=kind, at=at, body=body)


def _json_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in rows]


def _in(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


# -- channels ---------------------------------------------------------------------------------------------------


def insert_channel(conn: Connection, channel: dict[str, Any]) -> bool:
    """Create a channel; False when one with that id exists already."""
    row = conn.execute(
        "INSERT INTO channels (id, body, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
        (channel["id"], dumps(channel), channel["created_at"]),
    ).fetchone()
    return row is not None


def get_channel(conn: Connection, channel_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT body FROM channels WHERE id = ?", (channel_id,)).fetchone()
    return json.loads(row[0]) if row else None


def list_channels(conn: Connection) -> list[dict[str, Any]]:
    return _json_rows(conn.execute("SELECT body FROM channels ORDER BY id").fetchall())


def channel_ids(conn: Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT id FROM channels ORDER BY id").fetchall()]


# -- advisories -------------------------------------------------------------------------------------------------


def save_advisory(conn: Connection, advisory: dict[str, Any], seq: int) -> None:
    """Write the advisory as it stands now, and this version of it (announced by event ``seq``)."""
    body = dumps(advisory)
    conn.execute(
        "INSERT INTO advisories (id, version, state, channel_id, type, status, issued_at, updated_at, expires_at, "
        "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
        "state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at, "
        "body = excluded.body",
        (
            advisory["id"],
            advisory["version"],
            advisory["state"],
            advisory["channel"],
            advisory["type"],
            advisory["status"],
            advisory["issued_at"],
            advisory["updated_at"],
            advisory["expires_at"],
            body,
        ),
    )
    conn.execute(
        "INSERT INTO advisory_versions (advisory_id, version, event_seq, body) VALUES (?, ?, ?, ?)",
        (advisory["id"], advisory["version"], seq, body),
    )


def get_advisory(conn: Connection, advisory_id: str, version: int | None = None) -> dict[str, Any] | None:
    if version is None:
        row = conn.execute("SELECT body FROM advisories WHERE id = ?", (advisory_id,)).fetchone()
    else:
        row = conn.execute(
            "SELECT body FROM advisory_versions WHERE advisory_id = ? AND version = ?", (advisory_id, version)
        ).fetchone()
    return json.loads(row[0]) if row else None


def advisory_version_times(conn: Connection, advisory_id: str) -> list[tuple[int, str]]:
    """``(version, updated_at)`` of every version of an advisory, oldest first (for CAP ``references``)."""
    rows = conn.execute(
        "SELECT version, body FROM advisory_versions WHERE advisory_id = ? ORDER BY version", (advisory_id,)
    ).fetchall()
    return [(int(r[0]), str(json.loads(r[1])["updated_at"])) for r in rows]


def find_advisories(
    conn: Connection,
    *,
    current_at: str | None = None,
    channels: Sequence[str] = (),
    public: bool = True,
    statuses: Sequence[str] | None = None,
    since: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Advisories newest first. ``current_at``: only those active and not expired at that time. Public ones
    (no channel) when ``public``, and those of ``channels``."""
    clauses: list[str] = []
    params: list[Any] = []
    reach: list[str] = []
    if public:
        reach.append("channel_id IS NULL")
    if channels:
        reach.append(f"channel_id IN ({_in(channels)})")
        params.extend(channels)
    if not reach:
        return []
    clauses.append("(" + " OR ".join(reach) + ")")
    if current_at is not None:
        clauses.append("state = 'active' AND (expires_at IS NULL OR expires_at > ?)")
        params.append(current_at)
    if statuses is not None:
        clauses.append(f"status IN ({_in(statuses)})")
        params.extend(statuses)
    if since is not None:
        clauses.append("updated_at >= ?")
        params.append(since)
    rows = conn.execute(
        f"SELECT body FROM advisories WHERE {' AND '.join(clauses)} ORDER BY updated_at DESC, id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return _json_rows(rows)


def expired_advisories(conn: Connection, now: str, limit: int = 100) -> list[dict[str, Any]]:
    """Active advisories whose validity ended at or before ``now``."""
    rows = conn.execute(
        "SELECT body FROM advisories WHERE state = 'active' AND expires_at IS NOT NULL AND expires_at <= ? "
        "ORDER BY expires_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return _json_rows(rows)


def last_notice_time(conn: Connection) -> str | None:
    """When the last public notice (advisory, report, all-clear) changed, for a feed's ``Last-Modified``."""
    row = conn.execute(
        "SELECT MAX(at) FROM events WHERE type IN ('advisory.issued', 'advisory.updated', 'advisory.ended', "
        "'report.added', 'alert.all_clear')"
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else None


# -- situation reports ------------------------------------------------------------------------------------------


def insert_report(conn: Connection, report: dict[str, Any], seq: int) -> None:
    conn.execute(
        "INSERT INTO reports (id, alert_id, kind, region_id, added_at, event_seq, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (report["id"], report["alert_id"], report["kind"], report["region"], report["added_at"], seq, dumps(report)),
    )


def add_report_rollup(
    conn: Connection, region_id: str, bucket: int, threat: str, reported: int, intercepted: int, impacts: int
) -> None:
    """Add counts to the hourly rollup of a region (``bucket``: the hour's start in Unix seconds)."""
    conn.execute(
        "INSERT INTO report_rollup_hour (region_id, bucket, threat, reported, intercepted, impacts) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (region_id, bucket, threat) DO UPDATE SET "
        "reported = report_rollup_hour.reported + excluded.reported, "
        "intercepted = report_rollup_hour.intercepted + excluded.intercepted, "
        "impacts = report_rollup_hour.impacts + excluded.impacts",
        (region_id, bucket, threat, reported, intercepted, impacts),
    )


def get_report(conn: Connection, report_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT body FROM reports WHERE id = ?", (report_id,)).fetchone()
    return json.loads(row[0]) if row else None


def find_reports(
    conn: Connection,
    *,
    alert_id: str | None = None,
    active: bool = False,
    statuses: Sequence[str] | None = None,
    since: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Reports newest first: of one alert, or (``active``) of the alerts active now."""
    clauses: list[str] = []
    params: list[Any] = []
    if alert_id is not None:
        clauses.append("r.alert_id = ?")
        params.append(alert_id)
    if active:
        clauses.append("a.state = 'active'")
    if statuses is not None:
        clauses.append(f"a.status IN ({_in(statuses)})")
        params.extend(statuses)
    if since is not None:
        clauses.append("r.added_at >= ?")
        params.append(since)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        f"SELECT r.body FROM reports r JOIN alerts a ON a.id = r.alert_id {where} "
        "ORDER BY r.added_at DESC, r.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return _json_rows(rows)


def report_rollups(
    conn: Connection, regions: Sequence[str] | None, start: int, end: int
) -> list[tuple[int, str, int, int, int]]:
    """``(bucket, threat, reported, intercepted, impacts)`` of hours in ``[start, end)``, summed over ``regions``
    (``None``: every region)."""
    params: list[Any] = [start, end]
    where = "bucket >= ? AND bucket < ?"
    if regions is not None:
        where += " AND region_id IN (SELECT value FROM json_each(?))"
        params.append(dumps(list(regions)))
    rows = conn.execute(
        "SELECT bucket, threat, SUM(reported), SUM(intercepted), SUM(impacts) FROM report_rollup_hour "
        f"WHERE {where} GROUP BY bucket, threat ORDER BY bucket, threat",
        params,
    ).fetchall()
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


# -- all-clears -------------------------------------------------------------------------------------------------


def insert_all_clear(conn: Connection, body: dict[str, Any], seq: int) -> None:
    conn.execute(
        "INSERT INTO all_clears (alert_id, at, expires_at, event_seq, body) VALUES (?, ?, ?, ?, ?)",
        (body["alert_id"], body["at"], body["expires_at"], seq, dumps(body)),
    )


def get_all_clear(conn: Connection, alert_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT body FROM all_clears WHERE alert_id = ?", (alert_id,)).fetchone()
    return json.loads(row[0]) if row else None


def current_all_clears(conn: Connection, now: str, limit: int = 1000) -> list[dict[str, Any]]:
    """All-clears still shown (not yet past their ``expires_at``), newest first."""
    rows = conn.execute(
        "SELECT body FROM all_clears WHERE expires_at > ? ORDER BY at DESC LIMIT ?", (now, limit)
    ).fetchall()
    return _json_rows(rows)


# -- the coordination line --------------------------------------------------------------------------------------

RECEIPT_COLUMNS = (
    "addressee, delivered_at, read_at, acknowledged_at, acknowledged_by, note, level, escalated_at, next_at, notified"
)


def insert_message(conn: Connection, message: dict[str, Any], next_at: str | None) -> None:
    """A new message, one receipt per addressee (each escalating first at ``next_at``), and who may read it."""
    conn.execute(
        "INSERT INTO coordination_messages (id, sender, sent_at, body) VALUES (?, ?, ?, ?)",
        (message["id"], message["from"], message["sent_at"], dumps(message)),
    )
    conn.executemany(
        "INSERT INTO coordination_receipts (message_id, addressee, next_at) VALUES (?, ?, ?)",
        [(message["id"], name, next_at) for name in message["to"]],
    )
    add_access(conn, message["id"], [message["from"], *message["to"]])


def add_access(conn: Connection, message_id: str, names: Iterable[str]) -> None:
    conn.executemany(
        "INSERT INTO coordination_access (user_name, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(name, message_id) for name in dict.fromkeys(names)],
    )


def _receipt(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "to": row[0],
        "delivered_at": row[1],
        "read_at": row[2],
        "acknowledged_at": row[3],
        "acknowledged_by": row[4],
        "note": row[5],
        "level": int(row[6]),
        "escalated_at": row[7],
        "escalates_at": row[8],
        "notified": json.loads(row[9]),
    }


def load_message(conn: Connection, message_id: str) -> dict[str, Any] | None:
    """The message with its receipts (see :func:`sirena.advisories.coordination.message_json`)."""
    row = conn.execute("SELECT body FROM coordination_messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    message: dict[str, Any] = json.loads(row[0])
    rows = conn.execute(
        f"SELECT {RECEIPT_COLUMNS} FROM coordination_receipts WHERE message_id = ? ORDER BY addressee",
        (message_id,),
    ).fetchall()
    order = {name: i for i, name in enumerate(message["to"])}
    message["receipts"] = sorted((_receipt(r) for r in rows), key=lambda r: order.get(r["to"], len(order)))
    return message


def message_ids(conn: Connection, user: str | None, box: str, limit: int) -> list[str]:
    """Newest first: messages ``user`` may read (``None``: every message, for administrators); ``box`` ``inbox``
    (not sent by the user), ``outbox`` (sent by the user) or ``all``."""
    clauses: list[str] = []
    params: list[Any] = []
    if user is not None:
        clauses.append("m.id IN (SELECT message_id FROM coordination_access WHERE user_name = ?)")
        params.append(user)
        if box == "inbox":
            clauses.append("m.sender <> ?")
            params.append(user)
        elif box == "outbox":
            clauses.append("m.sender = ?")
            params.append(user)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        f"SELECT m.id FROM coordination_messages m {where} ORDER BY m.sent_at DESC, m.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def may_read(conn: Connection, message_id: str, user: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM coordination_access WHERE user_name = ? AND message_id = ?", (user, message_id)
    ).fetchone()
    return row is not None


def set_receipt(conn: Connection, message_id: str, addressee: str, **values: Any) -> None:
    """Set receipt columns (``delivered_at``, ``read_at``, ``acknowledged_at``, ``acknowledged_by``, ``note``,
    ``level``, ``escalated_at``, ``next_at``, ``notified``)."""
    allowed = {
        "delivered_at",
        "read_at",
        "acknowledged_at",
        "acknowledged_by",
        "note",
        "level",
        "escalated_at",
        "next_at",
    }
    sets: list[str] = []
    params: list[Any] = []
    for name, value in values.items():
        if name == "notified":
            sets.append("notified = ?")
            params.append(dumps(list(value)))
        elif name in allowed:
            sets.append(f"{name} = ?")
            params.append(value)
        else:
            raise ValueError(f"not a receipt column: {name}")
    conn.execute(
        f"UPDATE coordination_receipts SET {', '.join(sets)} WHERE message_id = ? AND addressee = ?",
        (*params, message_id, addressee),
    )


def due_receipts(conn: Connection, now: str, limit: int = 100) -> list[tuple[str, str, int]]:
    """``(message id, addressee, level)`` of unacknowledged receipts whose next escalation is due."""
    rows = conn.execute(
        "SELECT message_id, addressee, level FROM coordination_receipts "
        "WHERE next_at IS NOT NULL AND next_at <= ? AND acknowledged_at IS NULL ORDER BY next_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def next_due(conn: Connection) -> str | None:
    """When the next escalation falls due, if any."""
    row = conn.execute(
        "SELECT MIN(next_at) FROM coordination_receipts WHERE next_at IS NOT NULL AND acknowledged_at IS NULL"
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else None
