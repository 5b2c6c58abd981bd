"""The PostgreSQL store (``SIRENA_DATABASE_URL=postgresql://…``): the same :class:`~sirena.store.base.Store` as the
SQLite one, for several Sirena nodes sharing one database.

It keeps the SQLite store's shape: in each process one writer thread owns the write connection and commits the
jobs that queue up together (group commit, a savepoint per job), and readers run on a few connections of their
own. Across processes, every write transaction first takes one transaction-scoped advisory lock, so writes are
serialised cluster-wide exactly as SQLite serialises them on one machine: the area modules' read-then-write SQL
keeps its meaning, event sequence numbers are assigned and committed in the same order, and no reader ever sees
event *n + 1* before *n*.

A lost connection fails the jobs in flight with :class:`~sirena.errors.Unavailable` (a 503) at once; the next
job connects again, so the store recovers by itself when the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sirena.domain.model import Alert
from sirena.domain.notice import LogEvent
from sirena.errors import ConfigurationError, Unavailable
from sirena.protocol.alert_json import alert_from_dict, format_time
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
from sirena.store.postgis import Geometry, check_mode, engine
from sirena.store.postgres_migrations import migrate
from sirena.store.revisions import CommitRevisions
from sirena.store.sql import Connection, to_postgres
from sirena.store.sqlite import GROUP_LIMIT, _apply, _find, _last_seq, _load_alert, _log_event, _token

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
_STOP = object()

WRITE_LOCK = 0x53495245_4E410001
"""The advisory lock every write transaction holds: one writer at a time across all nodes."""
CONNECT_TIMEOUT_S = 3
LOCK_TIMEOUT_MS = 15_000
_READ_REVISION = "SELECT rev FROM revisions WHERE name = %s FOR SHARE"
TRANSLATIONS_KEPT = 4096


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError("error.missing_extra", channel="PostgreSQL", extra="postgres") from None
    return psycopg


class PgConnection:
    """A psycopg connection that speaks portable SQL (:class:`sirena.store.sql.Connection`)."""

    dialect = "postgresql"
    __slots__ = ("_translated", "raw")

    def __init__(self, raw: psycopg.Connection[Any], translated: dict[str, str]) -> None:
        self.raw = raw
        self._translated = translated

    def _sql(self, sql: str) -> str:
        found = self._translated.get(sql)
        if found is None:
            if len(self._translated) >= TRANSLATIONS_KEPT:
                self._translated.clear()
            found = self._translated[sql] = to_postgres(sql)
        return found

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        cur = self.raw.cursor()
        cur.execute(self._sql(sql), _params(parameters))
        return cur

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cur = self.raw.cursor()
        cur.executemany(self._sql(sql), [_params(p) for p in parameters])
        return cur


def _params(values: Sequence[Any]) -> tuple[Any, ...]:
    """Booleans as 0/1, as SQLite stores them (every flag column is an integer)."""
    return tuple(int(v) if isinstance(v, bool) else v for v in values)


def connect(url: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> psycopg.Connection[Any]:
    """A connection in autocommit mode (transactions are explicit), binding parameters on the client (as loosely
    typed as SQLite's), reading ``numeric`` (what ``SUM`` of integers gives) back as ``int`` or ``float``."""
    pg = _psycopg()
    from psycopg.adapt import Loader
    from psycopg.conninfo import conninfo_to_dict

    class NumberLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    options: dict[str, Any] = {
        "application_name": "sirena",
        "keepalives": 1,  # a server that vanished without closing the connection is noticed within ~25 s
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 20_000,
    }
    try:
        given = conninfo_to_dict(url)
        options.setdefault("connect_timeout", given.get("connect_timeout") or max(1, round(timeout_s)))
        conn: psycopg.Connection[Any] = pg.connect(url, autocommit=True, cursor_factory=pg.ClientCursor, **options)
    except pg.Error as exc:
        raise Unavailable("error.store_unavailable", reason=_reason(exc)) from None
    conn.adapters.register_loader("numeric", NumberLoader)
    return conn


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[Connection], Any], loop: asyncio.AbstractEventLoop) -> None:
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


class PostgresStore:
    """:class:`~sirena.store.base.Store` on a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: str, *, readers: int = 4, postgis: str = "auto") -> None:
        _psycopg()
        self.url = url
        self.postgis = check_mode(postgis)
        self.geometry = Geometry("python", reason="not opened")
        """The geometry engine (:mod:`sirena.store.postgis`), known once the store is open."""
        self._readers = readers
        self._listeners: list[CommitListener] = []
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._reader_conns: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._translated: dict[str, str] = {}
        self._revisions = CommitRevisions()

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._revisions = CommitRevisions()  # of this opening's commits only
        conn = await asyncio.to_thread(connect, self.url)
        try:
            await asyncio.to_thread(lambda: migrate(conn, postgis=self.postgis))
            self.geometry = await asyncio.to_thread(engine, conn, self.postgis)
        except BaseException:
            conn.close()
            raise
        self._writer = threading.Thread(target=self._write_loop, args=(conn,), name="sirena-pg-writer", daemon=True)
        self._writer.start()
        self._pool = ThreadPoolExecutor(self._readers, thread_name_prefix="sirena-pg-reader")

    async def close(self) -> None:
        if self._writer is not None:
            self._jobs.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    # -- the writer ---------------------------------------------------------------------------------------

    def _write_loop(self, conn: psycopg.Connection[Any] | None) -> None:
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
                conn = self._commit(conn, batch)
                if stop:
                    return
        finally:
            if conn is not None:
                conn.close()

    def _commit(self, conn: psycopg.Connection[Any] | None, batch: list[_Job]) -> psycopg.Connection[Any] | None:
        """Run ``batch`` in one transaction; returns the connection to use next (``None`` once it is lost)."""
        pg = _psycopg()
        outcomes: list[tuple[Any, BaseException | None]] = []
        events: list[LogEvent] = []
        try:
            if conn is None or conn.closed or conn.broken:
                conn = connect(self.url)
                conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            portable = PgConnection(conn, self._translated)
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = job.fn(portable)
                except BaseException as exc:  # the job's own failure: undo it alone
                    conn.execute("ROLLBACK TO SAVEPOINT job")
                    conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((None, exc))
                    continue
                conn.execute("RELEASE SAVEPOINT job")
                outcomes.append((result, None))
                if isinstance(result, WriteResult) and not result.replayed:
                    events.append(result.event)
                    events.extend(result.notices)
                elif isinstance(result, Appended):
                    events.extend(result.events)
            revision: int | None = None
            if events:  # under the write lock: every change committed before is in it; FOR SHARE holds back a
                # change made outside the lock (an operator's own SQL) until this commit is done
                row = conn.execute(_READ_REVISION, (REVISION,)).fetchone()
                revision = int(row[0]) if row is not None else None
            conn.execute("COMMIT")
            if revision is not None:
                self._revisions.record(events, revision)
        except (pg.Error, Unavailable) as exc:
            if conn is not None and not (conn.closed or conn.broken):
                with contextlib.suppress(pg.Error):
                    conn.execute("ROLLBACK")
            if conn is not None and (conn.closed or conn.broken):
                conn.close()
                conn = None
            failure = (
                exc if isinstance(exc, Unavailable) else Unavailable("error.store_unavailable", reason=_reason(exc))
            )
            outcomes = [(None, failure) for _ in batch]
            events = []
        for job, (result, error) in zip(batch, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, result, error)
        if events and self._listeners and self._loop is not None:
            ordered = sorted(events, key=lambda e: e.seq)
            self._loop.call_soon_threadsafe(self._notify, ordered)
        return conn

    def _notify(self, events: Sequence[LogEvent]) -> None:
        for listener in self._listeners:
            listener(events)

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        if self._writer is None:
            raise Unavailable("error.store_closed")
        job = _Job(fn, asyncio.get_running_loop())
        self._jobs.put(job)
        result: T = await job.future
        return result

    # -- readers ------------------------------------------------------------------------------------------

    def _run_read(self, fn: Callable[[Connection], T]) -> T:
        pg = _psycopg()
        for attempt in (1, 2):
            conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
            fresh = conn is None
            if conn is None:
                conn = connect(self.url)
                self._local.conn = conn
                with self._lock:
                    self._reader_conns.append(conn)
            try:
                return fn(PgConnection(conn, self._translated))
            except pg.Error as exc:
                if conn.broken or conn.closed:
                    self._drop_reader(conn)
                    if not fresh and attempt == 1:  # a connection from before an outage: try a new one once
                        continue
                raise Unavailable("error.store_unavailable", reason=_reason(exc)) from None
            finally:
                if not (conn.broken or conn.closed) and conn.info.transaction_status != 0:  # not idle
                    with contextlib.suppress(pg.Error):
                        conn.execute("ROLLBACK")
        raise AssertionError("unreachable")

    def _drop_reader(self, conn: psycopg.Connection[Any]) -> None:
        self._local.conn = None
        with self._lock, contextlib.suppress(ValueError):
            self._reader_conns.remove(conn)
        conn.close()

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        if self._pool is None:
            raise Unavailable("error.store_closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_read, fn)

    async def transaction(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on the writer connection inside the cluster-wide write transaction (a savepoint)."""
        return await self._write(fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on a reader connection (autocommit; ``BEGIN`` gives a repeatable-read snapshot)."""
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
        def run(conn: Connection) -> Snapshot:
            conn.execute("BEGIN")
            try:
                seq = _last_seq(conn)
                rows = conn.execute("SELECT body FROM alerts WHERE state = 'active' ORDER BY started_at").fetchall()
            finally:
                conn.execute("COMMIT")
            return Snapshot(seq, tuple(alert_from_dict(json.loads(r[0])) for r in rows))

        return await self._read(run)

    async def events_after(self, seq: int, limit: int = 1000) -> list[LogEvent]:
        def run(conn: Connection) -> list[LogEvent]:
            rows = conn.execute(
                "SELECT seq, type, at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
            return [_log_event(r) for r in rows]

        return await self._read(run)

    async def last_seq(self) -> int:
        return await self._read(_last_seq)

    def revision_at(self, seq: int) -> int | None:
        """The ``revisions`` counter as read inside the transaction that wrote event ``seq`` (under the write lock,
        just before its ``COMMIT``), for the recent commits of events by this store; None for any other event
        (written by another node or process, or longer ago)."""
        return self._revisions.at(seq)

    # -- tokens and meta ----------------------------------------------------------------------------------

    async def create_token(self, name: str, token_hash: str, owner: str | None = None) -> TokenRecord:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)

        def run(conn: Connection) -> TokenRecord:
            row = conn.execute(
                "INSERT INTO tokens (name, hash, owner, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (name, token_hash, owner, format_time(now)),
            ).fetchone()
            return TokenRecord(int(row[0]), name, now, None, owner)

        return await self._write(run)

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        def run(conn: Connection) -> TokenRecord | None:
            row = conn.execute(
                "SELECT id, name, created_at, revoked_at, owner FROM tokens WHERE hash = ?", (token_hash,)
            ).fetchone()
            return _token(row) if row else None

        return await self._read(run)

    async def list_tokens(self) -> list[TokenRecord]:
        def run(conn: Connection) -> list[TokenRecord]:
            rows = conn.execute("SELECT id, name, created_at, revoked_at, owner FROM tokens ORDER BY id").fetchall()
            return [_token(r) for r in rows]

        return await self._read(run)

    async def revoke_token(self, token_id: int) -> bool:
        now = format_time(datetime.now(UTC))

        def run(conn: Connection) -> bool:
            cur = conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id))
            return cur.rowcount > 0

        return await self._write(run)

    async def get_meta(self, key: str) -> str | None:
        def run(conn: Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return str(row[0]) if row else None

        return await self._read(run)

    async def set_meta(self, key: str, value: str) -> None:
        def run(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

        await self._write(run)

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())
