"""One live session, whatever the transport (SSE, WebSocket): a snapshot or the missed events, then live events.

The session subscribes to the hub *before* it reads the store, and skips queued events it has already sent, so
nothing is lost or repeated between the two. Transports turn the items into their own frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from sirena.domain.notice import LogEvent
from sirena.protocol import sse
from sirena.protocol.alert_json import alert_to_dict
from sirena.store.base import Store
from sirena.stream.filter import EventFilter
from sirena.stream.hub import Hub


@dataclass(frozen=True, slots=True)
class SnapshotItem:
    """The active alerts matching the filter, as of event ``seq``."""

    seq: int
    alerts: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class EventItem:
    """One event and its SSE frame (encoded once by the hub for every client)."""

    event: LogEvent
    frame: bytes


Item = SnapshotItem | EventItem | None
"""``None`` is a heartbeat: nothing happened for ``heartbeat_s`` seconds."""


async def session(
    store: Store, hub: Hub, flt: EventFilter, last_id: int | None, heartbeat_s: float
) -> AsyncGenerator[Item, None]:
    """A snapshot (``last_id`` is None) or exactly the events after ``last_id`` that match, then live events
    and heartbeats. Ends when the hub cuts the client off (too slow) or closes (server stopping)."""
    client = hub.subscribe(flt)
    try:
        if last_id is None:
            snap = await store.snapshot()
            yield SnapshotItem(snap.seq, [alert_to_dict(a) for a in snap.alerts if flt.matches(a)])
            last = snap.seq
        else:
            last = last_id
            while True:
                missed = await store.events_after(last, limit=500)
                if not missed:
                    break
                for event in missed:
                    last = event.seq
                    if flt.accepts(event):
                        yield EventItem(event, sse.event_frame(event))
        while True:
            try:
                async with asyncio.timeout(heartbeat_s):  # not wait_for: on 3.11 it can swallow a cancellation
                    queued = await client.queue.get()
            except TimeoutError:
                yield None
                continue
            if queued is None:
                return
            event, frame = queued
            if event.seq <= last:
                continue
            last = event.seq
            yield EventItem(event, frame)
    finally:
        hub.unsubscribe(client)
