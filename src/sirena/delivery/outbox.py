"""The enqueuer: turns committed events into webhook messages, durably, from the event log.

It keeps its own cursor (``delivery_cursors.webhooks``). Each batch of events is matched against every live
subscription, rendered by the subscription's format, and queued together with the cursor's advance in one
transaction, so after a crash (even ``kill -9``) nothing is queued twice and nothing is skipped: the batch is
simply read again. A subscription receives only events committed after it was created (its ``after_seq``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import cast

from sirena.delivery.backoff import wait_signal
from sirena.delivery.filters import CompiledFilter, SubscriptionFilter
from sirena.delivery.metrics import DeliveryMetrics
from sirena.delivery.webhooks import MANUAL, NATIVE, FormatContext, Webhooks
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

    def notify(self, event: LogEvent | None = None) -> None:
        """Something was committed: look at the event log now rather than at the next poll."""
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
        """Queue messages for every event after the cursor."""
        while True:
            events = await self.store.events_after(self.cursor, limit=BATCH)
            if not events:
                if self.cursor != self._persisted and time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                    await self._commit(self.cursor, [])
                return
            subscriptions = await self.webhooks.find()
            rows = await self._render(events, subscriptions)
            last = events[-1].seq
            if rows or time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
                await self._commit(last, rows)
            self.cursor = last
            for sub_id in dict.fromkeys(r.subscription_id for r in rows):
                self.wake_subscription(sub_id)

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
        live = [s for s in subscriptions if s.format != MANUAL]
        if not live:
            return rows
        nearby = self.context.nearby
        for event in events:
            for sub in live:
                if nearby is not None and sub.filter.get("places") and not nearby.reaches_event(sub.filter, event):
                    continue  # a polygon or circle alert that no place of the subscription is in
                if event.seq <= sub.after_seq or not self._filter(sub).accepts(event):
                    continue
                if isinstance(event, Notice):  # notices go out in the native shape only; other formats are alerts'
                    if sub.format == NATIVE:
                        body = dumps(event_to_dict(event))
                        rows.append(NewMessage(sub.id, body, event.seq, key=f"{event.seq}:0"))
                    continue
                try:
                    fmt = self.webhooks.resolve_format(sub.format)
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

    def _filter(self, sub: WebhookSubscription) -> CompiledFilter:
        key = (sub.id, repr(sorted(sub.filter.items())))
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) > 10_000:
                self._compiled.clear()
            found = SubscriptionFilter.from_dict(sub.filter).compile(self.context.registry)
            self._compiled[key] = found
        return found
