"""The enqueuer: turns committed events into webhook messages, durably, from the event log.

It keeps its own cursor (``delivery_cursors.webhooks``). Each batch of events is matched against every live
subscription, rendered by the subscription's format, and queued together with the cursor's advance in one
transaction, so after a crash (even ``kill -9``) nothing is queued twice and nothing is skipped: the batch is
simply read again. A subscription receives only events committed after it was created (its ``after_seq``).

The events come from the bus, which hands on committed events in sequence order: while they follow the cursor
without a gap they are taken as they are, without reading them back. Anything else (a gap, events written by
another process, a restart, a node taking over) is read from the event log, after the cursor. The native body of
an event is encoded once and queued for every subscription that takes it unchanged.

The subscriptions are read together with their revision (``revisions.webhook_subscriptions``, moved by the
database in the transaction of every change to the table, from any process) and kept. The store reads that
counter inside the transaction that writes events, under its write lock, just before its commit
(``store.revision_at``), so the
revision it gives for event L covers every subscription change committed before L (a change commits either
before that transaction, or in it). For a batch whose first and last events both carry the revision of the kept
list, nothing changed in between (the counter only grows, and commits of events are serialised across processes,
so every event of the batch, whoever wrote it, was committed between those two), so the kept list is the one that
was in force for every event of the batch and is used as it is, whether the bus handed the events on or they were
read from the log. Otherwise (another revision, a first or last event this process did not write or no longer
remembers) the subscriptions are read again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

from sirena.delivery.backoff import wait_signal
from sirena.delivery.filters import CompiledFilter, SubscriptionFilter
from sirena.delivery.metrics import DeliveryMetrics
from sirena.delivery.webhooks import MANUAL, NATIVE, FormatContext, Webhooks, native_format
from sirena.domain.notice import LogEvent, Notice
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.store import Store
from sirena.store import delivery as sql
from sirena.store.delivery import CursorMoved, NewMessage, SQLRunner, WebhookSubscription

log = logging.getLogger("sirena.delivery")

CURSOR = "webhooks"
BATCH = 500
IDLE_PERSIST_S = 10.0
"""With nothing queued, the cursor is written at most this often: reading a few events again is harmless."""
HANDED = 10_000
"""Events from the bus kept until the enqueuer takes them; beyond this the oldest go (and are read from the log)."""


class Enqueuer:
    def __init__(
        self,
        store: Store,
        sqlrunner: SQLRunner,
        webhooks: Webhooks,
        context: FormatContext,
        metrics: DeliveryMetrics,
        wake_subscription: Callable[[str], None],
        poll_s: float,
    ) -> None:
        self.store = store
        self.sql = sqlrunner
        self.webhooks = webhooks
        self.context = context
        self.metrics = metrics
        self.wake_subscription = wake_subscription
        self.poll_s = poll_s
        self.cursor = 0
        self._persisted = 0
        self._persisted_at = 0.0
        self._signal = asyncio.Event()
        self._compiled: dict[tuple[str, str], CompiledFilter] = {}
        self._handed: deque[LogEvent] = deque(maxlen=HANDED)
        self._known: dict[tuple[Any, ...], WebhookSubscription] = {}
        self._filters: dict[str, tuple[WebhookSubscription, CompiledFilter]] = {}
        """Subscription id → the subscription as last seen (the very object, while unchanged) and its filter."""
        self.log_reads = 0
        """Reads of the event log (the events handed by the bus need none)."""
        self._subscriptions: list[WebhookSubscription] = []
        self._revision: int | None = None
        """The revision the kept ``_subscriptions`` were read at (None: nothing kept)."""
        self.subscription_reads = 0
        """Reads of the subscriptions (a batch whose events were written at the kept list's revision needs none)."""

    def notify(self, event: LogEvent | None = None) -> None:
        """Something was committed (``event``, when the bus hands it): queue it now rather than at the next
        poll."""
        if event is not None:
            handed = self._handed
            if handed and event.seq <= handed[-1].seq:
                handed.clear()  # out of sequence (a bus that started over): the log decides
            handed.append(event)
        self._signal.set()

    async def start(self) -> None:
        self.cursor = self._persisted = cast(int, await self.sql.transaction(lambda c: sql.init_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()

    async def resume(self) -> None:
        """Run from the stored cursor (with several nodes, another one may have moved it meanwhile)."""
        self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()
        await self.run()

    async def run(self) -> None:
        while True:
            await wait_signal(self._signal, self.poll_s)
            self._signal.clear()
            try:
                await self.drain()
            except CursorMoved:
                continue
            except Exception:
                log.exception("webhook enqueuer failed; retrying from the event log")
                await asyncio.sleep(self.poll_s)

    async def drain(self) -> None:
        """Queue messages for every event after the cursor: the events handed on, or else those in the log."""
        while True:
            events = self._take()
            handed = bool(events)
            if not handed:
                self.log_reads += 1
                events = await self.store.events_after(self.cursor, limit=BATCH)
            if not events:
                if self.cursor != self._persisted and time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                    await self._commit(self.cursor, [])
                return
            subscriptions = await self._subscriptions_for(events)
            rows = await self._render(events, subscriptions)
            last = events[-1].seq
            if rows or time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                await self._commit(last, rows)
            self.cursor = last
            for sub_id in dict.fromkeys(r.subscription_id for r in rows):
                self.wake_subscription(sub_id)
            if handed and not self._handed:
                return  # all handed on are queued; anything the bus did not hand on is read at the next poll

    async def _subscriptions_for(self, events: Sequence[LogEvent]) -> list[WebhookSubscription]:
        """The subscriptions in force for ``events``: the kept list when the store wrote the first and the last of
        them at its revision, or else read again (see the module's docstring)."""
        kept = self._revision
        if kept is not None and self.store.revision_at(events[0].seq) == kept == self.store.revision_at(events[-1].seq):
            return self._subscriptions
        known = self._known
        self.subscription_reads += 1
        self._revision, self._subscriptions = cast(
            "tuple[int, list[WebhookSubscription]]",
            await self.sql.read(lambda c, known=known: sql.live_subscriptions(c, known=known)),
        )
        return self._subscriptions

    def _take(self) -> list[LogEvent]:
        """The handed events that follow the cursor without a gap (at most ``BATCH``); none if there is a gap."""
        handed = self._handed
        while handed and handed[0].seq <= self.cursor:
            handed.popleft()
        if not handed or handed[0].seq != self.cursor + 1:
            return []  # nothing handed, or a gap before the first one: read the log
        events = [handed.popleft()]
        while handed and len(events) < BATCH and handed[0].seq == events[-1].seq + 1:
            events.append(handed.popleft())
        return events

    async def flush(self) -> None:
        """Write the cursor (on a clean stop)."""
        if self.cursor != self._persisted:
            await self._commit(self.cursor, [])

    async def _commit(self, new: int, rows: Sequence[NewMessage]) -> None:
        expected = self._persisted
        now = time.time()
        try:
            made = await self.sql.transaction(lambda c: sql.enqueue_batch(c, CURSOR, expected, new, rows, now))
        except CursorMoved:
            # another dispatcher on this database moved it: continue from where it got to
            self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
            self._persisted_at = time.monotonic()
            raise
        self._persisted = new
        self._persisted_at = time.monotonic()
        self.metrics.webhook_enqueued.inc(len(made))

    async def _render(
        self, events: Sequence[LogEvent], subscriptions: Sequence[WebhookSubscription]
    ) -> list[NewMessage]:
        rows: list[NewMessage] = []
        live = [(s, self._filter_of(s)) for s in subscriptions if s.format != MANUAL]
        if not live:
            return rows
        nearby = self.context.nearby
        for event in events:
            native: str | None = None  # the event's native body, encoded once for every subscription
            for sub, accepts in live:
                places = bool(sub.filter.get("places"))
                if nearby is not None and places and not nearby.reaches_event(sub.filter, event):
                    continue  # a polygon or circle alert that no place of the subscription is in
                if event.seq <= sub.after_seq or not accepts.accepts(event):
                    continue
                if isinstance(event, Notice):  # notices go out in the native shape only; other formats are alerts'
                    if sub.format == NATIVE:
                        if native is None:
                            native = dumps(event_to_dict(event))
                        rows.append(NewMessage(sub.id, native, event.seq, key=f"{event.seq}:0"))
                    continue
                try:
                    fmt = self.webhooks.resolve_format(sub.format)
                    if fmt is native_format and not (places and nearby is not None):
                        if native is None:
                            native = dumps(event_to_dict(event))
                        bodies: list[str] = [native]
                    else:
                        bodies = list(await fmt(event, sub, self.context))
                except Exception as exc:  # one broken format must not hold up the others: record it, visibly
                    log.exception("webhook format %s failed for event %s", sub.format, event.seq)
                    error = f"format {sub.format} failed: {type(exc).__name__}: {exc}"[:500]
                    rows.append(NewMessage(sub.id, "", event.seq, key=f"{event.seq}:error", error=error))
                    continue
                rows.extend(
                    NewMessage(sub.id, body, event.seq, key=f"{event.seq}:{i}") for i, body in enumerate(bodies)
                )
        return rows

    def _filter_of(self, sub: WebhookSubscription) -> CompiledFilter:
        seen = self._filters.get(sub.id)
        if seen is not None and seen[0] is sub:
            return seen[1]
        if len(self._filters) > 10_000:
            self._filters.clear()
        found = self._filter(sub)
        self._filters[sub.id] = (sub, found)
        return found

    def _filter(self, sub: WebhookSubscription) -> CompiledFilter:
        key = (sub.id, repr(sorted(sub.filter.items())))
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) > 10_000:
                self._compiled.clear()
            found = SubscriptionFilter.from_dict(sub.filter).compile(self.context.registry)
            self._compiled[key] = found
        return found
