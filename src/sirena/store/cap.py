"""SQL for CAP: the record of ingested messages and their references, and alert versions for emitted CAP.

Functions of a portable connection (``sirena.store.sql.Connection``), run through ``store.transaction`` (writer)
or ``store.read``.
A message is identified by (sender, identifier, sent), ``sent`` written as :func:`~sirena.protocol.cap.message_key`
writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sirena.protocol.alert_json import format_time, parse_time
from sirena.store.sql import Connection

MessageKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    sender: str
    identifier: str
    sent: str
    msg_type: str
    status: str
    alert_id: str | None
    outcome: str
    origin: str
    signature: str
    received_at: datetime
    references: tuple[MessageKey, ...] = ()

    @property
    def key(self) -> MessageKey:
        return (self.sender, self.identifier, self.sent)


_COLUMNS = "sender, identifier, sent, msg_type, status, alert_id, outcome, origin, signature, received_at"


def _message(conn: Connection, row: Sequence[object]) -> StoredMessage:
    refs = conn.execute(
        "SELECT ref_sender, ref_identifier, ref_sent FROM cap_references"
        " WHERE sender = ? AND identifier = ? AND sent = ? ORDER BY position",
        (row[0], row[1], row[2]),
    ).fetchall()
    received = parse_time(str(row[9]))
    assert received is not None
    return StoredMessage(
        sender=str(row[0]),
        identifier=str(row[1]),
        sent=str(row[2]),
        msg_type=str(row[3]),
        status=str(row[4]),
        alert_id=None if row[5] is None else str(row[5]),
        outcome=str(row[6]),
        origin=str(row[7]),
        signature=str(row[8]),
        received_at=received,
        references=tuple((str(r[0]), str(r[1]), str(r[2])) for r in refs),
    )


def insert_message(conn: Connection, message: StoredMessage, body: str) -> bool:
    """Record a message and its references; ``False`` (and nothing written) when it is already recorded."""
    cur = conn.execute(
        f"INSERT INTO cap_messages ({_COLUMNS}, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            message.sender,
            message.identifier,
            message.sent,
            message.msg_type,
            message.status,
            message.alert_id,
            message.outcome,
            message.origin,
            message.signature,
            format_time(message.received_at),
            body,
        ),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "INSERT INTO cap_references (sender, identifier, sent, position, ref_sender, ref_identifier,"
        " ref_sent) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(*message.key, position, *ref) for position, ref in enumerate(message.references)],
    )
    return True


def find_message(conn: Connection, key: MessageKey) -> StoredMessage | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM cap_messages WHERE sender = ? AND identifier = ? AND sent = ?", key
    ).fetchone()
    return _message(conn, row) if row else None


def referencing(conn: Connection, key: MessageKey) -> list[StoredMessage]:
    """Recorded messages that name ``key`` in their references, newest first."""
    rows = conn.execute(
        f"SELECT {', '.join('m.' + c.strip() for c in _COLUMNS.split(','))} FROM cap_references r"
        " JOIN cap_messages m ON m.sender = r.sender AND m.identifier = r.identifier AND m.sent = r.sent"
        " WHERE r.ref_sender = ? AND r.ref_identifier = ? AND r.ref_sent = ? ORDER BY m.received_at DESC",
        key,
    ).fetchall()
    return [_message(conn, row) for row in rows]


def messages_of_alert(conn: Connection, alert_id: str) -> list[StoredMessage]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM cap_messages WHERE alert_id = ? ORDER BY received_at, rowid", (alert_id,)
    ).fetchall()
    return [_message(conn, row) for row in rows]


def message_body(conn: Connection, key: MessageKey) -> str | None:
    row = conn.execute("SELECT body FROM cap_messages WHERE sender = ? AND identifier = ? AND sent = ?", key).fetchone()
    return None if row is None else str(row[0])


def version_times(conn: Connection, alert_id: str) -> list[tuple[int, datetime]]:
    """(version, updated_at) of every recorded version of an alert, oldest first."""
    rows = conn.execute(
        "SELECT v.version, e.at FROM alert_versions v JOIN events e ON e.seq = v.event_seq "
        "WHERE v.alert_id = ? ORDER BY v.version",
        (alert_id,),
    ).fetchall()
    out: list[tuple[int, datetime]] = []
    for version, at in rows:  # a version's event is stamped with the version's updated_at
        updated = parse_time(at)
        if updated is not None:
            out.append((int(version), updated))
    return out


def version_body(conn: Connection, alert_id: str, version: int) -> str | None:
    row = conn.execute(
        "SELECT e.body FROM alert_versions v JOIN events e ON e.seq = v.event_seq "
        "WHERE v.alert_id = ? AND v.version = ?",
        (alert_id, version),
    ).fetchone()
    return None if row is None else str(row[0])


def last_change(conn: Connection) -> tuple[int, datetime | None]:
    """The sequence number and time of the newest event (``(0, None)`` on an empty log)."""
    row = conn.execute("SELECT seq, at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 0, None
    return int(row[0]), parse_time(str(row[1]))
