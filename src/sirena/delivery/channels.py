"""All delivery channels of one runtime, started by ``Runtime.start()`` and stopped by ``Runtime.stop()``.

Webhooks are on by default (``SIRENA_WEBHOOKS``); MQTT when ``SIRENA_MQTT_URL`` is set; Web Push when
``SIRENA_PUSH`` is on. Every channel reads committed events from the event log behind its own cursor and is
woken by the bus, so a channel that falls behind, or is down, never holds up the others or the live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from sirena.delivery.dispatcher import Dispatcher
from sirena.delivery.metrics import DeliveryMetrics
from sirena.delivery.mqtt import MqttBridge
from sirena.delivery.nearby import Nearby
from sirena.delivery.outbox import Enqueuer
from sirena.delivery.push import WebPush
from sirena.delivery.webhooks import FormatContext, Webhooks
from sirena.errors import ConfigurationError
from sirena.store import delivery as sql
from sirena.store.delivery import SQLRunner
from sirena.stream import Hub

if TYPE_CHECKING:
    from sirena.runtime import Runtime
    from sirena.settings import Settings

log = logging.getLogger("sirena.delivery")


def sql_runner(store: object) -> SQLRunner:
    """The store's SQL entry points (``transaction``/``read``); delivery needs a store that has them."""
    if not (callable(getattr(store, "transaction", None)) and callable(getattr(store, "read", None))):
        raise ConfigurationError("error.delivery_store", store=type(store).__name__)
    return cast(SQLRunner, store)


class Delivery:
    def __init__(self, settings: Settings, hub: Hub) -> None:
        self.settings = settings
        self.metrics = DeliveryMetrics(hub)
        self.webhooks: Webhooks
        self.dispatcher: Dispatcher | None = None
        self.enqueuer: Enqueuer | None = None
        self.mqtt: MqttBridge | None = None
        self.push: WebPush | None = None
        self._sql: SQLRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self, rt: Runtime) -> None:
        settings = self.settings
        runner = self._sql = sql_runner(rt.store)
        dispatcher = Dispatcher(runner, settings, self.metrics)
        dispatcher.leases = rt.leases
        self.webhooks = Webhooks(runner, settings, dispatcher.wake)
        if settings.webhooks:
            self.dispatcher = dispatcher
            self.enqueuer = Enqueuer(
                rt.store,
                runner,
                self.webhooks,
                FormatContext(
                    rt.registry, rt.service, Nearby(rt.registry, settings.place_border_margin_m, rt.shelters)
                ),
                self.metrics,
                dispatcher.wake,
                settings.delivery_poll_s,
            )
            await self.enqueuer.start()
            self._unsubscribe.append(rt.bus.subscribe(self.enqueuer.notify))
            enqueue = rt.leases.exclusive("webhook-enqueuer", self.enqueuer.resume)  # one node of a cluster
            self._spawn(enqueue, "sirena-webhook-enqueuer")
            self._spawn(dispatcher.run(), "sirena-webhook-dispatcher")
        if settings.mqtt_url:
            self.mqtt = MqttBridge(rt.store, runner, rt.service, settings, self.metrics)
            await self.mqtt.start()
            self._unsubscribe.append(rt.bus.subscribe(self.mqtt.notify))
            self._spawn(rt.leases.exclusive("mqtt", self.mqtt.resume), "sirena-mqtt")  # one node of a cluster
        if settings.push:
            self.push = WebPush(rt.store, runner, settings, rt.registry, self.metrics)
            self.push.nearby = Nearby(rt.registry, settings.place_border_margin_m, rt.shelters)
            await self.push.start()
            self._unsubscribe.append(rt.bus.subscribe(self.push.notify))
            self._spawn(rt.leases.exclusive("push", self.push.resume), "sirena-push")  # one node of a cluster

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for closing in (self.enqueuer.flush() if self.enqueuer else None, self._stop_mqtt(), self._stop_push()):
            if closing is not None:
                try:
                    await closing
                except Exception:
                    log.exception("a delivery channel did not stop cleanly")

    async def _stop_mqtt(self) -> None:
        if self.mqtt is not None:
            await self.mqtt.stop()

    async def _stop_push(self) -> None:
        if self.push is not None:
            await self.push.stop()

    async def refresh_gauges(self) -> None:
        """Figures read from the store, for a metrics scrape."""
        if self._sql is None:
            return
        counts = cast("dict[str, int]", await self._sql.read(sql.queue_depths))
        for state in (sql.PENDING, sql.DEAD):
            self.metrics.webhook_queue.labels(state).set(counts.get(state, 0))
