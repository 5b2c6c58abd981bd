"""Webhook delivery: one worker per endpoint, strictly in order, with bounded concurrency overall.

Each subscription's worker sends its oldest undelivered message, and only that one, until it is delivered or
given up on: so receivers see messages in the order of the events. It sends up to ``BATCH`` of them back to back
on its kept-alive connection, one request after the other's answer (never pipelined: a failed message must stop
the ones after it), and hands the attempts to the recorder, which writes those of every worker that finished in
the meantime in one transaction. A failed attempt is retried after an
exponential delay with jitter (honouring ``Retry-After``) until the message is ``webhook_max_age_s`` old; then it
is dead-lettered, visibly, and the next one goes. A slow or dead endpoint only ever holds its own worker (and
one of ``webhook_concurrency`` request slots), never anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, cast

from sirena import __version__
from sirena.delivery import http1, signing
from sirena.delivery.backoff import Backoff, wait_signal
from sirena.delivery.errors import UnsafeTarget
from sirena.delivery.metrics import DeliveryMetrics
from sirena.store import delivery as sql
from sirena.store.delivery import DEAD, DELIVERED, PENDING, Settled, SQLRunner, WebhookMessage, WebhookSubscription

if TYPE_CHECKING:
    from sirena.cluster import Leases
    from sirena.settings import Settings

log = logging.getLogger("sirena.delivery")

IDLE_EXIT_S = 60.0
"""A worker with nothing to send for this long ends; the next message starts a new one."""
SWEEP_S = 5.0
PRUNE_EVERY_S = 3600.0
RESPONSE_READ_LIMIT = 65_536
BATCH = 16
"""Messages an endpoint's worker sends back to back before it records them (in one transaction) and looks again.
A crash in between sends them again: delivery is at least once, and ``webhook-id`` tells repeats apart."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    latency_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class _Worker:
    __slots__ = ("ahead", "connection", "headers", "signer", "task", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.connection = http1.Connection()
        self.signer: signing.Signer | None = None
        self.headers: tuple[Mapping[str, str], dict[str, str]] | None = None
        """The subscription's own headers and the unchanging headers of its requests made from them."""
        self.ahead: Heads | None = None
        """The subscription and its next messages, read in the transaction that recorded the last ones."""

    def prepared(self, sub: WebhookSubscription) -> tuple[signing.Signer, dict[str, str]]:
        """The subscription's signer and unchanging request headers, made again only when they change."""
        signer = self.signer
        if signer is None or signer.secret != sub.secret:
            signer = self.signer = signing.Signer(sub.secret)
        made = self.headers
        if made is None or made[0] != sub.headers:
            made = self.headers = (sub.headers, _static_headers(sub))
        return signer, made[1]


Heads = tuple[WebhookSubscription | None, list[WebhookMessage]]
"""A subscription (None once deleted) and its oldest undelivered messages."""

_Write = Callable[[list[Settled], list[tuple[str, float]], list[str]], Awaitable[tuple[int, dict[str, Heads]]]]


class _Recorder:
    """Records the attempts of every worker in as few transactions as possible (the attempts handed in while one
    transaction is written go together in the next) and reads each worker's next messages in the same one."""

    def __init__(self, write: _Write) -> None:
        self._write = write
        self._waiting: list[tuple[list[Settled], list[tuple[str, float]], str, asyncio.Future[tuple[int, Heads]]]]
        self._waiting = []
        self._task: asyncio.Task[None] | None = None

    async def record(self, settled: list[Settled], expire: list[tuple[str, float]], sub_id: str) -> tuple[int, Heads]:
        """Record ``settled`` and dead-letter each ``(subscription, created before)`` of ``expire``, once
        committed; returns how many messages expired and what ``sub_id`` has to send next."""
        done: asyncio.Future[tuple[int, Heads]] = asyncio.get_running_loop().create_future()
        self._waiting.append((settled, expire, sub_id, done))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sirena-webhook-recorder")
        return await done

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # let the workers answered in the same turn of the loop join
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                settled = [s for batch in waiting for s in batch[0]]
                expire = [e for batch in waiting for e in batch[1]]
                try:
                    expired, ahead = await self._write(settled, expire, [w[2] for w in waiting])
                except Exception as exc:
                    for *_, done in waiting:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for i, (_, _, sub_id, done) in enumerate(waiting):
                    if not done.done():
                        done.set_result((expired if i == 0 else 0, ahead[sub_id]))
        finally:
            self._task = None

    async def stop(self) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Dispatcher:
    def __init__(self, sqlrunner: SQLRunner, settings: Settings, metrics: DeliveryMetrics) -> None:
        self.sql = sqlrunner
        self.settings = settings
        self.metrics = metrics
        self.backoff = Backoff(settings.webhook_retry_base_s, settings.webhook_retry_max_s)
        self._slots = asyncio.Semaphore(max(1, settings.webhook_concurrency))
        self._workers: dict[str, _Worker] = {}
        self._closing = False
        self._recorder = _Recorder(self._record)
        self.leases: Leases | None = None
        """With several nodes, a subscription's queue is sent by the node holding lease ``webhook:<id>``."""

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Start a worker for every endpoint with messages waiting, then keep checking (other processes and
        redrives may queue messages too)."""
        pruned_at = 0.0
        while True:
            try:
                for sub_id in cast("list[str]", await self.sql.read(sql.subscriptions_with_pending)):
                    self.wake(sub_id)
                if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                    pruned_at = time.monotonic()
                    before = time.time() - self.settings.webhook_log_days * 86400
                    await self.sql.transaction(lambda c, before=before: sql.prune(c, before))
            except Exception:
                log.exception("could not read the webhook outbox")
            await asyncio.sleep(SWEEP_S)

    async def stop(self) -> None:
        self._closing = True
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        await self._recorder.stop()
        self.metrics.webhook_workers.set(0)

    def wake(self, sub_id: str) -> None:
        """Messages were queued for ``sub_id`` (or it changed): make sure its worker looks now."""
        if self._closing:
            return
        worker = self._workers.get(sub_id)
        if worker is None:
            worker = self._workers[sub_id] = _Worker()
            worker.task = asyncio.get_running_loop().create_task(self._work(sub_id, worker), name=f"webhook-{sub_id}")
            self.metrics.webhook_workers.set(len(self._workers))
        worker.wake.set()

    # -- one endpoint ----------------------------------------------------------------------------------------

    async def _work(self, sub_id: str, worker: _Worker) -> None:
        try:
            while True:
                worker.wake.clear()
                try:
                    done = await self._step(sub_id, worker)
                except Exception:
                    log.exception("webhook worker for %s failed; retrying", sub_id)
                    await wait_signal(worker.wake, self.settings.delivery_poll_s)
                    continue
                if done:
                    if self.leases is not None:
                        await self.leases.release(f"webhook:{sub_id}")
                    return
        finally:
            await worker.connection.close()
            if self._workers.get(sub_id) is worker:
                del self._workers[sub_id]
                self.metrics.webhook_workers.set(len(self._workers))

    async def _step(self, sub_id: str, worker: _Worker) -> bool:
        """Deliver or wait once; True when the worker should end."""
        ahead, worker.ahead = worker.ahead, None
        if ahead is not None and ahead[0] is not None and ahead[1]:
            sub, messages = ahead  # read when the last ones were recorded
        else:
            sub, messages = cast("Heads", await self.sql.read(lambda c: _heads(c, sub_id)))
        message = messages[0] if messages else None
        if sub is None or message is None:
            woken = await wait_signal(worker.wake, IDLE_EXIT_S if sub is not None else 0)
            return not woken and not worker.wake.is_set()
        delay = message.next_at - time.time()
        if delay > 0:
            await wait_signal(worker.wake, delay)
            return False
        if self.leases is not None and not await self.leases.hold(f"webhook:{sub_id}"):
            return True  # another node sends this queue; the sweep looks again (and takes over if it dies)
        settled: list[tuple[WebhookMessage, Outcome]] = []
        for message in messages:  # back to back on the kept-alive connection, settled in one transaction
            if message.next_at > time.time():
                break
            outcome = await self.attempt(sub, message, worker.connection, worker)
            settled.append((message, outcome))
            if not outcome.ok:  # strictly in order: nothing after a failed message goes before it
                break
        worker.ahead = await self._settle(sub, settled)
        return False

    async def attempt(
        self,
        sub: WebhookSubscription,
        message: WebhookMessage,
        connection: http1.Connection | None = None,
        worker: _Worker | None = None,
    ) -> Outcome:
        """Send one message once, signed, on the endpoint's kept-alive ``connection`` (a new one if not given);
        never raises."""
        body = message.body.encode()
        if worker is not None:
            signer, headers = worker.prepared(sub)
        else:
            signer, headers = signing.Signer(sub.secret), _static_headers(sub)
        own = connection is None
        conn = connection if connection is not None else http1.Connection()
        timeout = self.settings.webhook_timeout_s
        async with self._slots:
            started = time.perf_counter()
            try:
                answer = await conn.post(
                    sub.url,
                    body,
                    headers,
                    read_limit=RESPONSE_READ_LIMIT,
                    allow_private=self.settings.webhook_allow_private,
                    message_headers=signer.headers(message.msg_id, body),
                    limit_s=timeout,
                )
            except UnsafeTarget as exc:
                return Outcome(None, f"refused: {exc.detail()}", 0)
            except TimeoutError:
                await conn.close()
                latency = _ms(started)
                self.metrics.webhook_latency.observe(latency / 1000)
                return Outcome(None, f"timeout after {timeout:g} s", latency)
            except (http1.HTTPFailure, OSError) as exc:
                latency = _ms(started)
                self.metrics.webhook_latency.observe(latency / 1000)
                return Outcome(None, str(exc)[:500] or type(exc).__name__, latency)
            finally:
                if own:
                    await conn.close()
        latency = _ms(started)
        self.metrics.webhook_latency.observe(latency / 1000)
        status = answer.status
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return Outcome(status, error, latency, _retry_after(answer.headers.get("retry-after")))

    async def _settle(self, sub: WebhookSubscription, settled: list[tuple[WebhookMessage, Outcome]]) -> Heads:
        """Record the attempts; returns what the subscription has to send next."""
        now = time.time()
        rows: list[Settled] = []
        expire: list[tuple[str, float]] = []
        delivered = 0
        for message, outcome in settled:
            state, next_at = self._next(sub, message, outcome, now)
            rows.append(Settled(message, outcome.status_code, outcome.error, outcome.latency_ms, now, state, next_at))
            if state == DEAD:
                expire.append((sub.id, now - self.settings.webhook_max_age_s))
            delivered += state == DELIVERED
        if delivered:
            self.metrics.webhook_deliveries.inc(delivered)
        expired, ahead = await self._recorder.record(rows, expire, sub.id)
        if expired:
            self.metrics.webhook_dead.inc(expired)
        return ahead

    async def _record(
        self, settled: list[Settled], expire: list[tuple[str, float]], sub_ids: list[str]
    ) -> tuple[int, dict[str, Heads]]:
        """One transaction: the attempts of several workers, the expiries their dead letters call for, and what
        each of those workers has to send next."""
        now = time.time()

        def write(conn: sqlite3.Connection) -> tuple[int, dict[str, Heads]]:
            sql.record_attempts(conn, settled)
            expired = sum(sql.expire(conn, sub_id, before, now, "expired") for sub_id, before in expire)
            return expired, {sub_id: _heads(conn, sub_id) for sub_id in dict.fromkeys(sub_ids)}

        return cast("tuple[int, dict[str, Heads]]", await self.sql.transaction(write))

    def _next(
        self, sub: WebhookSubscription, message: WebhookMessage, outcome: Outcome, now: float
    ) -> tuple[str, float]:
        """What becomes of a message after an attempt: delivered, dead, or pending until when."""
        attempt_no = message.attempts + 1
        if outcome.ok:
            state, next_at = DELIVERED, now
        else:
            self.metrics.webhook_failures.inc()
            if now - message.created >= self.settings.webhook_max_age_s:
                state, next_at = DEAD, now
                self.metrics.webhook_dead.inc()
                log.warning(
                    "webhook %s: giving up on %s after %d attempts (%s)",
                    sub.id,
                    message.msg_id,
                    attempt_no,
                    outcome.error,
                )
            else:
                delay = self.backoff.delay(attempt_no)
                if outcome.retry_after is not None:
                    delay = min(max(delay, outcome.retry_after), self.settings.webhook_retry_max_s)
                state, next_at = PENDING, now + delay
                self.metrics.webhook_retries.inc()
        return state, next_at


def _heads(conn: sqlite3.Connection, sub_id: str) -> tuple[WebhookSubscription | None, list[WebhookMessage]]:
    """The subscription and its oldest undelivered messages (at most ``BATCH``), in one read."""
    sub = sql.get_subscription(conn, sub_id)
    return sub, ([] if sub is None else sql.heads(conn, sub_id, BATCH))


def _static_headers(sub: WebhookSubscription) -> dict[str, str]:
    """The headers every request to ``sub`` carries besides the signature's."""
    made = {"content-type": "application/json", "user-agent": f"Sirena/{__version__} (webhooks)", **sub.headers}
    return {k: v for k, v in made.items() if k.lower() not in signing.HEADERS}


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
