"""The MQTT bridge: region states as retained messages, every event on one topic, each channel's advisories on
its own topic (``<prefix>/channels/<id>``), Home Assistant discovery.

On every (re)connection the bridge publishes its status, the discovery configs and the state of every region,
so a broker that lost its retained messages (restarted without persistence) is made right again at once. Events
are read from the event log behind a cursor (``delivery_cursors.mqtt``) and published with QoS 1; the cursor
moves only past acknowledged messages, so an event is never skipped, even across a restart. Connection losses
are retried with exponential backoff and jitter. Needs the ``mqtt`` extra (``aiomqtt``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from sirena.delivery import homeassistant as ha
from sirena.delivery.backoff import Backoff
from sirena.delivery.errors import MissingExtra
from sirena.delivery.metrics import DeliveryMetrics
from sirena.domain.model import Status
from sirena.domain.notice import LogEvent, Notice
from sirena.domain.state import derive
from sirena.errors import ConfigurationError
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.store import Store
from sirena.store import advisories as sql_advisories
from sirena.store import delivery as sql
from sirena.store.delivery import SQLRunner

if TYPE_CHECKING:
    from sirena.service import AlertService
    from sirena.settings import Settings

log = logging.getLogger("sirena.delivery")

CURSOR = "mqtt"
BATCH = 500
CHUNK = 200
IDLE_PERSIST_S = 10.0
PERSIST_EVERY_S = 1.0
"""While events flow the cursor is written at most this often (a crash republishes at most this much: QoS 1
is at least once anyway); with nothing published, every ``IDLE_PERSIST_S``."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> BrokerAddress:
    """``mqtt://[user:password@]host[:port]`` (1883) or ``mqtts://…`` (TLS, 8883)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError("error.mqtt_url", url=url) from None
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ConfigurationError("error.mqtt_url", url=url)
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def channel_topic(prefix: str, channel_id: str) -> str:
    """Where a channel's advisories (and every all-clear) are published."""
    return f"{prefix}/channels/{channel_id}"


def split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class MqttBridge:
    def __init__(
        self, store: Store, sqlrunner: SQLRunner, service: AlertService, settings: Settings, metrics: DeliveryMetrics
    ) -> None:
        self.store = store
        self.sql = sqlrunner
        self.service = service
        self.settings = settings
        self.metrics = metrics
        self.broker = parse_url(settings.mqtt_url)
        self.prefix = settings.mqtt_topic_prefix.strip("/") or "sirena"
        self.ha_regions = split_ids(settings.mqtt_ha_regions)
        self.statuses = frozenset(Status(s) for s in split_ids(settings.mqtt_statuses)) or frozenset({Status.ACTUAL})
        self.backoff = Backoff(min(0.5, settings.mqtt_reconnect_max_s), settings.mqtt_reconnect_max_s)
        self.client_id = settings.mqtt_client_id or f"sirena-{uuid.uuid4().hex[:12]}"
        self.connected = asyncio.Event()
        self._was_connected = False
        self._signal = asyncio.Event()
        self._published: dict[str, str] = {}
        self.cursor = 0
        self._persisted = 0
        self._persisted_at = 0.0

    async def start(self) -> None:
        try:
            import aiomqtt  # noqa: F401
        except ImportError:
            raise MissingExtra("error.missing_extra", channel="MQTT", extra="mqtt") from None
        registry = self.service.registry
        for region_id in self.ha_regions:
            if region_id not in registry:
                raise ConfigurationError("error.mqtt_ha_region", region=region_id)
        try:
            self.statuses = frozenset(Status(s) for s in split_ids(self.settings.mqtt_statuses)) or self.statuses
        except ValueError:
            raise ConfigurationError(
                "error.bad_setting", name="SIRENA_MQTT_STATUSES", value=self.settings.mqtt_statuses, type="statuses"
            ) from None
        self.cursor = self._persisted = cast(int, await self.sql.transaction(lambda c: sql.init_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()

    async def stop(self) -> None:
        if self.cursor != self._persisted:
            with contextlib.suppress(Exception):
                await self._persist()

    def notify(self, event: LogEvent | None = None) -> None:
        self._signal.set()

    async def resume(self) -> None:
        """Run from the stored cursor (with several nodes, another one may have moved it meanwhile)."""
        self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
        self._persisted_at = time.monotonic()
        await self.run()

    # -- the connection loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        import aiomqtt

        failures = 0
        while True:
            self._was_connected = False
            try:
                await self._session()
            except (aiomqtt.MqttError, OSError) as exc:
                self.metrics.mqtt_connected.set(0)
                self.metrics.mqtt_reconnects.inc()
                failures = 1 if self._was_connected else failures + 1
                delay = self.backoff.delay(failures)
                log.warning(
                    "MQTT broker %s:%s: %s; reconnecting in %.1f s", self.broker.host, self.broker.port, exc, delay
                )
                await asyncio.sleep(delay)

    def _client(self) -> Any:
        import aiomqtt

        tls = ssl.create_default_context() if self.broker.tls else None
        will = aiomqtt.Will(ha.status_topic(self.prefix), b"offline", qos=1, retain=True)
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.client_id,
            will=will,
            keepalive=30,
            timeout=10,
            tls_context=tls,
            logger=logging.getLogger("sirena.delivery.mqtt"),
            max_inflight_messages=CHUNK,
        )

    async def _session(self) -> None:
        async with self._client() as client:
            client.pending_calls_threshold = 100_000
            await client.publish(ha.status_topic(self.prefix), b"online", qos=1, retain=True)
            if self.ha_regions:
                await client.subscribe(f"{self.settings.mqtt_ha_prefix}/status", qos=1)
                await self._publish_discovery(client)
            self._published.clear()
            await self._publish_states(client)
            self._was_connected = True
            self.connected.set()
            self.metrics.mqtt_connected.set(1)
            log.info("MQTT bridge connected to %s:%s", self.broker.host, self.broker.port)
            listener = asyncio.create_task(self._listen(client))
            try:
                while True:
                    await self._pump(client)
                    waiter = asyncio.create_task(self._signal.wait())
                    done, _ = await asyncio.wait(
                        {waiter, listener}, timeout=self.settings.delivery_poll_s, return_when=asyncio.FIRST_COMPLETED
                    )
                    waiter.cancel()
                    if listener in done:
                        listener.result()
                        raise OSError("connection lost")
                    self._signal.clear()
            finally:
                self.connected.clear()
                listener.cancel()
                with contextlib.suppress(BaseException):
                    await listener

    async def _listen(self, client: Any) -> None:
        """Home Assistant announces its restarts on ``H/status``: send the discovery configs again then. Ends
        (with an error) when the connection is lost."""
        async for message in client.messages:
            if message.topic.matches(f"{self.settings.mqtt_ha_prefix}/status") and message.payload == b"online":
                await self._publish_discovery(client)

    # -- publishing ---------------------------------------------------------------------------------------

    async def _publish(self, client: Any, items: Mapping[str, str | bytes], *, retain: bool, kind: str) -> None:
        pending = list(items.items())
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            await asyncio.gather(*(client.publish(t, p, qos=1, retain=retain) for t, p in chunk))
            self.metrics.mqtt_published.labels(kind).inc(len(chunk))

    async def _publish_discovery(self, client: Any) -> None:
        registry = self.service.registry
        configs = {
            ha.discovery_topic(self.settings.mqtt_ha_prefix, self.prefix, r): dumps(
                ha.discovery_config(registry.get(r), self.prefix, self.settings.mqtt_ha_language)
            )
            for r in self.ha_regions
        }
        await self._publish(client, configs, retain=True, kind="discovery")

    async def _publish_states(self, client: Any) -> None:
        """Publish every region whose state payload differs from what this connection last published (after
        a (re)connection: every region). Only regions under alert are encoded; the rest share one calm payload."""
        alerts = await self.service.active(self.statuses)
        by_id = {a.id: a for a in alerts}
        states = derive(alerts, self.service.registry)
        calm = dumps(ha.region_state(None, by_id))
        current = {region_id: dumps(ha.region_state(state, by_id)) for region_id, state in states.items()}
        changed = {r: p for r, p in current.items() if self._published.get(r) != p}
        if self._published:
            changed.update({r: calm for r, p in self._published.items() if r not in current and p != calm})
        else:
            changed.update({region.id: calm for region in self.service.registry if region.id not in current})
        await self._publish(
            client, {ha.state_topic(self.prefix, r): p for r, p in changed.items()}, retain=True, kind="state"
        )
        self._published.update(changed)

    async def _pump(self, client: Any) -> None:
        """Publish the events after the cursor, then the region states they changed."""
        while True:
            events = await self.store.events_after(self.cursor, limit=BATCH)
            if not events:
                break
            for event in events:
                if isinstance(event, Notice):
                    await self._publish_notice(client, event)
                elif event.alert.status in self.statuses:
                    await client.publish(ha.events_topic(self.prefix), dumps(event_to_dict(event)), qos=1)
                    self.metrics.mqtt_published.labels("event").inc()
                self.cursor = event.seq
            await self._publish_states(client)
            if time.monotonic() - self._persisted_at >= PERSIST_EVERY_S:
                await self._persist()
        self.metrics.mqtt_lag.set(max(0, await self.store.last_seq() - self.cursor))
        if self.cursor != self._persisted and time.monotonic() - self._persisted_at >= IDLE_PERSIST_S:
            await self._persist()

    async def _publish_notice(self, client: Any, notice: Notice) -> None:
        """A public notice on the events topic; a channel's advisory on ``<prefix>/channels/<id>`` only; an
        all-clear on the events topic and on every channel's topic. The coordination line never."""
        reach = notice.reach
        if reach.private or reach.status not in self.statuses:
            return
        topics: list[str] = []
        if reach.public:
            topics.append(ha.events_topic(self.prefix))
        elif reach.channel is not None:
            topics.append(channel_topic(self.prefix, reach.channel))
        if reach.every_channel:
            ids = cast("list[str]", await self.sql.read(sql_advisories.channel_ids))
            topics += [channel_topic(self.prefix, channel) for channel in ids]
        payload = dumps(event_to_dict(notice))
        for topic in topics:
            await client.publish(topic, payload, qos=1)
            self.metrics.mqtt_published.labels("event").inc()

    async def _persist(self) -> None:
        expected, new = self._persisted, self.cursor
        try:
            await self.sql.transaction(lambda c: sql.move_cursor(c, CURSOR, expected, new))
        except sql.CursorMoved:
            self.cursor = self._persisted = cast(int, await self.sql.read(lambda c: sql.read_cursor(c, CURSOR)))
        else:
            self._persisted = new
        self._persisted_at = time.monotonic()
