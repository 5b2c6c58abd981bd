"""Fan-out of committed events to live clients.

Two kinds of client share one hub:

- **direct** clients (SSE and WebSocket connections served by the front protocol of ``sirena serve``): the hub
  writes each event's frame straight to their transports, with no task, queue or wake-up per client. An event is
  turned into JSON once, and into one frame per wire format (SSE, WebSocket) once; clients are grouped by filter
  and format, so each filter is evaluated once per event. A large fan-out is written in slices of
  ``slice_s`` seconds, so the event loop is never blocked for longer than that; slices of later events wait
  for earlier ones, so every client sees events in order. A client whose unsent bytes exceed ``max_buffer`` is
  cut off and resumes from its last event id.
- **queued** clients (SSE and WebSocket served through the ASGI app): each has a bounded queue; a client whose
  queue is full is cut off (its queue receives ``None``) and resumes.

Publishing never waits, so a slow client never slows the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sirena import gc_hold
from sirena.domain.notice import LogEvent
from sirena.protocol import sse, ws
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.stream.filter import EventFilter

BATCH = 32
"""Direct clients written between two looks at the clock."""
FIRST_SLICE_S = 0.0005
"""What the publishing call itself writes before the rest of the fan-out goes on at the next loop turns: the
first clients hear at once, and the caller (the relay, the other bus handlers) is held up only briefly."""


@dataclass(frozen=True, eq=False, slots=True)
class Wire:
    """How one kind of direct client is written to: an event's frame, made from its JSON text (computed once
    per event for every wire), the snapshot, and the heartbeat for a client whose last event was ``seq``."""

    name: str
    event: Callable[[LogEvent, str], bytes]
    snapshot: Callable[[int, list[dict[str, Any]]], bytes]
    heartbeat: Callable[[int], bytes]


def _sse_event(event: LogEvent, data: str) -> bytes:
    return sse.frame(data, event=event.type.value, id=event.seq)


def _sse_snapshot(seq: int, alerts: list[dict[str, Any]]) -> bytes:
    return sse.frame(dumps({"seq": seq, "alerts": alerts}), event="snapshot", id=seq)


def _sse_heartbeat(seq: int) -> bytes:
    return sse.comment("heartbeat")


def _ws_event(event: LogEvent, data: str) -> bytes:
    return ws.text(data)


SSE = Wire("sse", _sse_event, _sse_snapshot, _sse_heartbeat)
WS = Wire("ws", _ws_event, ws.snapshot_frame, ws.heartbeat_frame)


class Owner(Protocol):
    """The connection behind a direct client, when it ends differently from an SSE stream (a WebSocket sends a
    close frame)."""

    def cut_off(self) -> None:
        """The client fell too far behind; it was detached already."""

    def going_away(self) -> None:
        """The server is stopping; the client was detached already."""


@dataclass(eq=False, slots=True)
class Client:
    filter: EventFilter
    queue: asyncio.Queue[tuple[LogEvent, bytes] | None]
    cut_off: bool = False


@dataclass(eq=False, slots=True)
class DirectClient:
    """A connection the hub writes to itself. ``pending`` buffers live events while the client catches up from
    the store; it is ``None`` once the client is live. ``seq`` is the last event the catch-up sent."""

    transport: asyncio.Transport
    filter: EventFilter
    wire: Wire = SSE
    owner: Owner | None = None
    pending: list[tuple[LogEvent, bytes]] | None = field(default_factory=list)
    seq: int = 0
    closed: bool = False
    waiting: bool = False
    """Caught up from the store past what this node's hub has published (it was sent events elsewhere, or the
    store is ahead of this node's bus): it goes live once the hub reaches ``seq``."""


@dataclass(eq=False, slots=True)
class _Group:
    """Live direct clients with one filter and wire; ``last_seq`` is the last event that matched."""

    clients: set[DirectClient] = field(default_factory=set)
    last_seq: int = 0


@dataclass(eq=False, slots=True)
class _Slice:
    """One event's frame still to be written to some of a group's clients (as they were when it was published)."""

    frame: bytes
    clients: tuple[DirectClient, ...]
    next: int = 0


class _Frames:
    """One event's JSON and frames, each made at most once."""

    __slots__ = ("data", "event", "frames")

    def __init__(self, event: LogEvent) -> None:
        self.event = event
        self.data: str | None = None
        self.frames: dict[Wire, bytes] = {}

    def of(self, wire: Wire) -> bytes:
        frame = self.frames.get(wire)
        if frame is None:
            if self.data is None:
                self.data = dumps(event_to_dict(self.event))
            frame = self.frames[wire] = wire.event(self.event, self.data)
        return frame


@dataclass(slots=True)
class HubStats:
    published: int = 0
    dropped_clients: int = 0


@dataclass(slots=True)
class Hub:
    queue_size: int = 256
    max_buffer: int = 256 * 1024
    slice_s: float = 0.002
    """Longest time one piece of a fan-out keeps the event loop (``<= 0``: write every client at once)."""
    gc_hold: bool = True
    """Hold automatic garbage collection while a fan-out is being written (it runs as soon as the fan-out is
    done): with many clients connected, a collection of the older generations walks every connection's objects
    and would stop the loop for tens of milliseconds in the middle of a fan-out."""
    clients: set[Client] = field(default_factory=set)
    direct: dict[tuple[EventFilter, Wire], _Group] = field(default_factory=dict)
    catching: set[DirectClient] = field(default_factory=set)
    stats: HubStats = field(default_factory=HubStats)
    last_seq: int = 0
    """The last event published (the runtime starts it at the log's end): with several nodes a client may have
    been sent newer events elsewhere, and must not get them again."""
    _slices: deque[_Slice] = field(default_factory=deque)
    _scheduled: bool = False
    _gc_held: bool = False

    # -- queued clients -------------------------------------------------------------------------------------

    def subscribe(self, event_filter: EventFilter) -> Client:
        client = Client(event_filter, asyncio.Queue(self.queue_size + 1))
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    # -- direct clients -------------------------------------------------------------------------------------

    def attach(
        self, transport: asyncio.Transport, event_filter: EventFilter, wire: Wire = SSE, owner: Owner | None = None
    ) -> DirectClient:
        """Start buffering live events for a new direct client (before it reads the store)."""
        client = DirectClient(transport, event_filter, wire, owner)
        self.catching.add(client)
        return client

    def detach(self, client: DirectClient) -> None:
        client.closed = True
        if client.pending is not None:
            self.catching.discard(client)
            client.pending = None
            return
        key = (client.filter, client.wire)
        group = self.direct.get(key)
        if group is not None:
            group.clients.discard(client)
            if not group.clients:
                del self.direct[key]

    def go_live(self, client: DirectClient, after_seq: int) -> None:
        """The client has sent everything up to ``after_seq`` from the store: flush what arrived meanwhile,
        then the hub writes to it with its group."""
        if client.closed or client.pending is None:
            return
        if after_seq > self.last_seq:  # this node has not published those yet: wait for it (see publish)
            client.seq, client.waiting = after_seq, True
            return
        client.waiting = False
        pending, client.pending = client.pending, None
        self.catching.discard(client)
        client.seq = after_seq
        group = self.direct.setdefault((client.filter, client.wire), _Group())
        group.clients.add(client)
        for event, frame in pending:
            if event.seq > after_seq:
                client.seq = event.seq
                if not self._write(client, frame):
                    return

    @property
    def direct_count(self) -> int:
        return len(self.catching) + sum(len(group.clients) for group in self.direct.values())

    def write(self, client: DirectClient, frame: bytes) -> bool:
        """Write a frame meant for this client alone (a catch-up event, a reply); False if it was cut off."""
        return self._write(client, frame)

    def _write(self, client: DirectClient, frame: bytes) -> bool:
        transport = client.transport
        if transport.is_closing() or transport.get_write_buffer_size() > self.max_buffer:
            self.cut_off(client)
            return False
        transport.write(frame)
        return True

    def cut_off(self, client: DirectClient) -> None:
        """End a direct client that fell too far behind (counted); it resumes from its last event."""
        if client.closed:
            return
        self.stats.dropped_clients += 1
        self.detach(client)
        if client.owner is not None:
            client.owner.cut_off()
        else:
            client.transport.abort()

    # -- publishing -----------------------------------------------------------------------------------------

    def publish(self, event: LogEvent) -> None:
        """Hand ``event`` to every matching client; its JSON and each wire's frame are encoded once for all."""
        self.stats.published += 1
        self.last_seq = max(self.last_seq, event.seq)
        if self.direct and self.gc_hold and not self._gc_held:
            gc_hold.hold()
            self._gc_held = True
        try:
            self._publish(event)
        except BaseException:
            if not self._scheduled:  # nothing left to write that would release it
                self._release_gc()
            raise

    def _publish(self, event: LogEvent) -> None:
        frames = _Frames(event)
        released: list[DirectClient] = []
        for catching in tuple(self.catching):
            if catching.pending is not None and catching.filter.accepts(event):
                catching.pending.append((event, frames.of(catching.wire)))
                if len(catching.pending) > self.queue_size:
                    self.cut_off(catching)
            if catching.waiting and self.last_seq >= catching.seq:
                released.append(catching)
        for (event_filter, wire), group in self.direct.items():
            if event_filter.accepts(event):
                group.last_seq = event.seq
                self._slices.append(_Slice(frames.of(wire), tuple(group.clients)))
        for queued in tuple(self.clients):
            if queued.cut_off or not queued.filter.accepts(event):
                continue
            if queued.queue.qsize() >= self.queue_size:
                self._end_queued(queued)
                continue
            queued.queue.put_nowait((event, frames.of(SSE)))
        for client in released:  # after this event's slices, which they are not in: their pending has it
            self.go_live(client, client.seq)
        if self._slices and not self._scheduled:
            self._pump(min(self.slice_s, FIRST_SLICE_S) if self.slice_s > 0 else 0.0)
        elif not self._slices:
            self._release_gc()

    def _release_gc(self) -> None:
        if self._gc_held:
            self._gc_held = False
            gc_hold.release()

    def _pump(self, budget: float) -> None:
        """Write pending slices in order until ``budget`` seconds are spent (``<= 0``: no limit); then continue
        on the next loop turn."""
        try:
            self._write_slices(budget)
        finally:
            if not self._slices or not self._scheduled:  # done, or stopped by an error with nothing scheduled
                self._release_gc()

    def _write_slices(self, budget: float) -> None:
        self._scheduled = False
        deadline = time.perf_counter() + budget
        limit = self.max_buffer
        slices = self._slices
        while slices:
            piece = slices[0]
            clients, frame, i, n = piece.clients, piece.frame, piece.next, len(piece.clients)
            while i < n:
                end = i + BATCH
                for client in clients[i:end]:
                    if client.closed:
                        continue
                    transport = client.transport
                    if transport.get_write_buffer_size() > limit or transport.is_closing():
                        self.cut_off(client)
                    else:
                        transport.write(frame)
                i = end
                if budget > 0 and i < n and time.perf_counter() > deadline:
                    piece.next = i
                    self._later()
                    return
            slices.popleft()
            if budget > 0 and slices and time.perf_counter() > deadline:
                self._later()
                return

    def _later(self) -> None:
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._pump, self.slice_s)

    def heartbeat(self) -> None:
        """A heartbeat to every live direct client, so proxies and clients see the stream is alive (a WebSocket
        heartbeat names the client's last event)."""
        made: dict[tuple[Wire, int], bytes] = {}
        for (_, wire), group in tuple(self.direct.items()):
            for client in tuple(group.clients):
                seq = max(client.seq, group.last_seq)
                frame = made.get((wire, seq))
                if frame is None:
                    frame = made[(wire, seq)] = wire.heartbeat(seq)
                self._write(client, frame)

    def _end_queued(self, client: Client) -> None:
        client.cut_off = True
        self.stats.dropped_clients += 1
        self.clients.discard(client)
        client.queue.put_nowait(None)

    def close(self, farewell: bytes = b"") -> None:
        """Tell every client the server is going away (SSE clients get ``farewell`` first, e.g. a retry hint)."""
        for queued in tuple(self.clients):
            self.clients.discard(queued)
            if not queued.queue.full():
                queued.queue.put_nowait(None)
        self._slices.clear()
        self._release_gc()
        direct = [*self.catching, *(c for group in self.direct.values() for c in group.clients)]
        for client in direct:
            self.detach(client)
            if client.owner is not None:
                client.owner.going_away()
                continue
            if farewell and not client.transport.is_closing():
                client.transport.write(farewell)
            client.transport.close()
