"""Fan-out of committed events to live clients.

Two kinds of client share one hub:

- **direct** SSE clients (served by the front protocol of ``sirena serve``): the hub writes each event's frame,
  encoded once, straight to their transports, with no task, queue or wake-up per client. Clients are grouped by
  filter, so each filter is evaluated once per event. A client whose unsent bytes exceed ``max_buffer`` is
  aborted and resumes from its last event id.
- **queued** clients (WebSocket, and SSE served through the ASGI app): each has a bounded queue; a client whose
  queue is full is cut off (its queue receives ``None``) and resumes.

Publishing never waits, so a slow client never slows the others.
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


@dataclass(eq=False, slots=True)
class DirectClient:
    """An SSE connection the hub writes to itself. ``pending`` buffers live events while the client catches up
    from the store; it is ``None`` once the client is live."""

    transport: asyncio.Transport
    filter: EventFilter
    pending: list[tuple[Event, bytes]] | None = field(default_factory=list)
    closed: bool = False


@dataclass(slots=True)
class HubStats:
    published: int = 0
    dropped_clients: int = 0


@dataclass(slots=True)
class Hub:
    queue_size: int = 256
    max_buffer: int = 256 * 1024
    clients: set[Client] = field(default_factory=set)
    direct: dict[EventFilter, set[DirectClient]] = field(default_factory=dict)
    stats: HubStats = field(default_factory=HubStats)

    # -- queued clients -------------------------------------------------------------------------------------

    def subscribe(self, event_filter: EventFilter) -> Client:
        client = Client(event_filter, asyncio.Queue(self.queue_size + 1))
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    # -- direct clients -------------------------------------------------------------------------------------

    def attach(self, transport: asyncio.Transport, event_filter: EventFilter) -> DirectClient:
        """Start buffering live events for a new direct client (before it reads the store)."""
        client = DirectClient(transport, event_filter)
        self.direct.setdefault(event_filter, set()).add(client)
        return client

    def detach(self, client: DirectClient) -> None:
        client.closed = True
        group = self.direct.get(client.filter)
        if group is not None:
            group.discard(client)
            if not group:
                del self.direct[client.filter]

    def go_live(self, client: DirectClient, after_seq: int) -> None:
        """The client has sent everything up to ``after_seq`` from the store: flush what arrived meanwhile."""
        pending, client.pending = client.pending or [], None
        for event, frame in pending:
            if event.seq > after_seq and not self._write(client, frame):
                return

    @property
    def direct_count(self) -> int:
        return sum(len(group) for group in self.direct.values())

    def _write(self, client: DirectClient, frame: bytes) -> bool:
        transport = client.transport
        if transport.is_closing() or transport.get_write_buffer_size() > self.max_buffer:
            self._drop(client)
            return False
        transport.write(frame)
        return True

    def _drop(self, client: DirectClient) -> None:
        if not client.closed:
            self.stats.dropped_clients += 1
        self.detach(client)
        client.transport.abort()

    # -- publishing -----------------------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every matching client; its SSE frame is encoded once for all of them."""
        self.stats.published += 1
        alert = event.alert
        frame: bytes | None = None
        for event_filter, group in tuple(self.direct.items()):
            if not event_filter.matches(alert):
                continue
            if frame is None:
                frame = sse.event_frame(event)
            for client in tuple(group):
                if client.pending is not None:
                    client.pending.append((event, frame))
                    if len(client.pending) > self.queue_size:
                        self._drop(client)
                else:
                    self._write(client, frame)
        for queued in tuple(self.clients):
            if queued.cut_off or not queued.filter.matches(alert):
                continue
            if frame is None:
                frame = sse.event_frame(event)
            if queued.queue.qsize() >= self.queue_size:
                self._cut_off(queued)
                continue
            queued.queue.put_nowait((event, frame))

    def heartbeat(self) -> None:
        """A comment line to every live direct client, so proxies and clients see the stream is alive."""
        frame = sse.comment("heartbeat")
        for group in tuple(self.direct.values()):
            for client in tuple(group):
                if client.pending is None:
                    self._write(client, frame)

    def _cut_off(self, client: Client) -> None:
        client.cut_off = True
        self.stats.dropped_clients += 1
        self.clients.discard(client)
        client.queue.put_nowait(None)

    def close(self, farewell: bytes = b"") -> None:
        """Tell every client the server is going away (direct clients get ``farewell`` first, e.g. a retry hint)."""
        for client in tuple(self.clients):
            self.clients.discard(client)
            if not client.queue.full():
                client.queue.put_nowait(None)
        for group in tuple(self.direct.values()):
            for direct in tuple(group):
                self.detach(direct)
                if farewell and not direct.transport.is_closing():
                    direct.transport.write(farewell)
                direct.transport.close()
