"""The real PyPI ``uasiren`` client against a real Sirena, including Home Assistant's ``ukraine_alarm`` flow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from compat_live import UAA, Live, Received, live_server, receiver
from uasiren.client import Client

from sirena import auth
from sirena.delivery import WebhookNotFound
from sirena.regions import RegionRegistry
from sirena.service import AlertService
from sirena.store.compat import CompatStore
from sirena.web.routes.compat_ukrainealarm import webhook_format


@pytest.fixture
def base_path(live: Live, monkeypatch: pytest.MonkeyPatch) -> str:
    path = f"{live.base}{UAA}/api/v3"
    monkeypatch.setattr(Client, "BASE_PATH", path)
    return path


@pytest.fixture
async def keyed(live: Live, base_path: str) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(headers={"Authorization": live.token}) as session:
        yield Client(session)


def hromada_of(live: Live, raion: str) -> str:
    return next(r.id for r in live.runtime.registry.by_level("hromada") if r.parent_id == raion)


async def test_regions_tree(keyed: Client) -> None:
    regions = await keyed.get_regions()
    states = regions["states"]
    assert len(states) == 27
    kyiv = next(s for s in states if s["regionId"] == "14")
    assert (kyiv["regionName"], kyiv["regionType"]) == ("Київська область", "State")
    districts = kyiv["regionChildIds"]
    assert {d["regionType"] for d in districts} == {"District"}
    assert {c["regionType"] for d in districts for c in d["regionChildIds"]} == {"Community"}
    assert next(s for s in states if s["regionId"] == "31")["regionChildIds"] == []


async def test_alerts_all_and_per_region_with_inheritance(live: Live, keyed: Client) -> None:
    assert await keyed.get_alerts() == []
    oblast = await live.issue(["14"], threats=[{"type": "drones", "level": "yellow"}])
    await live.issue(["79"], kind="urban_fights")
    await live.issue(["UA"], status="exercise")
    listed = await keyed.get_alerts()
    assert [(r["regionId"], r["regionType"]) for r in listed] == [("14", "State"), ("79", "District")]
    raion = listed[1]
    assert [(a["regionId"], a["type"]) for a in raion["activeAlerts"]] == [("14", "AIR"), ("79", "URBAN_FIGHTS")]
    hromada = hromada_of(live, "79")
    (model,) = await keyed.get_alerts(hromada)
    assert (model["regionId"], model["regionType"]) == (hromada, "Community")
    assert [a["type"] for a in model["activeAlerts"]] == ["AIR", "URBAN_FIGHTS"]
    air = model["activeAlerts"][0]
    assert air["activeAlertLevels"] == [{"alertLevel": "Yellow", "reason": "БпЛА", "createdAt": oblast["started_at"]}]
    assert air["lastUpdate"] == oblast["updated_at"]
    (calm,) = await keyed.get_alerts("31")
    assert calm["activeAlerts"] == []
    assert calm["lastUpdate"] == "1970-01-01T00:00:00.000Z"
    await live.act(oblast["id"], "end")
    (after,) = await keyed.get_alerts("14")
    assert after["activeAlerts"] == []
    assert after["lastUpdate"] != "1970-01-01T00:00:00.000Z"


async def test_last_action_index_moves_on_every_actual_change_only(live: Live, keyed: Client) -> None:
    assert await keyed.get_last_alert_index() == {"lastActionIndex": 0}
    seen = []
    alert = await live.issue(["31"])
    seen.append((await keyed.get_last_alert_index())["lastActionIndex"])
    async with httpx.AsyncClient(base_url=live.base) as client:
        patched = await client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=live.auth)
        assert patched.status_code == 200
    seen.append((await keyed.get_last_alert_index())["lastActionIndex"])
    await live.issue(["31"], status="exercise")
    await live.issue(["31"], status="test")
    seen.append((await keyed.get_last_alert_index())["lastActionIndex"])
    await live.act(alert["id"], "end")
    seen.append((await keyed.get_last_alert_index())["lastActionIndex"])
    assert seen[0] < seen[1] == seen[2] < seen[3]


async def test_region_history(live: Live, base_path: str) -> None:
    first = await live.issue(["14"])
    await live.act(first["id"], "end")
    await live.issue(["79"], kind="artillery_shelling")
    await live.issue(["79"], status="exercise")
    response = await live.get(f"{UAA}/api/v3/alerts/regionHistory?regionId=79", {"Authorization": live.token})
    (history,) = response.json()
    assert (history["regionId"], history["regionName"]) == ("79", "Броварський район")
    assert [(a["regionId"], a["alertType"], a["isContinue"]) for a in history["alarms"]] == [
        ("79", "ARTILLERY", True),
        ("14", "AIR", False),
    ]
    assert history["alarms"][1]["duration"] == "00:00:01"
    unknown = await live.get(f"{UAA}/api/v3/alerts/regionHistory?regionId=99999", {"Authorization": live.token})
    assert (unknown.status_code, set(unknown.json())) == (404, {"message"})
    missing = await live.get(f"{UAA}/api/v3/alerts/regionHistory", {"Authorization": live.token})
    assert (missing.status_code, missing.json()) == (
        400,
        {"message": "The request is not valid: regionId: Field required"},
    )


async def test_key_is_required_unless_public_and_must_be_valid(live: Live, base_path: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await Client(session).get_alerts()
        assert info.value.status == 401
    async with aiohttp.ClientSession(headers={"Authorization": "sir_wrong"}) as session:
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await Client(session).get_regions()
        assert info.value.status == 401
    for header in (live.token, f"Bearer {live.token}"):
        assert (await live.get(f"{UAA}/api/v3/alerts/status", {"Authorization": header})).status_code == 200


HA_ALERT_TYPES = ("AIR", "ARTILLERY", "URBAN_FIGHTS", "CHEMICAL", "NUCLEAR", "UNKNOWN")
HA_AIR_LEVELS = {"red": "AIR_RED", "yellow": "AIR_YELLOW"}


def ha_pick(source: list[dict[str, Any]], name: str, selected: dict[str, Any] | None) -> dict[str, Any]:
    """One step of the integration's config flow: the options it shows (the selected region first, then the
    choices sorted by name) and the region the user picks by name."""
    options: dict[str, str] = {}
    if selected:
        options[selected["regionId"]] = selected["regionName"]
    options.update({r["regionId"]: r["regionName"] for r in sorted(source, key=lambda r: r["regionName"].lower())})
    region_id = next(key for key, value in options.items() if value == name)
    found = next(r for r in source if r["regionId"] == region_id)
    return found


async def ha_poll(client: Client, region_id: str) -> dict[str, bool]:
    """What the integration's coordinator does every 10 s."""
    res = await client.get_alerts(region_id)
    current = dict.fromkeys((*HA_ALERT_TYPES, *HA_AIR_LEVELS.values()), False)
    for alert in res[0]["activeAlerts"]:
        assert alert["type"] in HA_ALERT_TYPES
        current[alert["type"]] = True
        if alert["type"] == "AIR":
            for level in alert.get("activeAlertLevels") or []:
                current[HA_AIR_LEVELS[str(level["alertLevel"]).lower()]] = True
    return current


async def test_home_assistant_ukraine_alarm_flow_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with live_server(tmp_path, compat_public=True) as live:
        monkeypatch.setattr(Client, "BASE_PATH", f"{live.base}{UAA}/api/v3")
        async with aiohttp.ClientSession() as session:  # Home Assistant sends no key
            client = Client(session)
            states = (await client.get_regions())["states"]
            state = ha_pick(states, "Київська область", None)
            assert state["regionChildIds"]  # so the flow offers the district step
            district = ha_pick(state["regionChildIds"], "Броварський район", state)
            assert district["regionChildIds"]  # and then the community step
            community_name = district["regionChildIds"][0]["regionName"]
            community = ha_pick(district["regionChildIds"], community_name, district)
            assert community["regionChildIds"] == []  # the flow finishes here
            region_id = community["regionId"]

            polls = [await ha_poll(client, region_id)]
            oblast = await live.issue(["14"], level="yellow", threats=[{"type": "drones", "level": "yellow"}])
            polls.append(await ha_poll(client, region_id))
            shelling = await live.issue(["79"], kind="artillery_shelling")
            await live.issue([region_id], kind="chemical", status="exercise")
            polls.append(await ha_poll(client, region_id))
            await live.act(oblast["id"], "end")
            await live.act(shelling["id"], "cancel")
            polls.append(await ha_poll(client, region_id))

            on = [{key for key, value in poll.items() if value} for poll in polls]
            assert on == [set(), {"AIR", "AIR_YELLOW"}, {"AIR", "AIR_YELLOW", "ARTILLERY"}, set()]


async def test_public_reads_are_rate_limited_by_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with live_server(tmp_path, compat_public=True, compat_rate_limit=2) as live:
        monkeypatch.setattr(Client, "BASE_PATH", f"{live.base}{UAA}/api/v3")
        async with aiohttp.ClientSession() as session:
            client = Client(session)
            await client.get_last_alert_index()
            await client.get_alerts("31")
            with pytest.raises(aiohttp.ClientResponseError) as info:
                await client.get_alerts("31")
            assert info.value.status == 429
        # a key has its own allowance
        assert (await live.get(f"{UAA}/api/v3/alerts/status", {"Authorization": live.token})).status_code == 200


async def next_body(got: asyncio.Queue[Received]) -> Received:
    return await asyncio.wait_for(got.get(), 20)


async def test_webhooks_registered_here_receive_region_models(tmp_path: Path) -> None:
    path = f"{UAA}/api/v3/webhook"
    async with (
        receiver() as (hook, got),
        live_server(tmp_path, webhook_allow_private=True) as live,
        httpx.AsyncClient(base_url=live.base) as client,
    ):
        key = {"Authorization": live.token}
        assert (await client.patch(path, json={"webHookUrl": f"{hook}/b"}, headers=key)).status_code == 404
        made = await client.post(path, json={"webHookUrl": f"{hook}/a"}, headers=key)
        assert (made.status_code, made.json()) == (200, {"webHookUrl": f"{hook}/a"})
        assert (await client.patch(path, json={"webHookUrl": f"{hook}/b"}, headers=key)).status_code == 200
        (registered,) = await CompatStore(live.runtime.store).list_webhooks()
        assert registered.url == f"{hook}/b" and registered.subscription_id
        subscription = await live.runtime.delivery.webhooks.get(registered.subscription_id)
        assert (subscription.url, subscription.kind) == (f"{hook}/b", "ukrainealarm")

        await live.issue(["31"], status="exercise")
        alert = await live.issue(["31"], threats=[{"type": "cruise_missiles", "level": "red"}])
        first = await next_body(got)
        assert first.path == "/b"  # the exercise sent nothing: the first request is the actual alert
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(first.headers)
        assert (first.body["regionId"], [a["type"] for a in first.body["activeAlerts"]]) == ("31", ["AIR"])
        assert first.body["activeAlerts"][0]["activeAlertLevels"][0]["reason"] == "крилаті ракети"
        await live.act(alert["id"], "end")
        calm = await next_body(got)
        assert (calm.body["regionId"], calm.body["activeAlerts"]) == ("31", [])

        for bad in ({"webHookUrl": "ftp://example.org"}, {"webHookUrl": "/relative"}, {}, {"webHookUrl": "x" * 3000}):
            answer = await client.post(path, json=bad, headers=key)
            assert (answer.status_code, set(answer.json())) == (400, {"message"}), bad
        malformed = await client.post(path, content=b"{", headers={**key, "Content-Type": "application/json"})
        assert malformed.status_code == 400
        wrong = await client.request("DELETE", path, json={"webHookUrl": f"{hook}/a"}, headers=key)
        assert wrong.status_code == 404
        gone = await client.request("DELETE", path, json={"webHookUrl": f"{hook}/b"}, headers=key)
        assert gone.status_code == 200
        with pytest.raises(WebhookNotFound):
            await live.runtime.delivery.webhooks.get(registered.subscription_id)
        assert (await client.delete(path, headers=key)).status_code == 404
        other, _ = await auth.create(live.runtime.store, "other")
        made = await client.post(path, json={"webHookUrl": f"{hook}/c"}, headers={"Authorization": other})
        assert made.status_code == 200
        assert (await client.delete(path, headers={"Authorization": other})).status_code == 200


async def test_webhook_urls_must_be_public_unless_allowed(live: Live) -> None:
    answer = await live.get(f"{UAA}/api/v3/alerts/status", {"Authorization": live.token})
    assert answer.status_code == 200
    async with httpx.AsyncClient(base_url=live.base) as client:
        refused = await client.post(
            f"{UAA}/api/v3/webhook", json={"webHookUrl": "http://127.0.0.1:9/x"}, headers={"Authorization": live.token}
        )
    assert (refused.status_code, set(refused.json())) == (422, {"message"})
    async with httpx.AsyncClient(base_url=live.base) as client:
        garbled = await client.post(
            f"{UAA}/api/v3/webhook",
            content=b"not json",
            headers={"Authorization": live.token, "Content-Type": "application/json"},
        )
    assert (garbled.status_code, garbled.json()) == (400, {"message": "The request body is not valid JSON."})
    assert await CompatStore(live.runtime.store).list_webhooks() == []


async def test_webhooks_need_a_key_even_when_reads_are_public(tmp_path: Path) -> None:
    async with live_server(tmp_path, compat_public=True) as live, httpx.AsyncClient(base_url=live.base) as client:
        answer = await client.post(f"{UAA}/api/v3/webhook", json={"webHookUrl": "https://example.org/a"})
        assert (answer.status_code, set(answer.json())) == (401, {"message"})


@dataclass
class Owned:
    owner: str


@dataclass
class Context:
    registry: RegionRegistry
    service: AlertService


async def test_webhook_bodies_are_region_models_after_each_change(live: Live) -> None:
    context = Context(live.runtime.registry, live.runtime.service)
    oblast = await live.issue(["14"], threats=[{"type": "drones", "level": "yellow"}])
    city = await live.issue(["31", "79"], kind="artillery_shelling")
    drill = await live.issue(["31"], status="exercise")
    events = {e.alert.id: e for e in await live.runtime.store.events_after(0)}
    (issued,) = await webhook_format(events[oblast["id"]], None, context)
    body = json.loads(issued)
    assert (body["regionId"], [a["type"] for a in body["activeAlerts"]]) == ("14", ["AIR"])
    bodies = [json.loads(b) for b in await webhook_format(events[city["id"]], None, context)]
    assert [(b["regionId"], [a["type"] for a in b["activeAlerts"]]) for b in bodies] == [
        ("31", ["ARTILLERY"]),
        ("79", ["AIR", "ARTILLERY"]),  # the raion also inherits its oblast's alert
    ]
    assert await webhook_format(events[drill["id"]], None, context) == []
    _, record = await auth.create(live.runtime.store, "revoked")
    owned = Owned(f"token:{record.id}")
    assert len(await webhook_format(events[oblast["id"]], owned, context)) == 1
    await live.runtime.store.revoke_token(record.id)
    assert await webhook_format(events[oblast["id"]], owned, context) == []
    await live.act(oblast["id"], "end")
    ended = next(e for e in reversed(await live.runtime.store.events_after(0)) if e.type.value == "alert.ended")
    (after,) = [json.loads(b) for b in await webhook_format(ended, None, context)]
    assert (after["regionId"], after["activeAlerts"], after["lastUpdate"]) == (
        "14",
        [],
        ended.alert.updated_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
