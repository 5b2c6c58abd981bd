"""Strict sequence order for a node's live channels, whatever the events arrive through.

Events may reach a node twice (its own relay and the shared stream), out of order (its own commit before an
earlier one of another node comes round the stream) or not at all (published while the stream was down). The
sequencer hands each event to the handlers exactly once, in sequence order, with no gaps: a duplicate is dropped,
and an event past a gap waits until the missing ones have been read from the event log, which is the source of
truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from sirena.bus.base import Handler
from sirena.domain.notice import LogEvent

log = logging.getLogger("sirena.bus")

FILL_BATCH = 500
RETRY_S = 0.5


class EventLog(Protocol):
    async def events_after(self, seq: int, limit: int = 1000) -> list[LogEvent]: ...
    async def last_seq(self) -> int: ...


class Sequencer:
    def __init__(self, log_: EventLog, handlers: list[Handler]) -> None:
        self.log = log_
        self.handlers = handlers
        self.last = 0
        """The last sequence number handed on."""
        self.filled = 0
        """How many events were read from the log to close gaps."""
        self._queue: asyncio.Queue[LogEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.last = await self.log.last_seq()
        self._task = asyncio.create_task(self._run(), name="sirena-sequencer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def offer(self, event: LogEvent) -> None:
        """Take ``event`` (from anywhere, any number of times); never waits."""
        if event.seq > self.last:
            self._queue.put_nowait(event)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            if event.seq <= self.last:
                continue
            while event.seq > self.last + 1:
                try:
                    missing = await self.log.events_after(self.last, limit=min(FILL_BATCH, event.seq - 1 - self.last))
                except Exception:
                    log.warning("could not read the event log to fill a gap before %d; retrying", event.seq)
                    await asyncio.sleep(RETRY_S)
                    continue
                if not missing:
                    break  # nothing older to wait for
                self.filled += len(missing)
                for older in missing:
                    if older.seq < event.seq:
                        self._hand_on(older)
            self._hand_on(event)

    def _hand_on(self, event: LogEvent) -> None:
        self.last = event.seq
        for handler in tuple(self.handlers):
            try:
                handler(event)
            except Exception:
                log.exception("an event handler failed on event %d", event.seq)
