"""Live alerts into the rollups: a follower of the event log.

When an actual alert ends or is cancelled (``alert.ended`` / ``alert.cancelled``), its regions get one alert in
the hour and day it started and its time under alert in every hour and day it covered. The follower reads the
event log from a cursor kept in ``meta`` (``history.rollup_seq``) and writes the rollups and the new cursor in one
transaction that first checks the cursor has not moved. So every ended alert is counted exactly once, even with
several processes on one database, after a crash, or for events written while no server was running (the first
start after an upgrade rolls up the whole log). Exercises and tests are never counted, nor are ``partial_regions``.

The runtime starts one follower; the bus wakes it when an end is relayed, and it also looks every
``interval`` seconds. ``sirena stats`` catches up once before it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence

from sirena.bus import Bus
from sirena.domain.model import Event, EventType, Status
from sirena.domain.notice import LogEvent
from sirena.errors import ConfigurationError
from sirena.history.importer import sql_store
from sirena.history.records import to_ms
from sirena.history.rollup import Rollup
from sirena.store.base import Store
from sirena.store.history import apply_live_rollups, rollup_cursor

__all__ = ["RollupFollower", "rollup_of", "rollup_tasks"]

log = logging.getLogger("sirena.history")
ENDINGS = frozenset({EventType.ENDED, EventType.CANCELLED})


def rollup_of(events: Sequence[LogEvent]) -> Rollup:
    """The rollup deltas of the actual alerts that ``events`` end or cancel (notices roll up where they are
    written, see :mod:`sirena.advisories.reports`)."""
    rollup = Rollup()
    for event in events:
        if not isinstance(event, Event):
            continue
        alert = event.alert
        if event.type not in ENDINGS or alert.status is not Status.ACTUAL or alert.ended_at is None:
            continue
        started, ended = to_ms(alert.started_at), to_ms(alert.ended_at)
        rollup.add(alert.regions, alert.source.value, alert.kind.value, started, max(ended, started))
    return rollup


class RollupFollower:
    def __init__(self, store: Store, bus: Bus | None = None, *, page: int = 1000, interval: float = 30.0) -> None:
        self.store = store
        self.sql = sql_store(store)
        self.bus = bus
        self.page = page
        self.interval = interval
        self._wake = asyncio.Event()

    def notify(self, event: LogEvent) -> None:
        """Bus handler: wake up when an alert ends."""
        if event.type in ENDINGS:
            self._wake.set()

    async def catch_up(self) -> int:
        """Roll up every event after the cursor; returns how many events were read."""
        read = 0
        while True:
            cursor = await self.sql.read(rollup_cursor)
            events = await self.store.events_after(cursor, limit=self.page)
            if not events:
                return read
            upto = events[-1].seq
            write = functools.partial(apply_live_rollups, expected=cursor, upto=upto, rollup=rollup_of(events))
            if await self.sql.transaction(write):
                read += len(events)

    async def run(self) -> None:
        unsubscribe = self.bus.subscribe(self.notify) if self.bus is not None else None
        try:
            while True:
                self._wake.clear()
                try:
                    await self.catch_up()
                except Exception:  # the database may be busy or gone for a moment; try again later
                    log.exception("could not roll up ended alerts; will retry")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            if unsubscribe is not None:
                unsubscribe()


def rollup_tasks(store: Store, bus: Bus) -> list[asyncio.Task[None]]:
    """The background task keeping the rollups current (none for a store without SQL access)."""
    try:
        follower = RollupFollower(store, bus)
    except ConfigurationError:
        log.warning("%s keeps no history rollups", type(store).__name__)
        return []
    return [asyncio.create_task(follower.run(), name="sirena-rollups")]
