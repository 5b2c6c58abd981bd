"""Fan-out of committed events to live clients (SSE, WebSocket).

Each client has a bounded queue. Publishing never waits: an event is put on every matching client's queue
without blocking, and a client whose queue is full is cut off (its queue receives ``None``) so it reconnects
and resumes from its last event id. A slow client therefore never slows the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sirena.domain.model import Event
from sirena.protocol import sse
from sirena.stream.filter import EventFilter


@dataclass(eq=False, slots=True)
class Client:
    filter: EventFilter
    queue: asyncio.Queue[tuple[Event, bytes] | None]
    cut_off: bool = False


@dataclass(slots=True)
class HubStats:
    published: int = 0
    dropped_clients: int = 0


@dataclass(slots=True)
class Hub:
    queue_size: int = 256
    clients: set[Client] = field(default_factory=set)
    stats: HubStats = field(default_factory=HubStats)

    def subscribe(self, event_filter: EventFilter) -> Client:
        client = Client(event_filter, asyncio.Queue(self.queue_size + 1))
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every matching client; encode its SSE frame once for all of them."""
        self.stats.published += 1
        frame: bytes | None = None
        for client in tuple(self.clients):
            if client.cut_off or not client.filter.matches(event.alert):
                continue
            if frame is None:
                frame = sse.event_frame(event)
            if client.queue.qsize() >= self.queue_size:
                self._cut_off(client)
                continue
            client.queue.put_nowait((event, frame))

    def _cut_off(self, client: Client) -> None:
        client.cut_off = True
        self.stats.dropped_clients += 1
        self.clients.discard(client)
        client.queue.put_nowait(None)

    def close(self) -> None:
        """Tell every client the server is going away."""
        for client in tuple(self.clients):
            self.clients.discard(client)
            if not client.queue.full():
                client.queue.put_nowait(None)
