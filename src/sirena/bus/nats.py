"""The NATS JetStream bus (``SIRENA_BUS_URL=nats://host:4222``): several Sirena nodes hear every committed event.

Each node's relay publishes the events it finds committed to the stream ``SIRENA_BUS_STREAM`` (subject
``<stream>.events``) with ``Nats-Msg-Id`` set to the event's sequence number, so JetStream stores each event
once however many nodes publish it. Every node reads the whole stream with its own ephemeral consumer and hands
the events, together with the ones it publishes itself, to a :class:`~sirena.bus.sequencer.Sequencer`, which
passes each one on exactly once and in sequence order, reading any gap from the event log.

Nothing here is needed for correctness, only for speed: the event log in the database is the source of truth.
While NATS is unreachable a node keeps serving its clients from its own relay (which polls the log), and it
reconnects, re-creates its consumer where it left off and carries on by itself when NATS is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from sirena.bus.base import Handler
from sirena.bus.sequencer import EventLog, Sequencer
from sirena.domain.notice import LogEvent
from sirena.errors import ConfigurationError
from sirena.protocol.alert_json import dumps, event_to_dict, format_time, log_event_from_dict, parse_time

log = logging.getLogger("sirena.bus")

FETCH_BATCH = 256
FETCH_WAIT_S = 1.0
PUBLISH_TIMEOUT_S = 2.0
RETRY_S = 0.5
DUPLICATE_WINDOW_S = 120.0
MAX_AGE_S = 7 * 86400.0
MAX_MESSAGES = 1_000_000
_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _nats() -> Any:
    try:
        import nats
    except ImportError:
        raise ConfigurationError("error.missing_extra", channel="NATS", extra="nats") from None
    return nats


def encode(event: LogEvent) -> bytes:
    return dumps({**event_to_dict(event), "at": format_time(event.at)}).encode()


def decode(data: bytes) -> LogEvent:
    body = json.loads(data)
    return log_event_from_dict(body, at=parse_time(body.get("at")))


class NatsBus:
    """:class:`~sirena.bus.base.Bus` on a NATS JetStream stream, ordered and gap-free through the event log."""

    def __init__(self, url: str, stream: str, log_: EventLog, *, name: str = "sirena") -> None:
        _nats()
        if not _STREAM_NAME.fullmatch(stream):
            raise ConfigurationError("error.bad_bus_stream", stream=stream)
        self.url = url
        self.stream = stream
        self.subject = f"{stream}.events"
        self.name = name
        self._handlers: list[Handler] = []
        self.sequencer = Sequencer(log_, self._handlers)
        self._nc: Any = None
        self._js: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stream_seq = 0
        """The last stream sequence number this node's consumer has read."""
        self._reset = asyncio.Event()
        self.connected = False
        self.down_since: float | None = time.time()
        self.published = 0
        self.received = 0
        self.fallbacks = 0
        """Events handed on locally only, because NATS could not take them."""
        self.last_error = ""

    # -- the Bus protocol ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sequencer.start()
        self._task = asyncio.create_task(self._run(), name="sirena-nats")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()
        await self.sequencer.close()
        self._handlers.clear()

    async def publish(self, event: LogEvent) -> None:
        """Put ``event`` on the stream (once, whoever else publishes it) and hand it to this node's handlers.
        With NATS away the event is still handed on here; the other nodes find it in the event log."""
        js = self._js
        if js is not None and self.connected:
            try:
                await js.publish(
                    self.subject, encode(event), timeout=PUBLISH_TIMEOUT_S, headers={"Nats-Msg-Id": str(event.seq)}
                )
                self.published += 1
            except Exception as exc:
                self._failed(exc)
                self.fallbacks += 1
        else:
            self.fallbacks += 1
        self.sequencer.offer(event)

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    # -- health -------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.connected else "down",
            "kind": "nats",
            "stream": self.stream,
            "down_since": self.down_since,
            "error": self.last_error or None,
            "last_seq": self.sequencer.last,
            "published": self.published,
            "received": self.received,
            "filled_from_log": self.sequencer.filled,
            "local_only": self.fallbacks,
        }

    # -- connection and consumer ----------------------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}".strip()
        if text != self.last_error:
            log.warning("NATS: %s", text)
        self.last_error = text

    async def _run(self) -> None:
        nats = _nats()
        while True:
            try:
                if self._nc is None:
                    self._nc = await nats.connect(
                        self.url,
                        name=self.name,
                        connect_timeout=2,
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=RETRY_S,
                        ping_interval=5,
                        max_outstanding_pings=2,
                        error_cb=self._on_error,
                        disconnected_cb=self._on_disconnected,
                        reconnected_cb=self._on_reconnected,
                    )
                    self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
                await self._ensure_stream()
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                self._down()
                if self._nc is not None and self._nc.is_closed:
                    self._nc = self._js = None
                await asyncio.sleep(RETRY_S)

    async def _ensure_stream(self) -> None:
        from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            config = StreamConfig(
                name=self.stream,
                subjects=[self.subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                max_age=MAX_AGE_S,
                max_msgs=MAX_MESSAGES,
                duplicate_window=DUPLICATE_WINDOW_S,
            )
            with contextlib.suppress(Exception):  # another node may create it at the same moment
                await self._js.add_stream(config)
            await self._js.stream_info(self.stream)

    async def _consume(self) -> None:
        """Read the stream from where this node left off until something breaks (then the caller starts again)."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        info = await self._js.stream_info(self.stream)
        last_in_stream = int(info.state.last_seq)
        if self._stream_seq == 0:  # first start: what is already in the stream is history (the log has it)
            self._stream_seq = last_in_stream
        if last_in_stream < self._stream_seq:  # the stream was made anew: everything in it is news
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        else:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._stream_seq + 1)
        config.ack_policy = AckPolicy.ALL
        config.inactive_threshold = 30.0
        config.max_ack_pending = -1
        sub = await self._js.pull_subscribe(self.subject, stream=self.stream, config=config)
        self._reset.clear()
        self._up()
        try:
            while not self._reset.is_set():
                try:
                    msgs = await sub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
                except TimeoutError:
                    continue
                for msg in msgs:
                    self._stream_seq = int(msg.metadata.sequence.stream)
                    self.received += 1
                    try:
                        self.sequencer.offer(decode(msg.data))
                    except (ValueError, KeyError, TypeError):
                        log.warning("NATS: skipped an undecodable message at stream sequence %d", self._stream_seq)
                if msgs:
                    with contextlib.suppress(Exception):
                        await msgs[-1].ack()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _disconnect(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        self.connected = False
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    def _up(self) -> None:
        if not self.connected:
            if self.down_since is not None and self.published + self.received > 0:
                log.info("NATS: connected to stream %s", self.stream)
            self.connected = True
            self.down_since = None
            self.last_error = ""

    def _down(self) -> None:
        if self.connected:
            self.connected = False
        if self.down_since is None:
            self.down_since = time.time()

    async def _on_error(self, exc: Exception) -> None:
        self._failed(exc)

    async def _on_disconnected(self) -> None:
        self._down()
        self._reset.set()

    async def _on_reconnected(self) -> None:
        self._reset.set()  # the consumer may be gone with the server: make a new one where we left off
