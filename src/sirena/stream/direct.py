"""Catching a direct SSE client up from the store: the snapshot, or exactly the events it missed.

The client is attached to the hub first, so live events that arrive while the store is read are buffered; once
the store has nothing newer, the buffer is flushed (skipping what was already sent) and the hub writes to the
client directly from then on.
"""

from __future__ import annotations

from sirena.protocol import sse
from sirena.protocol.alert_json import alert_to_dict, dumps
from sirena.store.base import Store
from sirena.stream.hub import DirectClient, Hub


async def catch_up(hub: Hub, store: Store, client: DirectClient, last_id: int | None) -> None:
    transport = client.transport
    if last_id is None:
        snap = await store.snapshot()
        alerts = [alert_to_dict(a) for a in snap.alerts if client.filter.matches(a)]
        if client.closed:
            return
        transport.write(sse.frame(dumps({"seq": snap.seq, "alerts": alerts}), event="snapshot", id=snap.seq))
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
                if client.filter.matches(event.alert):
                    transport.write(sse.event_frame(event))
    hub.go_live(client, last)
