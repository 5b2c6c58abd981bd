"""Webhooks delivered to real HTTP receivers: filters, signatures, order, retries, dead letters, the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from delivery_helpers import FAST_RETRIES, post, receiver, until, verified

from sirena import testing
from sirena.delivery import WebhookSpec
from sirena.domain.model import Event
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.store.delivery import WebhookSubscription


async def subscribe(api: testing.Api, url: str, **filters: Any) -> dict[str, Any]:
    return await post(api.client, "/api/v1/webhooks", {"url": url, **filters}, api.auth)


async def issue(api: testing.Api, **body: Any) -> dict[str, Any]:
    return await post(api.client, "/api/v1/alerts", body, api.auth)


async def settled_log(api: testing.Api, hook_id: str, count: int) -> list[dict[str, Any]]:
    """The delivery log once ``count`` attempts are recorded (a receiver sees a request before Sirena logs it)."""
    rows: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal rows
        rows = (await api.client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=api.auth)).json()["deliveries"]
        return len(rows) >= count

    await until(enough)
    return rows


async def test_matching_events_arrive_signed_in_order_with_the_stream_body(hooks_api: testing.Api) -> None:
    api = hooks_api
    hromada = api.runtime.registry.children(api.runtime.registry.children("14")[0].id)[0].id
    async with receiver() as kyiv_oblast, receiver() as drones_only:
        hook = await subscribe(api, kyiv_oblast.url, regions=["14"], kinds=["air_raid"])
        drones = await subscribe(api, drones_only.url, threats=["drones"], levels=["red"])
        in_hromada = await issue(api, regions=[hromada], threats=[{"type": "drones"}])
        await issue(api, regions=["31"])  # Kyiv city is not in Kyiv oblast
        await issue(api, regions=["14"], status="exercise")  # exercises only on request
        await issue(api, regions=["14"], kind="artillery_shelling")  # another kind
        oblast = await issue(api, regions=["UA"])  # the whole country covers Kyiv oblast
        await post(api.client, f"/api/v1/alerts/{in_hromada['id']}/end", None, api.auth)
        await kyiv_oblast.wait_for(lambda: len(kyiv_oblast.delivered()) == 4)
        await drones_only.wait_for(lambda: len(drones_only.delivered()) == 3)
        got = [verified(hook["secret"], h) for h in kyiv_oblast.delivered()]
        assert [(g["type"], (g.get("alert") or {}).get("id") or g["all_clear"]["alert_id"]) for g in got] == [
            ("alert.issued", in_hromada["id"]),
            ("alert.issued", oblast["id"]),
            ("alert.ended", in_hromada["id"]),
            ("alert.all_clear", in_hromada["id"]),  # every end is followed by its all-clear
        ]
        assert [g["seq"] for g in got] == sorted(g["seq"] for g in got)
        assert got[0]["alert"] == in_hromada
        events = await api.runtime.store.events_after(0)
        by_seq: dict[int, Event] = {e.seq: e for e in events}
        for hit, data in zip(kyiv_oblast.delivered(), got, strict=True):
            assert hit.body == dumps(event_to_dict(by_seq[data["seq"]])).encode()  # the stream's data: line
            assert hit.headers["content-type"] == "application/json"
        assert len({h.msg_id for h in kyiv_oblast.delivered()}) == 4
        assert [verified(drones["secret"], h)["type"] for h in drones_only.delivered()] == [
            "alert.issued",
            "alert.ended",
            "alert.all_clear",
        ]
        rows = await settled_log(api, hook["id"], 4)
        assert [r["seq"] for r in rows] == [g["seq"] for g in reversed(got)]
        for row in rows:
            assert (row["attempt"], row["status_code"], row["error"], row["state"]) == (1, 200, None, "delivered")
            assert row["latency_ms"] >= 0
            assert row["at"].endswith("Z")
        assert {r["message_id"] for r in rows} == {h.msg_id for h in kyiv_oblast.delivered()}


async def test_a_receiver_down_for_a_while_gets_everything_in_order_when_back(hooks_api: testing.Api) -> None:
    api = hooks_api
    async with receiver() as target:
        hook = await subscribe(api, target.url)
        await target.stop()  # connection refused from now on
        issued = [await issue(api, regions=[r]) for r in ("31", "14", "8", "9", "12")]

        async def retried() -> bool:
            rows = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=api.auth)).json()
            return sum(1 for r in rows["deliveries"] if r["attempt"] >= 2) >= 2

        await until(retried)
        log = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=api.auth)).json()
        first = log["deliveries"][-1]
        assert first["status_code"] is None
        assert first["error"]
        assert first["state"] == "pending"
        assert {r["seq"] for r in log["deliveries"]} == {1}  # nothing overtakes the message at the head
        await target.start()
        await target.wait_for(lambda: len(target.delivered()) == 5)
        got = [verified(hook["secret"], h) for h in target.delivered()]
        assert [g["alert"]["id"] for g in got] == [a["id"] for a in issued]
        await until(lambda: _delivered(api.runtime.delivery.webhooks, hook["id"], 5))
        counts = (await api.client.get(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)).json()["messages"]
        assert counts == {"pending": 0, "delivered": 5, "dead": 0, "cancelled": 0}


async def test_failing_messages_are_dead_lettered_visibly_then_redriven_in_order(tmp_path: Path) -> None:
    async with testing.api(tmp_path, **FAST_RETRIES, webhook_max_age_s=0.5) as api, receiver(status=500) as target:
        hook = await subscribe(api, target.url)
        issued = [await issue(api, regions=[r]) for r in ("31", "14")]

        async def dead() -> bool:
            counts = (await api.client.get(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)).json()["messages"]
            return bool(counts["dead"] == 2)

        await until(dead)
        letters = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/messages?state=dead", headers=api.auth)).json()
        assert [m["seq"] for m in letters["messages"]] == [2, 1]
        assert all(m["last_error"] in {"HTTP 500", "expired"} for m in letters["messages"])
        assert letters["messages"][1]["attempts"] >= 2
        log = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=api.auth)).json()
        assert all(r["status_code"] == 500 and r["error"] == "HTTP 500" for r in log["deliveries"])
        metrics = (await api.client.get("/metrics")).text
        assert 'sirena_webhook_queue_depth{state="dead"} 2.0' in metrics
        assert "sirena_webhook_dead_letters_total 2.0" in metrics
        assert "sirena_webhook_failures_total" in metrics
        target.status = 200
        before = len(target.hits)
        redriven = await post(api.client, f"/api/v1/webhooks/{hook['id']}/redrive", None, api.auth)
        assert redriven == {"requeued": 2}
        await target.wait_for(lambda: len(target.delivered()) == 2)
        assert [verified(hook["secret"], h)["alert"]["id"] for h in target.hits[before:]] == [a["id"] for a in issued]


async def test_deleting_a_subscription_cancels_what_it_still_had_to_deliver(hooks_api: testing.Api) -> None:
    api = hooks_api
    async with receiver(status=503) as target:
        hook = await subscribe(api, target.url)
        await issue(api, regions=["31"])
        await target.wait_for(lambda: len(target.hits) >= 2)
        assert (await api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)).status_code == 204
        seen = len(target.hits)
        await issue(api, regions=["14"])
        store = api.runtime.delivery.webhooks
        await until(lambda: _cancelled(store, hook["id"]))
        assert len(target.hits) <= seen + 1  # at most an attempt already in flight


async def _delivered(webhooks: Any, sub_id: str, n: int) -> bool:
    return bool((await webhooks.counts(sub_id))["delivered"] == n)


async def _cancelled(webhooks: Any, sub_id: str) -> bool:
    counts = await webhooks.counts(sub_id)
    return bool(counts["cancelled"] == 1 and counts["pending"] == 0)


async def test_an_extension_format_and_manual_messages(hooks_api: testing.Api) -> None:
    """The public API a compatible API builds on: its own kind, its own body shape, its own queueing."""
    api = hooks_api
    webhooks = api.runtime.delivery.webhooks

    async def per_region(event: Event, sub: WebhookSubscription, context: Any) -> list[str]:
        return [json.dumps({"regionId": r, "active": event.alert.is_active}) for r in event.alert.regions]

    webhooks.register_format("per-region", per_region)
    async with receiver() as custom, receiver() as manual:
        sub = await webhooks.subscribe(WebhookSpec(url=custom.url, kind="compat", format="per-region", owner="key:1"))
        hand = await webhooks.subscribe(WebhookSpec(url=manual.url, kind="compat", format="manual"))
        assert (await api.client.get("/api/v1/webhooks", headers=api.auth)).json()["webhooks"] == []
        assert (await api.client.get(f"/api/v1/webhooks/{sub.id}", headers=api.auth)).status_code == 404
        assert [s.id for s in await webhooks.find(kind="compat", owner="key:1")] == [sub.id]
        alert = await issue(api, regions=["31", "14"])
        await custom.wait_for(lambda: len(custom.delivered()) == 2)
        assert [verified(sub.secret, h) for h in custom.delivered()] == [
            {"regionId": "31", "active": True},
            {"regionId": "14", "active": True},
        ]
        made = await webhooks.enqueue(hand.id, ['{"n": 1}', '{"n": 2}'], key="batch-1")
        assert len(made) == 2
        assert await webhooks.enqueue(hand.id, ['{"n": 1}', '{"n": 2}'], key="batch-1") == []  # same key: nothing new
        await manual.wait_for(lambda: len(manual.delivered()) == 2)
        assert [verified(hand.secret, h) for h in manual.delivered()] == [{"n": 1}, {"n": 2}]
        assert [h.msg_id for h in manual.delivered()] == made
        assert alert["id"]
        moved = await webhooks.update(sub.id, url=manual.url)
        assert moved.url == manual.url
