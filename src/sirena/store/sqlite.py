"""The embedded store: SQLite in WAL mode with ``synchronous=FULL``.

One writer thread owns the only write connection and takes jobs from a queue. Jobs that arrive while a commit
is in flight are committed together (group commit), each inside its own savepoint so that one failing job
rolls back alone. Reads run on a small pool of reader connections. Events reach commit listeners on the event
loop, in sequence order, only after the commit that made them true.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sirena.domain.model import Alert, Event, EventType
from sirena.domain.notice import LogEvent, Notice, NoticeType
from sirena.errors import ConfigurationError, IdempotencyConflict, Unavailable
from sirena.protocol.alert_json import alert_from_dict, format_time, parse_time
from sirena.store.auth import AuditTail, write_audit_head
from sirena.store.base import (
    REVISION,
    AlertQuery,
    Appended,
    CommitListener,
    IdempotencyKey,
    Snapshot,
    Step,
    TokenRecord,
    WriteHook,
    WriteResult,
)
from sirena.store.batch import alert_row
from sirena.store.migrations import SQLITE as MIGRATIONS
from sirena.store.revisions import CommitRevisions
from sirena.store.sql import Connection, statements

T = TypeVar("T")
C = TypeVar("C", bound=sqlite3.Connection)
_STOP = object()
GROUP_LIMIT = 256
_READ_REVISION = "SELECT rev FROM revisions WHERE name = ?"


def path_from_url(url: str) -> Path:
    """``sqlite:///var/x.db`` → ``var/x.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``; a bare path is itself.
    A URL with no path, or ``sqlite:`` without its three slashes (a typo that would make a folder named
    ``sqlite:``), is refused."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if not path or "://" in path or path.startswith("sqlite:"):
        raise ConfigurationError("error.bad_database_url", url=url)
    return Path(path)


def connect(path: Path) -> sqlite3.Connection:
    return _configured(sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30))


class _WriterConnection(sqlite3.Connection):
    """The writer's connection: while a group of jobs commits, ``audit_tail`` carries the end of the audit chain
    from one job's entry to the next (``sirena.store.auth.append_audit``)."""

    audit_tail: AuditTail | None = None


def _writer_connection(path: Path) -> _WriterConnection:
    return _configured(
        sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30, factory=_WriterConnection)
    )


def _configured(conn: C) -> C:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _by_seq(event: LogEvent) -> int:
    return event.seq


def _settle(
    notify: Callable[[Sequence[LogEvent]], None] | None,
    events: Sequence[LogEvent],
    settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
) -> None:
    """On the event loop: hand a commit's events to the listeners, then answer its writers (even if a listener
    raised)."""
    try:
        if notify is not None and events:
            notify(events)
    finally:
        for future, result, error in settled:
            _resolve(future, result, error)


def _hand_back(
    loop: asyncio.AbstractEventLoop | None,
    notify: Callable[[Sequence[LogEvent]], None],
    events: Sequence[LogEvent],
    batch: Sequence[Any],
    outcomes: Sequence[tuple[Any, BaseException | None]],
) -> None:
    """From the writer thread: one wake-up of the store's event loop per commit, which notifies the listeners
    and then resolves every job of the group (a job from another loop is answered on its own loop)."""
    settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
    for job, (result, error) in zip(batch, outcomes, strict=True):
        if job.loop is loop:
            settled.append((job.future, result, error))
        else:
            job.loop.call_soon_threadsafe(_resolve, job.future, result, error)
    if loop is not None and (settled or events):
        loop.call_soon_threadsafe(_settle, notify, events, settled)


class SQLiteStore:
    """:class:`~sirena.store.base.Store` on a SQLite file."""

    def __init__(self, url: str, *, readers: int = 4) -> None:
        self.path = path_from_url(url)
        self._readers = readers
        self._listeners: list[CommitListener] = []
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reads: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._reader_threads: list[threading.Thread] = []
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._revisions = CommitRevisions()

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._revisions = CommitRevisions()  # of this opening's commits only
        conn: _WriterConnection | None = None
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _writer_connection(self.path)
            migrate(conn)
        except (sqlite3.Error, OSError) as exc:  # not a database, a folder, no right to write there, …
            if conn is not None:
                conn.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise Unavailable("error.store_unavailable", reason=f"{self.path}: {reason}") from None
        self._writer = threading.Thread(target=self._write_loop, args=(conn,), name="sirena-writer", daemon=True)
        self._writer.start()
        self._reader_threads = [
            threading.Thread(target=self._read_loop, name=f"sirena-reader_{i}", daemon=True)
            for i in range(self._readers)
        ]
        for thread in self._reader_threads:
            thread.start()

    async def close(self) -> None:
        if self._writer is not None:
            self._jobs.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader_threads:
            threads, self._reader_threads = self._reader_threads, []
            for _ in threads:  # after the reads already queued
                self._reads.put(_STOP)
            for thread in threads:
                thread.join()
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    # -- the writer ---------------------------------------------------------------------------------------

    def _write_loop(self, conn: _WriterConnection) -> None:
        try:
            while True:
                first = self._jobs.get()
                if first is _STOP:
                    return
                batch: list[_Job] = [first]
                stop = False
                while len(batch) < GROUP_LIMIT:
                    try:
                        nxt = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn: _WriterConnection, batch: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        events: list[LogEvent] = []
        alone = len(batch) == 1  # a job on its own needs no savepoint: its failure rolls back the transaction
        # in a group, the audit entries follow on from each other and the chain's head is written once
        tail = conn.audit_tail = None if alone else AuditTail()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                if not alone:
                    conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(conn)
                except BaseException as exc:  # the job's own failure: undo it alone
                    conn.execute("ROLLBACK" if alone else "ROLLBACK TO job")
                    if tail is not None:
                        conn.execute("RELEASE job")
                        tail.last = None  # an entry it appended is gone: read the end back
                    outcomes.append((None, exc))
                    continue
                if not alone:
                    conn.execute("RELEASE job")
                outcomes.append((result, None))
                if isinstance(result, WriteResult) and not result.replayed:
                    events.append(result.event)
                    events.extend(result.notices)
                elif isinstance(result, Appended):
                    events.extend(result.events)
            revision: int | None = None
            if conn.in_transaction:
                if tail is not None:
                    write_audit_head(conn, tail)
                if events:  # the counter as this transaction leaves it: every change committed before is in it
                    revision = int(conn.execute(_READ_REVISION, (REVISION,)).fetchone()[0])
                conn.execute("COMMIT")
            if revision is not None:
                self._revisions.record(events, revision)
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            failure = Unavailable("error.store_unavailable", reason=str(exc))
            outcomes = [(None, failure) for _ in batch]
            events = []
        finally:
            conn.audit_tail = None
        # Listeners first: the live channels start on the news before the writers' callers answer.
        ordered = sorted(events, key=_by_seq) if events and self._listeners else []
        _hand_back(self._loop, self._notify, ordered, batch, outcomes)

    def _notify(self, events: Sequence[LogEvent]) -> None:
        for listener in self._listeners:
            listener(events)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise Unavailable("error.store_closed")
        job = _Job(fn, asyncio.get_running_loop())
        self._jobs.put(job)
        result: T = await job.future
        return result

    # -- readers ------------------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def _read_loop(self) -> None:
        """A reader thread: runs reads in the order they came and answers each on its caller's loop (one
        wake-up of the loop a read, with none of an executor's futures to chain)."""
        while True:
            job = self._reads.get()
            if job is _STOP:
                return
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.fn(self._reader())
            except sqlite3.Error as exc:
                error = Unavailable("error.store_unavailable", reason=str(exc))
                error.__cause__ = exc
            except BaseException as exc:  # the read's own failure, for its caller
                error = exc
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits for the answer
                job.loop.call_soon_threadsafe(_resolve, job.future, result, error)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._reader_threads:
            raise Unavailable("error.store_closed")
        job = _Job(fn, asyncio.get_running_loop())
        self._reads.put(job)
        result: T = await job.future
        return result

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the writer connection inside a transaction (a savepoint within a group commit).

        Area modules (``sirena.store.*``) keep their SQL in functions that take the connection and call this."""
        return await self._write(fn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a read-only connection from the pool."""
        return await self._read(fn)

    # -- alerts and events --------------------------------------------------------------------------------

    async def write(
        self,
        alert_id: str,
        step: Step,
        *,
        idempotency: IdempotencyKey | None = None,
        then: WriteHook | None = None,
        new: bool = False,
    ) -> WriteResult:
        return await self._write(lambda conn: _apply(conn, alert_id, step, idempotency, new=new, then=then))

    async def get_alert(self, alert_id: str) -> Alert | None:
        return await self._read(lambda conn: _load_alert(conn, alert_id))

    async def find_alerts(self, query: AlertQuery) -> list[Alert]:
        return await self._read(lambda conn: _find(conn, query))

    async def snapshot(self) -> Snapshot:
        def run(conn: sqlite3.Connection) -> Snapshot:
            conn.execute("BEGIN")
            try:
                seq = _last_seq(conn)
                rows = conn.execute("SELECT body FROM alerts WHERE state = 'active' ORDER BY started_at").fetchall()
            finally:
                conn.execute("COMMIT")
            return Snapshot(seq, tuple(alert_from_dict(json.loads(r[0])) for r in rows))

        return await self._read(run)

    async def events_after(self, seq: int, limit: int = 1000) -> list[LogEvent]:
        def run(conn: sqlite3.Connection) -> list[LogEvent]:
            rows = conn.execute(
                "SELECT seq, type, at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
            return [_log_event(r) for r in rows]

        return await self._read(run)

    async def last_seq(self) -> int:
        return await self._read(_last_seq)

    def revision_at(self, seq: int) -> int | None:
        """The :data:`~sirena.store.base.REVISION` counter as read inside the transaction that wrote event ``seq``
        (just before its ``COMMIT``), for at least the last :data:`~sirena.store.revisions.KEPT` commits of events by this
        store; None for any other event (written by another process, or longer ago)."""
        return self._revisions.at(seq)

    # -- tokens and meta ----------------------------------------------------------------------------------

    async def create_token(self, name: str, token_hash: str, owner: str | None = None) -> TokenRecord:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)

        def run(conn: sqlite3.Connection) -> TokenRecord:
            row = conn.execute(
                "INSERT INTO tokens (name, hash, owner, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (name, token_hash, owner, format_time(now)),
            ).fetchone()
            return TokenRecord(int(row[0]), name, now, None, owner)

        return await self._write(run)

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        def run(conn: sqlite3.Connection) -> TokenRecord | None:
            row = conn.execute(
                "SELECT id, name, created_at, revoked_at, owner FROM tokens WHERE hash = ?", (token_hash,)
            ).fetchone()
            return _token(row) if row else None

        return await self._read(run)

    async def list_tokens(self) -> list[TokenRecord]:
        def run(conn: sqlite3.Connection) -> list[TokenRecord]:
            rows = conn.execute("SELECT id, name, created_at, revoked_at, owner FROM tokens ORDER BY id").fetchall()
            return [_token(r) for r in rows]

        return await self._read(run)

    async def revoke_token(self, token_id: int) -> bool:
        now = format_time(datetime.now(UTC))

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id))
            return cur.rowcount > 0

        return await self._write(run)

    async def get_meta(self, key: str) -> str | None:
        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return str(row[0]) if row else None

        return await self._read(run)

    async def set_meta(self, key: str, value: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

        await self._write(run)

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())


# -- SQL helpers (run on the writer or a reader thread) --------------------------------------------------


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    applied: list[str] = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, format_time(datetime.now(UTC))),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _last_seq(conn: Connection) -> int:
    row = conn.execute("SELECT MAX(seq) FROM events").fetchone()
    return int(row[0] or 0)


def _load_alert(conn: Connection, alert_id: str) -> Alert | None:
    row = conn.execute("SELECT body FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return alert_from_dict(json.loads(row[0])) if row else None


def _event(row: Sequence[Any]) -> Event:
    seq, type_, at, body = row
    at_time = parse_time(at)
    assert at_time is not None
    return Event(seq=int(seq), type=EventType(type_), alert=alert_from_dict(json.loads(body)), at=at_time)


def _log_event(row: Sequence[Any]) -> LogEvent:
    """An alert event, or a notice (any type that is not an alert event's)."""
    if row[1] in _ALERT_EVENT_TYPES:
        return _event(row)
    seq, type_, at, body = row
    at_time = parse_time(at)
    assert at_time is not None
    return Notice(seq=int(seq), type=NoticeType(type_), at=at_time, body=json.loads(body))


_ALERT_EVENT_TYPES = frozenset(t.value for t in EventType)


def _token(row: Sequence[Any]) -> TokenRecord:
    created = parse_time(row[2])
    assert created is not None
    return TokenRecord(int(row[0]), str(row[1]), created, parse_time(row[3]), row[4])


_INSERT_REGION = "INSERT INTO alert_regions (alert_id, region_id, partial) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_UPSERT_ALERT = (
    "INSERT INTO alerts (id, version, state, status, kind, source, started_at, updated_at, ended_at, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, "
    "state = excluded.state, status = excluded.status, kind = excluded.kind, updated_at = excluded.updated_at, "
    "ended_at = excluded.ended_at, body = excluded.body"
)


def _apply(
    conn: Connection,
    alert_id: str,
    step: Step,
    idem: IdempotencyKey | None,
    *,
    new: bool = False,
    then: WriteHook | None = None,
) -> WriteResult:
    """One write of one alert, in the write transaction; ``then`` runs after it in the same transaction (not for a
    replayed idempotent request)."""
    if idem is not None:
        row = conn.execute(
            "SELECT request_hash, event_seq FROM idempotency WHERE scope = ? AND key = ?",
            (idem.scope, idem.key),
        ).fetchone()
        if row is not None:
            if row[0] != idem.request_hash:
                raise IdempotencyConflict("error.idempotency_conflict", key=idem.key)
            earlier = conn.execute("SELECT seq, type, at, body FROM events WHERE seq = ?", (row[1],)).fetchone()
            return WriteResult(_event(earlier), replayed=True)
    current = None if new else _load_alert(conn, alert_id)  # a new id has no row (its version 1 would clash)
    alert, event_type = step(current)
    row, body, updated = alert_row(alert)  # one encoding: the alert row, its event and its version carry the same text
    conn.execute(_UPSERT_ALERT, row)
    if current is None or current.touched_regions != alert.touched_regions:
        if current is not None:
            conn.execute("DELETE FROM alert_regions WHERE alert_id = ?", (alert.id,))
        rows = [(alert.id, r, 0) for r in alert.regions] + [(alert.id, r, 1) for r in alert.partial_regions]
        if len(rows) == 1:  # the common case, without executemany's own overhead
            conn.execute(_INSERT_REGION, rows[0])
        else:
            conn.executemany(_INSERT_REGION, rows)
    # the next number after the last, never a gap: writers are serialised (one writer here, a cluster-wide lock
    # on PostgreSQL), so sequence order is commit order
    seq = int(
        conn.execute(
            "INSERT INTO events (seq, type, alert_id, at, body) "
            "VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?, ?, ?, ?) RETURNING seq",
            (event_type.value, alert.id, updated, body),
        ).fetchone()[0]
    )
    conn.execute(
        "INSERT INTO alert_versions (alert_id, version, event_seq) VALUES (?, ?, ?)", (alert.id, alert.version, seq)
    )
    if idem is not None:
        conn.execute(
            "INSERT INTO idempotency (scope, key, request_hash, event_seq, created_at) VALUES (?, ?, ?, ?, ?)",
            (idem.scope, idem.key, idem.request_hash, seq, updated),
        )
    result = WriteResult(Event(seq=seq, type=event_type, alert=alert, at=alert.updated_at))
    if then is not None:
        then(conn, result)
    return result


def _find(conn: Connection, query: AlertQuery) -> list[Alert]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.states is not None:
        clauses.append(f"a.state IN ({','.join('?' * len(query.states))})")
        params.extend(s.value for s in query.states)
    if query.statuses is not None:
        clauses.append(f"a.status IN ({','.join('?' * len(query.statuses))})")
        params.extend(s.value for s in query.statuses)
    if query.since is not None:
        clauses.append("a.updated_at >= ?")
        params.append(format_time(query.since))
    if query.regions is not None:
        regions = sorted(query.regions)
        clauses.append(
            "a.id IN (SELECT alert_id FROM alert_regions WHERE region_id IN (" + ",".join("?" * len(regions)) + "))"
        )
        params.extend(regions)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        f"SELECT a.body FROM alerts a {where} ORDER BY a.started_at DESC, a.id LIMIT ?",
        (*params, query.limit),
    ).fetchall()
    return [alert_from_dict(json.loads(r[0])) for r in rows]
