"""SQL for accounts, tokens, sessions, approvals and the audit log (SQLite and PostgreSQL).

Functions take a portable connection (``sirena.store.sql.Connection``) and run inside ``store.transaction``
(writes) or ``store.read`` (reads). The audit append runs in the same transaction as the change it records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sirena.errors import Conflict
from sirena.protocol.alert_json import format_time, parse_time
from sirena.store.sql import Connection

GENESIS = "0" * 64
"""``prev_hash`` of the first audit entry."""


# -- records ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: str
    builtin: bool
    created_at: datetime
    disabled_at: datetime | None
    scopes: tuple[str, ...]
    channels: tuple[str, ...]
    failed_logins: int = 0
    locked_until: datetime | None = None
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """A token's row joined with the user it belongs to (the built-in administrator when it names nobody)."""

    token_id: int
    token_name: str
    revoked_at: datetime | None
    expires_at: datetime | None
    user: UserRecord


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    details: str
    """Canonical JSON text (sorted keys), exactly as hashed."""
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    id: str
    action: str
    alert_id: str | None
    state: str
    requested_by: int
    requester: str
    requested_at: datetime
    expires_at: datetime
    regions: tuple[str, ...]
    reasons: tuple[str, ...]
    request: dict[str, Any]
    idempotency_key: str | None = None
    decided_by: int | None = None
    decider: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    result_alert_id: str | None = None

    def state_at(self, now: datetime) -> str:
        """The state, with a pending request past its deadline shown as ``expired``."""
        return "expired" if self.state == "pending" and now >= self.expires_at else self.state


# -- users -----------------------------------------------------------------------------------------------------

_USER_COLUMNS = "id, name, role, builtin, created_at, disabled_at, failed_logins, locked_until, password_hash"


def _user(conn: Connection, row: Sequence[Any]) -> UserRecord:
    user_id = int(row[0])
    scopes = tuple(
        r[0] for r in conn.execute("SELECT region_id FROM user_scopes WHERE user_id = ? ORDER BY region_id", (user_id,))
    )
    channels = tuple(
        r[0]
        for r in conn.execute("SELECT channel_id FROM user_channels WHERE user_id = ? ORDER BY channel_id", (user_id,))
    )
    created = parse_time(row[4])
    assert created is not None
    return UserRecord(
        id=user_id,
        name=str(row[1]),
        role=str(row[2]),
        builtin=bool(row[3]),
        created_at=created,
        disabled_at=parse_time(row[5]),
        scopes=scopes,
        channels=channels,
        failed_logins=int(row[6]),
        locked_until=parse_time(row[7]),
        password_hash=row[8],
    )


def insert_user(
    conn: Connection,
    name: str,
    role: str,
    password_hash: str | None,
    scopes: Sequence[str],
    channels: Sequence[str],
    now: datetime,
) -> UserRecord:
    if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise Conflict("error.user_exists", name=name)
    user_id = int(
        conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            (name, role, password_hash, format_time(now)),
        ).fetchone()[0]
    )
    conn.executemany(
        "INSERT INTO user_scopes (user_id, region_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(user_id, s) for s in scopes],
    )
    conn.executemany(
        "INSERT INTO user_channels (user_id, channel_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(user_id, c) for c in channels],
    )
    found = user_by_id(conn, user_id)
    assert found is not None
    return found


def user_by_name(conn: Connection, name: str) -> UserRecord | None:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
    return _user(conn, row) if row else None


def user_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return _user(conn, row) if row else None


def builtin_user(conn: Connection) -> UserRecord:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE builtin = 1 ORDER BY id LIMIT 1").fetchone()
    assert row is not None, "the built-in administrator is created by migration 0500"
    return _user(conn, row)


def list_users(conn: Connection) -> list[UserRecord]:
    return [_user(conn, r) for r in conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id").fetchall()]


def disable_user(conn: Connection, name: str, now: datetime) -> UserRecord | None:
    """Disable a user and end their sessions; ``None`` when there is no such enabled, non-built-in user."""
    cur = conn.execute(
        "UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL AND builtin = 0",
        (format_time(now), name),
    )
    if cur.rowcount == 0:
        return None
    user = user_by_name(conn, name)
    assert user is not None
    conn.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (format_time(now), user.id)
    )
    return user


def login_failed(
    conn: Connection, user_id: int, now: datetime, threshold: int, base_s: float, max_s: float
) -> tuple[int, datetime | None]:
    """Count a failed login; from the ``threshold``-th failure on, lock the account for ``base_s`` doubling
    with every further failure up to ``max_s``. Returns the failure count and the lock's end."""
    conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?", (user_id,))
    failures = int(conn.execute("SELECT failed_logins FROM users WHERE id = ?", (user_id,)).fetchone()[0])
    locked_until = None
    if threshold > 0 and failures >= threshold:
        delay = min(base_s * 2 ** (failures - threshold), max_s)
        locked_until = now + timedelta(seconds=delay)
        conn.execute("UPDATE users SET locked_until = ? WHERE id = ?", (format_time(locked_until), user_id))
    return failures, locked_until


def login_succeeded(conn: Connection, user_id: int) -> None:
    conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", (user_id,))


# -- tokens ----------------------------------------------------------------------------------------------------


def insert_token(
    conn: Connection,
    name: str,
    token_hash: str,
    user_id: int | None,
    expires_at: datetime | None,
    now: datetime,
) -> int:
    row = conn.execute(
        "INSERT INTO tokens (name, hash, owner, created_at, user_id, expires_at) VALUES (?, ?, NULL, ?, ?, ?) "
        "RETURNING id",
        (name, token_hash, format_time(now), user_id, format_time(expires_at)),
    ).fetchone()
    return int(row[0])


def token_owner(conn: Connection, token_hash: str) -> TokenOwner | None:
    row = conn.execute(
        "SELECT id, name, revoked_at, expires_at, user_id FROM tokens WHERE hash = ?", (token_hash,)
    ).fetchone()
    if row is None:
        return None
    user = user_by_id(conn, int(row[4])) if row[4] is not None else builtin_user(conn)
    if user is None:
        return None
    return TokenOwner(int(row[0]), str(row[1]), parse_time(row[2]), parse_time(row[3]), user)


def list_tokens(conn: Connection) -> list[tuple[int, str, str, str | None, str | None, str]]:
    """``(id, name, created_at, revoked_at, expires_at, user name)`` for every token."""
    rows = conn.execute(
        "SELECT t.id, t.name, t.created_at, t.revoked_at, t.expires_at, "
        "COALESCE(u.name, (SELECT name FROM users WHERE builtin = 1 ORDER BY id LIMIT 1)) "
        "FROM tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.id"
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), r[3], r[4], str(r[5])) for r in rows]


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (format_time(now), token_id)
    )
    return cur.rowcount > 0


# -- sessions --------------------------------------------------------------------------------------------------


def insert_session(conn: Connection, session_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
    conn.execute(
        "INSERT INTO sessions (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (session_hash, user_id, format_time(now), format_time(expires)),
    )


def session_user(conn: Connection, session_hash: str, now: datetime) -> UserRecord | None:
    """The user of a live session (not revoked, not expired)."""
    row = conn.execute(
        "SELECT user_id FROM sessions WHERE hash = ? AND revoked_at IS NULL AND expires_at > ?",
        (session_hash, format_time(now)),
    ).fetchone()
    return user_by_id(conn, int(row[0])) if row else None


def end_session(conn: Connection, session_hash: str, now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE sessions SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", (format_time(now), session_hash)
    )
    return cur.rowcount > 0


# -- audit -----------------------------------------------------------------------------------------------------


def canonical(details: Any) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, target: str | None, details: str, prev_hash: str) -> str:
    """SHA-256 over every field of the entry, its position and the previous entry's hash."""
    payload = json.dumps([seq, at, actor, action, target, details, prev_hash], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(slots=True)
class AuditTail:
    """The end of the chain as one write transaction has left it, kept by a writer that commits many jobs at
    once (``audit_tail`` on its connection): entries after the first need not read the last entry back, and
    the head is written once, by :func:`write_audit_head` before the commit. ``last`` is ``None`` when unknown
    (a job that appended was rolled back); ``moved`` says the head is to be written."""

    last: tuple[int, str] | None = None
    moved: bool = False


def append_audit(
    conn: Connection, at: datetime, actor: str, action: str, target: str | None, details: Any
) -> AuditEntry:
    """Append one entry chained to the last one. Must run inside a write transaction, so appends serialise."""
    tail: AuditTail | None = getattr(conn, "audit_tail", None)
    if tail is not None and tail.last is not None:
        seq, prev = tail.last[0] + 1, tail.last[1]
    else:
        last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    when = format_time(at)
    assert when is not None
    text = canonical(details)
    digest = entry_hash(seq, when, actor, action, target, text, prev)
    conn.execute(
        "INSERT INTO audit (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, when, actor, action, target, text, prev, digest),
    )
    if tail is None:
        conn.execute(_SET_HEAD, (seq, digest))
    else:
        tail.last, tail.moved = (seq, digest), True
    return AuditEntry(seq, when, actor, action, target, text, prev, digest)


def write_audit_head(conn: Connection, tail: AuditTail) -> None:
    """The head as the transaction's entries left it, written once before the commit (see :class:`AuditTail`)."""
    if not tail.moved:
        return
    last = tail.last
    if last is None:
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return
        last = (int(row[0]), str(row[1]))
    conn.execute(_SET_HEAD, last)


_SET_HEAD = (
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)


def _audit_entry(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], str(row[5]), str(row[6]), str(row[7]))


def audit_entries(conn: Connection, after: int = 0, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    sql = "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit WHERE seq > ?"
    params: list[Any] = [after]
    if action:
        sql += " AND (action = ? OR action LIKE ?)"
        params += [action, action + ".%"]
    rows = conn.execute(sql + " ORDER BY seq LIMIT ?", (*params, limit)).fetchall()
    return [_audit_entry(r) for r in rows]


def iter_audit(conn: Connection, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry in storage order (by ``seq``), in batches."""
    after = None
    while True:
        if after is None:
            rows = conn.execute(
                "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit ORDER BY seq LIMIT ?",
                (batch,),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (after, batch),
            ).fetchall()
        if not rows:
            return
        for row in rows:
            yield _audit_entry(row)
        after = int(rows[-1][0])


def last_audit_details(conn: Connection, action: str) -> str | None:
    row = conn.execute("SELECT details FROM audit WHERE action = ? ORDER BY seq DESC LIMIT 1", (action,)).fetchone()
    return str(row[0]) if row else None


def audit_head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


# -- approvals -------------------------------------------------------------------------------------------------

_APPROVAL_COLUMNS = (
    "id, action, alert_id, state, requested_by, requester, requested_at, expires_at, regions, reasons, request, "
    "idempotency_key, decided_by, decider, decided_at, decision_reason, result_alert_id"
)


def _approval(row: Sequence[Any]) -> ApprovalRecord:
    requested_at, expires_at = parse_time(row[6]), parse_time(row[7])
    assert requested_at is not None
    assert expires_at is not None
    return ApprovalRecord(
        id=str(row[0]),
        action=str(row[1]),
        alert_id=row[2],
        state=str(row[3]),
        requested_by=int(row[4]),
        requester=str(row[5]),
        requested_at=requested_at,
        expires_at=expires_at,
        regions=tuple(json.loads(row[8])),
        reasons=tuple(json.loads(row[9])),
        request=json.loads(row[10]),
        idempotency_key=row[11],
        decided_by=row[12],
        decider=row[13],
        decided_at=parse_time(row[14]),
        decision_reason=row[15],
        result_alert_id=row[16],
    )


def insert_approval(conn: Connection, record: ApprovalRecord) -> None:
    conn.execute(
        f"INSERT INTO approvals ({_APPROVAL_COLUMNS}) VALUES ({', '.join('?' * 17)})",
        (
            record.id,
            record.action,
            record.alert_id,
            record.state,
            record.requested_by,
            record.requester,
            format_time(record.requested_at),
            format_time(record.expires_at),
            json.dumps(list(record.regions)),
            json.dumps(list(record.reasons)),
            canonical(record.request),
            record.idempotency_key,
            None,
            None,
            None,
            None,
            None,
        ),
    )


def get_approval(conn: Connection, approval_id: str) -> ApprovalRecord | None:
    row = conn.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)).fetchone()
    return _approval(row) if row else None


def approval_by_key(conn: Connection, user_id: int, key: str) -> ApprovalRecord | None:
    row = conn.execute(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE requested_by = ? AND idempotency_key = ?", (user_id, key)
    ).fetchone()
    return _approval(row) if row else None


def list_approvals(conn: Connection, limit: int = 1000) -> list[ApprovalRecord]:
    rows = conn.execute(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals ORDER BY requested_at DESC, id LIMIT ?", (limit,)
    ).fetchall()
    return [_approval(r) for r in rows]


def decide_approval(
    conn: Connection,
    approval_id: str,
    state: str,
    decided_by: int,
    decider: str,
    now: datetime,
    reason: str | None,
    result_alert_id: str | None,
) -> bool:
    """Move a pending, unexpired request to ``state``; False when it was no longer pending."""
    when = format_time(now)
    cur = conn.execute(
        "UPDATE approvals SET state = ?, decided_by = ?, decider = ?, decided_at = ?, decision_reason = ?, "
        "result_alert_id = ? WHERE id = ? AND state = 'pending' AND expires_at > ?",
        (state, decided_by, decider, when, reason, result_alert_id, approval_id, when),
    )
    return cur.rowcount > 0
