"""Prometheus metrics of the delivery channels and the live stream, on a registry owned by one runtime.

Counters and histograms are updated where things happen; figures that live elsewhere (the hub's client counts,
queue depths in the store) are read when ``/metrics`` is scraped. Nothing is registered globally.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sirena.stream import Hub

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _HubCollector(Collector):
    """Live-stream figures read from the hub at scrape time."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "sirena_stream_events_published", "Events handed to the live-stream hub.", value=self.hub.stats.published
        )
        yield CounterMetricFamily(
            "sirena_stream_dropped_clients",
            "Live-stream clients (SSE and WebSocket) cut off because they fell too far behind.",
            value=self.hub.stats.dropped_clients,
        )
        yield GaugeMetricFamily(
            "sirena_stream_clients",
            "Live-stream clients (SSE and WebSocket) connected now.",
            value=len(self.hub.clients) + self.hub.direct_count,
        )

    def describe(self) -> Iterable[Metric]:
        return ()


class DeliveryMetrics:
    def __init__(self, hub: Hub) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.registry.register(_HubCollector(hub))
        self.webhook_enqueued = Counter(
            "sirena_webhook_messages_enqueued", "Webhook messages queued in the outbox.", registry=r
        )
        self.webhook_deliveries = Counter(
            "sirena_webhook_deliveries", "Webhook messages delivered (a 2xx answer).", registry=r
        )
        self.webhook_failures = Counter(
            "sirena_webhook_failures", "Webhook attempts that failed (error, timeout or non-2xx answer).", registry=r
        )
        self.webhook_retries = Counter(
            "sirena_webhook_retries", "Webhook messages scheduled for another attempt after a failure.", registry=r
        )
        self.webhook_dead = Counter(
            "sirena_webhook_dead_letters", "Webhook messages given up on after the retry period.", registry=r
        )
        self.webhook_latency = Histogram(
            "sirena_webhook_attempt_seconds", "Duration of webhook attempts.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.webhook_queue = Gauge(
            "sirena_webhook_queue_depth", "Webhook messages in the outbox by state.", ["state"], registry=r
        )
        self.webhook_workers = Gauge(
            "sirena_webhook_workers", "Endpoints with a delivery worker running now.", registry=r
        )
        self.ws_clients = Gauge("sirena_websocket_clients", "WebSocket connections open now.", registry=r)
        self.mqtt_connected = Gauge("sirena_mqtt_connected", "1 while the MQTT bridge is connected.", registry=r)
        self.mqtt_published = Counter(
            "sirena_mqtt_messages_published", "MQTT messages published (and acknowledged).", ["topic"], registry=r
        )
        self.mqtt_reconnects = Counter(
            "sirena_mqtt_connection_failures", "Lost or failed connections to the MQTT broker.", registry=r
        )
        self.mqtt_lag = Gauge(
            "sirena_mqtt_pending_events", "Committed events the MQTT bridge has not published yet.", registry=r
        )
        self.push_sent = Counter("sirena_push_sent", "Web Push messages accepted by push services.", registry=r)
        self.push_failures = Counter(
            "sirena_push_failures", "Web Push messages that could not be delivered after retries.", registry=r
        )
        self.push_retries = Counter("sirena_push_retries", "Web Push attempts retried.", registry=r)
        self.push_expired = Counter(
            "sirena_push_expired_subscriptions", "Push subscriptions removed after a 404 or 410.", registry=r
        )
        self.push_subscriptions = Gauge("sirena_push_subscriptions", "Stored Web Push subscriptions.", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
