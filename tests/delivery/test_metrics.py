"""`/metrics`: the Prometheus text format, per runtime (nothing global), optionally behind a token."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sirena import delivery, testing


def samples(text: str) -> dict[str, float]:
    return {
        s.name + ("" if not s.labels else str(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_are_per_runtime_and_in_the_text_format(tmp_path: Path) -> None:
    async with testing.api(tmp_path / "a") as first, testing.api(tmp_path / "b") as second:
        await first.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=first.auth)
        response = await first.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        mine = samples(response.text)
        theirs = samples((await second.client.get("/metrics")).text)
        for name in (
            "sirena_webhook_deliveries_total",
            "sirena_webhook_failures_total",
            "sirena_webhook_retries_total",
            "sirena_webhook_dead_letters_total",
            "sirena_stream_dropped_clients_total",
            "sirena_stream_clients",
            "sirena_websocket_clients",
            "sirena_push_sent_total",
            "sirena_mqtt_connected",
        ):
            assert name in mine, name
        assert mine["sirena_webhook_queue_depth[('state', 'pending')]"] == 0
        assert mine["sirena_stream_events_published_total"] >= 1
        assert theirs["sirena_stream_events_published_total"] == 0  # another runtime, other counters


async def test_a_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    async with testing.api(tmp_path, metrics_token="scrape-me") as api:
        assert (await api.client.get("/metrics")).status_code == 401
        assert (await api.client.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        ok = await api.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200
        assert "sirena_webhook_queue_depth" in ok.text


def test_public_delivery_api() -> None:
    for name in delivery.__all__:
        assert hasattr(delivery, name), name
    assert {"Webhooks", "WebhookSpec", "WebhookFormat", "FormatContext", "SubscriptionFilter", "verify"} <= set(
        delivery.__all__
    )
