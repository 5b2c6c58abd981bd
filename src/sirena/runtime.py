"""The running system: store, bus, region registry, service, live hub and background tasks, wired from settings.

``Runtime.start()`` and ``Runtime.stop()`` are what the web app's lifespan and the CLI call. Committed events
travel store → relay → bus → hub. The relay publishes strictly in sequence order; it also picks up events
committed by other processes sharing the database (the CLI, for example), by polling the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from sirena.advisories.system import Advisories
from sirena.auth.audit import record_settings
from sirena.bus import Bus, open_bus
from sirena.cap.exchange import CapExchange
from sirena.cluster import Leases, node_name
from sirena.cluster.workers import Siblings
from sirena.delivery import Delivery
from sirena.domain.notice import LogEvent
from sirena.protocol import sse
from sirena.regions import RegionRegistry, load_builtin, load_data, load_file
from sirena.service import AlertService, Clock, utcnow
from sirena.settings import Settings
from sirena.shelters import ShelterDirectory
from sirena.store import Store, open_store
from sirena.store.postgis import unused_notice
from sirena.stream import Hub
from sirena.targeting import PlaceRegistry, TimeToShelter

log = logging.getLogger("sirena")


REGIONS_META_KEY = "regions"


def load_regions(spec: str) -> RegionRegistry:
    """A built-in region set by country code, or a region file by path."""
    if Path(spec).suffix in {".json", ".geojson"} or Path(spec).exists():
        return load_file(spec)
    return load_builtin(spec)


async def resolve_regions(settings: Settings, store: Store) -> RegionRegistry:
    """``SIRENA_REGIONS`` when set; otherwise the set loaded with ``sirena regions load``; otherwise Ukraine."""
    if settings.regions:
        return load_regions(settings.regions)
    stored = await store.get_meta(REGIONS_META_KEY)
    if stored:
        return load_data(json.loads(stored), source="database")
    return load_builtin("ua")


def _nothing() -> None:
    return None


def _both(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def undo() -> None:
        first()
        second()

    return undo


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock = utcnow, registry: RegionRegistry | None = None) -> None:
        self.settings = settings
        self._given_registry = registry
        self._clock = clock
        self.store: Store = open_store(settings.database_url, postgis=settings.postgis)
        self.node_id = settings.node_id or node_name(settings.port)
        self.bus: Bus = open_bus(
            settings.bus_url, stream=settings.bus_stream, log=self.store, name=f"sirena {self.node_id}"
        )
        self.leases = Leases(self.store, self.node_id, settings.lease_ttl_s)
        self.draining = False
        """Set when the node is stopping: it reports itself not ready and live clients are told to go."""
        self.hub = Hub(
            queue_size=settings.stream_queue_size,
            max_buffer=settings.stream_client_buffer_bytes,
            slice_s=settings.stream_slice_ms / 1000,
            gc_hold=settings.stream_gc_hold,
        )
        self.delivery = Delivery(settings, self.hub)
        self.service: AlertService
        self.places: PlaceRegistry
        self.shelters = ShelterDirectory(self.store)
        self.cap: CapExchange
        self.advisories: Advisories
        self.published_seq = 0
        self._relay_queue: asyncio.Queue[Sequence[LogEvent] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] = _nothing
        self._loop: asyncio.AbstractEventLoop | None = None
        self.started = False
        self.siblings: Siblings | None = None
        """The other worker processes of a ``sirena serve --workers N`` (see :mod:`sirena.cluster.workers`)."""

    @property
    def registry(self) -> RegionRegistry:
        return self.service.registry

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.store.open()
        if (notice := unused_notice(self.store)) and (self.siblings is None or self.siblings.index == 0):
            log.warning("%s", notice.removeprefix("sirena: "))
        await record_settings(self.store, self.settings)
        registry = self._given_registry or await resolve_regions(self.settings, self.store)
        shelter_times = TimeToShelter.from_setting(self.settings.time_to_shelter_file, registry)
        self.service = AlertService(self.store, registry, self._clock, time_to_shelter=shelter_times)
        margin = self.settings.place_border_margin_m
        self.places = PlaceRegistry(self.store, registry, time_to_shelter=shelter_times, margin_m=margin)
        self.cap = CapExchange(self.settings, self.service)
        self.advisories = Advisories(self.settings, self.store, registry, self._clock)
        if self.settings.all_clear_on_end:
            self.service.end_hook = self.advisories.all_clears.hook()
        await self.bus.start()
        self._unsubscribe = _both(self.bus.subscribe(self._observed), self.bus.subscribe(self.hub.publish))
        self.published_seq = self.hub.last_seq = await self.store.last_seq()
        if self.siblings is not None:
            self.siblings.open(self._sibling_committed)
            self.store.add_commit_listener(self._tell_siblings)
        self.store.add_commit_listener(self._relay_queue.put_nowait)
        self._tasks.append(asyncio.create_task(self._relay(), name="sirena-relay"))
        self._tasks.append(asyncio.create_task(self._poll(), name="sirena-relay-poll"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="sirena-heartbeat"))
        if self.settings.loop_lag_probe_ms > 0:
            from sirena.stream.lag import LoopLagProbe

            probe = LoopLagProbe(self.settings.loop_lag_probe_ms / 1000, self.delivery.metrics.registry)
            self._tasks.append(asyncio.create_task(probe.run(), name="sirena-loop-lag"))
        from sirena.history.follower import rollup_tasks

        self._tasks.extend(rollup_tasks(self.store, self.bus))
        await self.leases.start()
        await self.delivery.start(self)
        if self.settings.demo:
            from sirena.history.demo import DemoFeed, import_in_background

            self._tasks.append(asyncio.create_task(DemoFeed(self).run(), name="sirena-demo"))
            self._tasks.append(asyncio.create_task(import_in_background(self), name="sirena-demo-history"))
        if self.cap.puller is not None:
            follow = self.leases.exclusive("cap-pull", self.cap.follow)  # one node of a cluster pulls the feeds
            self._tasks.append(asyncio.create_task(follow, name="sirena-cap-pull"))
        escalation = self.leases.exclusive("escalation", self.advisories.run)  # escalation and expiry: one node
        self._tasks.append(asyncio.create_task(escalation, name="sirena-escalation"))
        self.started = True
        if self.settings.gc_freeze:
            gc.collect()
            gc.freeze()  # what start-up built lives as long as the process: keep it out of every collection

    async def stop(self) -> None:
        await self.delivery.stop()
        self.hub.close(sse.retry(self.settings.stream_retry_ms))
        await self.places.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.leases.stop()
        self._unsubscribe()
        if self.siblings is not None:
            self.siblings.close()
        await self.bus.close()
        await self.store.close()
        self.started = False

    async def _relay(self) -> None:
        """Publish committed events in sequence order, filling any gap from the event log."""
        while True:
            batch = await self._relay_queue.get()
            try:
                if batch is None or any(e.seq != self.published_seq + 1 + i for i, e in enumerate(batch)):
                    await self.catch_up()
                    continue
                for event in batch:
                    if event.seq == self.published_seq + 1:
                        await self.bus.publish(event)
                        self.published_seq = max(self.published_seq, event.seq)
            except Exception:  # a failed publish must not stop the relay; the poll retries from the log
                log.exception("relay failed to publish; will retry from the event log")

    async def catch_up(self) -> None:
        while True:
            events = await self.store.events_after(self.published_seq, limit=500)
            if not events:
                return
            for event in events:
                if event.seq <= self.published_seq:  # another node's publish came round meanwhile
                    continue
                await self.bus.publish(event)
                self.published_seq = max(self.published_seq, event.seq)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stream_heartbeat_s)
            self.hub.heartbeat()

    def _observed(self, event: LogEvent) -> None:
        """An event reached this node's handlers (with several nodes: maybe published by another one), so the
        relay need not publish it again."""
        if event.seq > self.published_seq:
            self.published_seq = event.seq

    def _tell_siblings(self, events: Sequence[LogEvent]) -> None:
        if events and self.siblings is not None:
            self.siblings.tell(max(event.seq for event in events))

    def _sibling_committed(self, seq: int) -> None:
        """A sibling worker committed up to ``seq``: the relay reads what this worker has not published yet."""
        if seq > self.published_seq:
            self._relay_queue.put_nowait(None)

    def begin_drain(self) -> None:
        """The node is about to stop (SIGTERM): report not ready and tell live clients to reconnect elsewhere.
        Safe to call from a signal handler."""
        self.draining = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.hub.close, sse.retry(self.settings.stream_retry_ms))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.relay_poll_s)
            try:
                if await self.store.last_seq() > self.published_seq:
                    self._relay_queue.put_nowait(None)
            except Exception:
                log.exception("could not read the event log")
