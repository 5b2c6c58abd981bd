"""Catching a direct client (SSE or WebSocket) up from the store: the snapshot, or exactly the events it missed.

The client is attached to the hub first, so live events that arrive while the store is read are buffered; once
the store has nothing newer, the buffer is flushed (skipping what was already sent) and the hub writes to the
client directly from then on. A large catch-up waits for the client to read it before more is written, so a
big snapshot is not mistaken for a slow client.
"""

from __future__ import annotations

import asyncio
import time

from sirena.protocol.alert_json import alert_to_dict, dumps, event_to_dict
from sirena.store.base import Store
from sirena.stream.hub import DirectClient, Hub

DRAIN_POLL_S = 0.02
DRAIN_LIMIT_S = 30.0
"""A client that does not read its catch-up for this long is cut off."""


async def catch_up(hub: Hub, store: Store, client: DirectClient, last_id: int | None) -> None:
    wire = client.wire
    if last_id is None:
        snap = await store.snapshot()
        alerts = [alert_to_dict(a) for a in snap.alerts if client.filter.matches(a)]
        if client.closed:
            return
        if not hub.write(client, wire.snapshot(snap.seq, alerts)):
            return
        last = snap.seq
    else:
        last = last_id
        while True:
            missed = await store.events_after(last, limit=500)
            if client.closed:
                return
            if not missed:
                break
            for event in missed:
                last = event.seq
                if client.filter.accepts(event):
                    if not await drained(hub, client):
                        return
                    if not hub.write(client, wire.event(event, dumps(event_to_dict(event)))):
                        return
    if last > hub.last_seq:  # a resume point past this node's hub: it may just not have heard yet (several nodes)
        last = min(last, await store.last_seq())  # but never past the log (an id from another database)
    if await drained(hub, client):
        hub.go_live(client, last)


async def drained(hub: Hub, client: DirectClient) -> bool:
    """Wait until the client's unsent bytes are within the hub's limit; False if it left or was cut off."""
    transport = client.transport
    deadline = time.monotonic() + DRAIN_LIMIT_S
    while transport.get_write_buffer_size() > hub.max_buffer:
        if client.closed or transport.is_closing():
            return False
        if time.monotonic() > deadline:
            hub.cut_off(client)
            return False
        await asyncio.sleep(DRAIN_POLL_S)
    return not client.closed
