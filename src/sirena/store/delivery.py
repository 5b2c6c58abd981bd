"""SQL for the delivery channels: webhook subscriptions, the outbox, delivery attempts, channel cursors, Web
Push subscriptions. Functions of a portable connection (``sirena.store.sql.Connection``: SQLite or PostgreSQL),
run through ``store.transaction`` (writes) and ``store.read`` (reads).

Times that drive scheduling (``next_at``, ``created``, ``at``) are Unix seconds; subscription creation times are
ISO 8601 like everywhere else in the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sirena.ids import new_id
from sirena.protocol.alert_json import format_time, parse_time
from sirena.store.base import REVISION
from sirena.store.sql import Connection

T = TypeVar("T")

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
CANCELLED = "cancelled"


class SQLRunner(Protocol):
    """What the delivery channels need from a store: SQL on the writer, inside a transaction, and on readers."""

    async def transaction(self, fn: Any) -> Any: ...
    async def read(self, fn: Any) -> Any: ...


class CursorMoved(RuntimeError):
    """Another dispatcher advanced the cursor first; the batch is read again."""


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    id: str
    url: str
    secret: str
    filter: Mapping[str, Any]
    kind: str = "native"
    format: str = "native"
    headers: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None
    after_seq: int = 0
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    id: int
    subscription_id: str
    msg_id: str
    seq: int | None
    body: str
    state: str
    attempts: int
    next_at: float
    created: float
    finished: float | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    subscription_id: str
    body: str
    seq: int | None = None
    key: str | None = None
    """Enqueueing the same key twice for one subscription adds one message."""
    error: str | None = None
    """The message could not be made (its format failed): it is recorded dead-lettered, with this error."""


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    message_id: int
    msg_id: str
    subscription_id: str
    seq: int | None
    attempt: int
    status_code: int | None
    error: str | None
    latency_ms: int
    at: float
    state: str
    """The message's state now: pending (to be retried), delivered, dead or cancelled."""


@dataclass(frozen=True, slots=True)
class PushRecord:
    id: str
    endpoint: str
    p256dh: str
    auth: str
    filter: Mapping[str, Any]
    lang: str = "uk"
    created_at: datetime | None = None
    failures: int = 0


def _now_iso() -> str:
    text = format_time(datetime.now(UTC))
    assert text is not None
    return text


# -- webhook subscriptions -----------------------------------------------------------------------------------

_SUB_COLUMNS = "id, url, secret, filter, kind, format, headers, owner, after_seq, created_at, deleted_at"


def _subscription(row: Sequence[Any]) -> WebhookSubscription:
    return WebhookSubscription(
        id=row[0],
        url=row[1],
        secret=row[2],
        filter=json.loads(row[3]),
        kind=row[4],
        format=row[5],
        headers=json.loads(row[6]),
        owner=row[7],
        after_seq=int(row[8]),
        created_at=parse_time(row[9]),
        deleted_at=parse_time(row[10]),
    )


def create_subscription(conn: Connection, sub: WebhookSubscription) -> WebhookSubscription:
    """Insert ``sub``; it receives the events committed after this transaction (its ``after_seq``)."""
    after = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
    created = _now_iso()
    conn.execute(
        f"INSERT INTO webhook_subscriptions ({_SUB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            sub.id,
            sub.url,
            sub.secret,
            json.dumps(dict(sub.filter)),
            sub.kind,
            sub.format,
            json.dumps(dict(sub.headers)),
            sub.owner,
            after,
            created,
        ),
    )
    found = get_subscription(conn, sub.id)
    assert found is not None
    return found


def get_subscription(conn: Connection, sub_id: str) -> WebhookSubscription | None:
    row = conn.execute(
        f"SELECT {_SUB_COLUMNS} FROM webhook_subscriptions WHERE id = ? AND deleted_at IS NULL", (sub_id,)
    ).fetchone()
    return _subscription(row) if row else None


def list_subscriptions(
    conn: Connection,
    kind: str | None = None,
    owner: str | None = None,
    *,
    known: dict[tuple[Any, ...], WebhookSubscription] | None = None,
) -> list[WebhookSubscription]:
    """The live subscriptions (of ``kind``, of ``owner``), oldest first. With ``known`` (kept by the caller from
    one call to the next) a row read before, unchanged, is not parsed again."""
    clauses = ["deleted_at IS NULL"]
    params: list[Any] = []
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    if owner is not None:
        clauses.append("owner = ?")
        params.append(owner)
    rows = conn.execute(
        f"SELECT {_SUB_COLUMNS} FROM webhook_subscriptions WHERE {' AND '.join(clauses)} ORDER BY created_at, id",
        params,
    ).fetchall()
    return _parsed(rows, known)


_LIVE_AT_REVISION = (
    "SELECT r.rev, "
    + ", ".join(f"s.{c.strip()}" for c in _SUB_COLUMNS.split(","))
    + " FROM revisions r LEFT JOIN webhook_subscriptions s ON s.deleted_at IS NULL WHERE r.name = ?"
    " ORDER BY s.created_at, s.id"
)


def live_subscriptions(
    conn: Connection, *, known: dict[tuple[Any, ...], WebhookSubscription] | None = None
) -> tuple[int, list[WebhookSubscription]]:
    """The live subscriptions (as :func:`list_subscriptions`) and the ``revisions`` counter of the table they
    were read at, in one statement (so from one snapshot): while the counter reads the same, so does the list."""
    rows = conn.execute(_LIVE_AT_REVISION, (REVISION,)).fetchall()
    rev = int(rows[0][0])
    return rev, _parsed([row[1:] for row in rows if row[1] is not None], known)


def _parsed(
    rows: Sequence[Sequence[Any]], known: dict[tuple[Any, ...], WebhookSubscription] | None
) -> list[WebhookSubscription]:
    if known is None:
        return [_subscription(r) for r in rows]
    if len(known) > 2 * len(rows) + 1000:
        known.clear()  # rows of changed or deleted subscriptions
    found: list[WebhookSubscription] = []
    for row in rows:
        key = tuple(row)
        sub = known.get(key)
        if sub is None:
            sub = known[key] = _subscription(row)
        found.append(sub)
    return found


def update_subscription(
    conn: Connection,
    sub_id: str,
    *,
    url: str | None = None,
    filter: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> WebhookSubscription | None:
    if url is not None:
        conn.execute("UPDATE webhook_subscriptions SET url = ? WHERE id = ? AND deleted_at IS NULL", (url, sub_id))
    if filter is not None:
        conn.execute(
            "UPDATE webhook_subscriptions SET filter = ? WHERE id = ? AND deleted_at IS NULL",
            (json.dumps(dict(filter)), sub_id),
        )
    if headers is not None:
        conn.execute(
            "UPDATE webhook_subscriptions SET headers = ? WHERE id = ? AND deleted_at IS NULL",
            (json.dumps(dict(headers)), sub_id),
        )
    return get_subscription(conn, sub_id)


def delete_subscription(conn: Connection, sub_id: str, now: float) -> bool:
    """Mark the subscription deleted (its delivery log stays) and cancel what it still had to deliver."""
    cur = conn.execute(
        "UPDATE webhook_subscriptions SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", (_now_iso(), sub_id)
    )
    if cur.rowcount == 0:
        return False
    conn.execute(
        "UPDATE webhook_messages SET state = ?, finished = ? WHERE subscription_id = ? AND state = ?",
        (CANCELLED, now, sub_id, PENDING),
    )
    return True


# -- cursors ------------------------------------------------------------------------------------------------


def read_cursor(conn: Connection, name: str) -> int | None:
    row = conn.execute("SELECT seq FROM delivery_cursors WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else None


def init_cursor(conn: Connection, name: str) -> int:
    """The cursor ``name``; a new one starts at the end of the event log (history is not replayed)."""
    conn.execute(
        "INSERT INTO delivery_cursors (name, seq) SELECT ?, COALESCE(MAX(seq), 0) FROM events WHERE TRUE "
        "ON CONFLICT DO NOTHING",
        (name,),
    )
    found = read_cursor(conn, name)
    assert found is not None
    return found


def move_cursor(conn: Connection, name: str, expected: int, new: int) -> None:
    """Advance the cursor from ``expected`` to ``new``; :class:`CursorMoved` if someone else moved it."""
    if new == expected:
        return
    cur = conn.execute("UPDATE delivery_cursors SET seq = ? WHERE name = ? AND seq = ?", (new, name, expected))
    if cur.rowcount != 1:
        raise CursorMoved(name)


# -- the outbox ---------------------------------------------------------------------------------------------

_MSG_COLUMNS = "id, subscription_id, msg_id, seq, body, state, attempts, next_at, created, finished, last_error"


def _message(row: Sequence[Any]) -> WebhookMessage:
    return WebhookMessage(
        id=int(row[0]),
        subscription_id=row[1],
        msg_id=row[2],
        seq=None if row[3] is None else int(row[3]),
        body=row[4],
        state=row[5],
        attempts=int(row[6]),
        next_at=float(row[7]),
        created=float(row[8]),
        finished=None if row[9] is None else float(row[9]),
        last_error=row[10],
    )


def insert_messages(conn: Connection, messages: Sequence[NewMessage], now: float) -> list[str]:
    """Queue ``messages`` (a repeated key is ignored); returns the new messages' ``webhook-id`` values."""
    stamp = datetime.fromtimestamp(now, UTC)
    made: list[str] = []
    for message in messages:
        msg_id = "msg_" + new_id(stamp)
        state, finished = (PENDING, None) if message.error is None else (DEAD, now)
        cur = conn.execute(
            "INSERT INTO webhook_messages (subscription_id, msg_id, dedupe_key, seq, body, state, attempts,"
            " next_at, created, finished, last_error) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                message.subscription_id,
                msg_id,
                message.key,
                message.seq,
                message.body,
                state,
                now,
                now,
                finished,
                message.error,
            ),
        )
        if cur.rowcount:
            made.append(msg_id)
    return made


def enqueue_batch(
    conn: Connection, cursor: str, expected: int, new: int, messages: Sequence[NewMessage], now: float
) -> list[str]:
    """Queue the messages made from events ``(expected, new]`` and advance the cursor, in one transaction."""
    move_cursor(conn, cursor, expected, new)
    return insert_messages(conn, messages, now)


def head(conn: Connection, sub_id: str) -> WebhookMessage | None:
    """The oldest message the subscription still has to deliver (messages go out strictly in this order)."""
    row = conn.execute(
        f"SELECT {_MSG_COLUMNS} FROM webhook_messages WHERE subscription_id = ? AND state = ? ORDER BY id LIMIT 1",
        (sub_id, PENDING),
    ).fetchone()
    return _message(row) if row else None


def heads(conn: Connection, sub_id: str, limit: int) -> list[WebhookMessage]:
    """The ``limit`` oldest messages the subscription still has to deliver, in order (see :func:`head`)."""
    rows = conn.execute(
        f"SELECT {_MSG_COLUMNS} FROM webhook_messages WHERE subscription_id = ? AND state = ? ORDER BY id LIMIT ?",
        (sub_id, PENDING, limit),
    ).fetchall()
    return [_message(row) for row in rows]


def record_attempt(
    conn: Connection,
    message: WebhookMessage,
    *,
    status_code: int | None,
    error: str | None,
    latency_ms: int,
    at: float,
    state: str,
    next_at: float,
) -> None:
    """Log one attempt and move the message on: delivered, dead, or pending until ``next_at``."""
    attempt = message.attempts + 1
    conn.execute(
        "INSERT INTO webhook_attempts (message_id, subscription_id, seq, attempt, status_code, error, latency_ms, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (message.id, message.subscription_id, message.seq, attempt, status_code, error, latency_ms, at),
    )
    finished = at if state != PENDING else None
    conn.execute(
        "UPDATE webhook_messages SET attempts = ?, state = ?, next_at = ?, finished = ?, last_error = ? "
        "WHERE id = ? AND state = ?",
        (attempt, state, next_at, finished, error, message.id, PENDING),
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """One attempt to record (see :func:`record_attempts`)."""

    message: WebhookMessage
    status_code: int | None
    error: str | None
    latency_ms: int
    at: float
    state: str
    next_at: float


def record_attempts(conn: Connection, settled: Sequence[Settled]) -> None:
    """:func:`record_attempt` for many attempts (of any subscriptions) at once: two statements in all."""
    if not settled:
        return
    conn.executemany(
        "INSERT INTO webhook_attempts (message_id, subscription_id, seq, attempt, status_code, error, latency_ms, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                s.message.id,
                s.message.subscription_id,
                s.message.seq,
                s.message.attempts + 1,
                s.status_code,
                s.error,
                s.latency_ms,
                s.at,
            )
            for s in settled
        ],
    )
    conn.executemany(
        "UPDATE webhook_messages SET attempts = ?, state = ?, next_at = ?, finished = ?, last_error = ? "
        "WHERE id = ? AND state = ?",
        [
            (
                s.message.attempts + 1,
                s.state,
                s.next_at,
                s.at if s.state != PENDING else None,
                s.error,
                s.message.id,
                PENDING,
            )
            for s in settled
        ],
    )


def expire(conn: Connection, sub_id: str, created_before: float, now: float, error: str) -> int:
    """Dead-letter every pending message of the subscription queued before ``created_before``."""
    cur = conn.execute(
        "UPDATE webhook_messages SET state = ?, finished = ?, last_error = COALESCE(last_error, ?) "
        "WHERE subscription_id = ? AND state = ? AND created < ?",
        (DEAD, now, error, sub_id, PENDING, created_before),
    )
    return cur.rowcount


def redrive(conn: Connection, sub_id: str, now: float) -> int:
    """Queue the subscription's dead messages again, in their original order, with a fresh retry period."""
    cur = conn.execute(
        "UPDATE webhook_messages SET state = ?, next_at = ?, created = ?, finished = NULL "
        "WHERE subscription_id = ? AND state = ?",
        (PENDING, now, now, sub_id, DEAD),
    )
    return cur.rowcount


def subscriptions_with_pending(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT subscription_id FROM webhook_messages WHERE state = ? ORDER BY subscription_id", (PENDING,)
    ).fetchall()
    return [r[0] for r in rows]


def message_counts(conn: Connection, sub_id: str | None = None) -> dict[str, int]:
    """How many messages are pending, delivered, dead and cancelled (for one subscription or all)."""
    where, params = ("WHERE subscription_id = ?", (sub_id,)) if sub_id is not None else ("", ())
    rows = conn.execute(f"SELECT state, COUNT(*) FROM webhook_messages {where} GROUP BY state", params).fetchall()
    counts = {PENDING: 0, DELIVERED: 0, DEAD: 0, CANCELLED: 0}
    counts.update({str(r[0]): int(r[1]) for r in rows})
    return counts


def queue_depths(conn: Connection) -> dict[str, int]:
    """Pending and dead-lettered messages over all subscriptions."""
    rows = conn.execute(
        "SELECT state, COUNT(*) FROM webhook_messages WHERE state IN (?, ?) GROUP BY state", (PENDING, DEAD)
    ).fetchall()
    return {PENDING: 0, DEAD: 0} | {str(r[0]): int(r[1]) for r in rows}


def prune(conn: Connection, before: float) -> int:
    """Forget finished messages (delivered, dead, cancelled) and their attempts older than ``before``."""
    conn.execute(
        "DELETE FROM webhook_attempts WHERE at < ? AND message_id IN "
        "(SELECT id FROM webhook_messages WHERE state != ? AND finished < ?)",
        (before, PENDING, before),
    )
    cur = conn.execute("DELETE FROM webhook_messages WHERE state != ? AND finished < ?", (PENDING, before))
    return cur.rowcount


def messages(conn: Connection, sub_id: str, state: str | None = None, limit: int = 100) -> list[WebhookMessage]:
    where = "subscription_id = ?" + (" AND state = ?" if state else "")
    params: tuple[Any, ...] = (sub_id, state) if state else (sub_id,)
    rows = conn.execute(
        f"SELECT {_MSG_COLUMNS} FROM webhook_messages WHERE {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [_message(r) for r in rows]


def attempts(conn: Connection, sub_id: str, limit: int = 100, before: int | None = None) -> list[Attempt]:
    """The subscription's delivery log, newest first."""
    rows = conn.execute(
        "SELECT a.id, a.message_id, m.msg_id, a.subscription_id, a.seq, a.attempt, a.status_code, a.error, "
        "a.latency_ms, a.at, m.state FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id "
        "WHERE a.subscription_id = ? AND a.id < ? ORDER BY a.id DESC LIMIT ?",
        (sub_id, before if before is not None else 2**62, limit),
    ).fetchall()
    return [
        Attempt(
            id=int(r[0]),
            message_id=int(r[1]),
            msg_id=r[2],
            subscription_id=r[3],
            seq=None if r[4] is None else int(r[4]),
            attempt=int(r[5]),
            status_code=None if r[6] is None else int(r[6]),
            error=r[7],
            latency_ms=int(r[8]),
            at=float(r[9]),
            state=r[10],
        )
        for r in rows
    ]


# -- Web Push -----------------------------------------------------------------------------------------------

_PUSH_COLUMNS = "id, endpoint, p256dh, auth, filter, lang, created_at, failures"


def _push(row: Sequence[Any]) -> PushRecord:
    return PushRecord(
        id=row[0],
        endpoint=row[1],
        p256dh=row[2],
        auth=row[3],
        filter=json.loads(row[4]),
        lang=row[5],
        created_at=parse_time(row[6]),
        failures=int(row[7]),
    )


def upsert_push(conn: Connection, record: PushRecord) -> tuple[PushRecord, bool]:
    """Store a browser's subscription; the same endpoint again replaces its keys and filter. Returns the record
    and whether it is new."""
    existing = conn.execute("SELECT id FROM push_subscriptions WHERE endpoint = ?", (record.endpoint,)).fetchone()
    if existing:
        conn.execute(
            "UPDATE push_subscriptions SET p256dh = ?, auth = ?, filter = ?, lang = ?, failures = 0 WHERE id = ?",
            (record.p256dh, record.auth, json.dumps(dict(record.filter)), record.lang, existing[0]),
        )
        sub_id, created = str(existing[0]), False
    else:
        conn.execute(
            f"INSERT INTO push_subscriptions ({_PUSH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                record.id,
                record.endpoint,
                record.p256dh,
                record.auth,
                json.dumps(dict(record.filter)),
                record.lang,
                _now_iso(),
            ),
        )
        sub_id, created = record.id, True
    found = get_push(conn, sub_id)
    assert found is not None
    return found, created


def get_push(conn: Connection, sub_id: str) -> PushRecord | None:
    row = conn.execute(f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions WHERE id = ?", (sub_id,)).fetchone()
    return _push(row) if row else None


def list_push(conn: Connection) -> list[PushRecord]:
    rows = conn.execute(f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions ORDER BY id").fetchall()
    return [_push(r) for r in rows]


def delete_push(conn: Connection, sub_id: str) -> bool:
    return conn.execute("DELETE FROM push_subscriptions WHERE id = ?", (sub_id,)).rowcount > 0


def push_failed(conn: Connection, sub_id: str) -> None:
    conn.execute("UPDATE push_subscriptions SET failures = failures + 1 WHERE id = ?", (sub_id,))


def push_succeeded(conn: Connection, sub_id: str) -> None:
    conn.execute("UPDATE push_subscriptions SET failures = 0 WHERE id = ? AND failures > 0", (sub_id,))


def ensure_meta(conn: Connection, key: str, value: str) -> str:
    """The stored value of ``key``; ``value`` is stored first when there is none (two starting servers agree)."""
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value))
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0])
