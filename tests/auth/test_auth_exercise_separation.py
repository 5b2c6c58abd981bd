"""Exercises and tests never reach anyone as actual.

One scene, every outward path: a real server holds an actual alert; then an exercise and a test are issued and
updated. Every public view, asked with its defaults, must look exactly as it did before (the drills are not
there at all); views of one alert must mark it as an exercise; live channels (SSE, WebSocket) must deliver the
next actual alert and nothing before it; clients that opt in get the drill, marked EXERCISE/НАВЧАННЯ.

The test walks the application's own route table, so a new outward path cannot be forgotten: every GET or
WebSocket route must be either probed here (``VIEWS``, ``ONE_ALERT_VIEWS``, ``LIVE``) or named in
``NOT_ALERT_CHANNELS`` with the reason it carries no alerts. Adding a channel means adding its path to one of
those tables; a pushed channel (SSE, WebSocket, webhooks, MQTT) gets a listener in ``LIVE``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Route, WebSocketRoute

from sirena import auth, testing
from sirena.runtime import Runtime
from sirena.settings import Settings

ACTUAL_REGION, EXERCISE_REGION, TEST_REGION = "31", "27", "14"

# Views whose default answer must not change when drills are issued. ``{region}`` is the exercise's region.
VIEWS: dict[str, tuple[str, ...]] = {
    "/": ("/", "/#html"),
    "/healthz": ("/healthz",),
    "/api/v1/alerts": ("/api/v1/alerts", "/api/v1/alerts?state=all"),
    "/api/v1/regions/states": ("/api/v1/regions/states",),
    "/api/v1/regions/{region_id}": ("/api/v1/regions/{region}", "/api/v1/regions/UA"),
    "/api/v1/regions/{region_id}/history": ("/api/v1/regions/{region}/history",),
    "/api/v1/stats": ("/api/v1/stats",),
    "/api/v1/export": ("/api/v1/export",),
    "/history": ("/history#html",),
    "/cap/feed.atom": ("/cap/feed.atom",),
    "/compat/alerts-in-ua/v1/alerts/active.json": ("/compat/alerts-in-ua/v1/alerts/active.json",),
    "/compat/alerts-in-ua/v1/regions/{uid}/alerts/{period}.json": (
        "/compat/alerts-in-ua/v1/regions/{region}/alerts/week_ago.json",
    ),
    "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts.json": (
        "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts.json",
    ),
    "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts.json": (
        "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts.json",
    ),
    "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts_by_oblast.json": (
        "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts_by_oblast.json",
    ),
    "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts_by_oblast.json": (
        "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts_by_oblast.json",
    ),
    "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts/{uid}.json": (
        "/compat/alerts-in-ua/v1/iot/active_air_raid_alerts/{region}.json",
    ),
    "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts/{uid}.json": (
        "/compat/alerts-in-ua/v2/iot/active_air_raid_alerts/{region}.json",
    ),
    "/compat/ukrainealarm/api/v3/alerts": ("/compat/ukrainealarm/api/v3/alerts",),
    "/compat/ukrainealarm/api/v3/alerts/status": ("/compat/ukrainealarm/api/v3/alerts/status",),
    "/compat/ukrainealarm/api/v3/alerts/regionHistory": (
        "/compat/ukrainealarm/api/v3/alerts/regionHistory?regionId={region}",
    ),
    "/compat/ukrainealarm/api/v3/alerts/{region_id}": ("/compat/ukrainealarm/api/v3/alerts/{region}",),
    "/api/v1/places/{place_id}/alerts": ("/api/v1/places/{place}/alerts",),
    "/api/v1/advisories": ("/api/v1/advisories",),
    "/api/v1/all-clears": ("/api/v1/all-clears",),
    "/api/v1/reports": ("/api/v1/reports", "/api/v1/reports?active=true"),
}

# Views of one alert, asked by its id: they must say it is an exercise.
ONE_ALERT_VIEWS: dict[str, str] = {
    "/api/v1/alerts/{alert_id}": "/api/v1/alerts/{alert}",
    "/api/v1/alerts/{alert_id}.cap": "/api/v1/alerts/{alert}.cap",
    "/api/v1/alerts/{alert_id}.cap.json": "/api/v1/alerts/{alert}.cap.json",
}

NOT_ALERT_CHANNELS: dict[str, str] = {
    "/openapi.json": "the API description",
    "/docs": "interactive API documentation",
    "/docs/oauth2-redirect": "interactive API documentation",
    "/redoc": "interactive API documentation",
    "/problems/{slug}": "what an error type means",
    "/livez": "whether the node answers",
    "/readyz": "the node's health: database, bus, leases, its last sequence number",
    "/static/{name}": "files of the web pages",
    "/ui/messages/{lang}.json": "texts of the web pages",
    "/ui/regions.json": "region names for the web pages",
    "/console": "the issuer console page (its data comes from the API views above)",
    "/api/v1/regions": "the region tree",
    "/api/v1/regions/outlines.geojson": "region outlines",
    "/api/v1/approvals": "issuers' approval requests (authenticated)",
    "/api/v1/approvals/{approval_id}": "issuers' approval requests (authenticated)",
    "/api/v1/audit": "the audit log (administrators)",
    "/api/v1/audit/verify": "the audit log (administrators)",
    "/api/v1/session": "the console login",
    "/api/v1/webhooks": "webhook registrations (authenticated)",
    "/api/v1/webhooks/{webhook_id}": "webhook registrations (authenticated)",
    "/api/v1/webhooks/{webhook_id}/deliveries": "webhook delivery log (authenticated)",
    "/api/v1/webhooks/{webhook_id}/messages": "webhook delivery log (authenticated)",
    "/api/v1/push/key": "the Web Push public key",
    "/api/v1/push/subscriptions/{subscription_id}": "a push subscription's settings",
    "/compat/ukrainealarm/api/v3/regions": "the region tree",
    "/metrics": "operational counters",
    "/sw.js": "the push service worker's script",
    "/api/v1/places": "a subscriber's registered places",
    "/api/v1/places/{place_id}": "a subscriber's registered place",
    "/api/v1/places/reach/{alert_id}": "how many places an alert reaches (a count, for issuers)",
    "/api/v1/places/{place_id}/shelters": "shelters near a place",
    "/api/v1/shelters": "the shelter list",
    "/api/v1/shelters/imports": "shelter imports",
    "/api/v1/shelters/nearest": "shelters near a point",
    "/api/v1/advisories/{advisory_id}": "one advisory (not an alert), by id",
    "/api/v1/advisories/{advisory_id}.cap": "one advisory (not an alert), by id",
    "/api/v1/advisories/{advisory_id}.cap.json": "one advisory (not an alert), by id",
    "/api/v1/alerts/{alert_id}/all-clear": "the all-clear sent when an alert ended (marked like its alert)",
    "/api/v1/alerts/{alert_id}/all-clear.cap": "the all-clear sent when an alert ended (marked like its alert)",
    "/api/v1/channels": "the audiences of advisories",
    "/api/v1/channels/{channel_id}": "an audience of advisories",
    "/api/v1/channels/{channel_id}/advisories": "a channel's advisories (not alerts; statuses=actual by default)",
    "/api/v1/channels/{channel_id}/feed.atom": "a channel's advisories and all-clears (statuses=actual by default)",
    "/api/v1/coordination": "the private coordination line between issuers (authenticated)",
    "/api/v1/coordination/stream": "the private coordination line between issuers (authenticated)",
    "/api/v1/coordination/{message_id}": "the private coordination line between issuers (authenticated)",
    "/api/v1/coordination/{message_id}.cap": "the private coordination line between issuers (authenticated)",
    "/api/v1/reports/{report_id}": "one situation report, by id",
    "/api/v1/reports/{report_id}.cap": "one situation report, by id",
}

COUNTERS = {"seq", "lastActionIndex", "last_seq"}
"""Keys that count every event (drills included) without saying what happened; not compared (nor the Atom
feed's own ``<updated>``)."""


@dataclass
class Scene:
    runtime: Runtime
    base: str
    admin: dict[str, str]
    client: httpx.AsyncClient
    place: str = "-"
    """A subscriber's place in the exercise's region, where places exist."""

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=self.admin)
        assert response.status_code in {200, 201}, response.text
        result: dict[str, Any] = response.json()
        return result


def routes(app: Any) -> list[tuple[str, str]]:
    """``(kind, path)`` of every GET and WebSocket route, included routers expanded."""

    def walk(items: list[Any], prefix: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for item in items:
            if hasattr(item, "original_router"):
                found += walk(item.original_router.routes, prefix + item.include_context.prefix)
            elif isinstance(item, WebSocketRoute):
                found.append(("ws", prefix + item.path))
            elif isinstance(item, Route) and "GET" in (item.methods or ()):
                found.append(("get", prefix + item.path))
        return found

    return walk(list(app.routes), "")


def normalised(response: httpx.Response) -> Any:
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        return response.status_code, _drop_counters(response.json())
    text = response.text
    if "atom" in kind:  # the feed's own <updated> is the time of the last change of any kind, like ``seq``
        head, entry, rest = text.partition("<entry>")
        text = re.sub(r"<updated>[^<]*</updated>", "<updated/>", head, count=1) + entry + rest
    return response.status_code, text


def _drop_counters(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_counters(v) for k, v in value.items() if k not in COUNTERS}
    if isinstance(value, list):
        return [_drop_counters(v) for v in value]
    return value


async def look(scene: Scene, url: str) -> httpx.Response:
    path, _, how = url.partition("#")
    headers = {**scene.admin, "Accept": "text/html" if how == "html" else "application/json"}
    return await scene.client.get(path.format(region=EXERCISE_REGION, place=scene.place), headers=headers)


# -- live channels: each reader yields the alerts it delivers, in order ----------------------------------------

Reader = Callable[[Scene, str], Any]


@asynccontextmanager
async def sse(scene: Scene, statuses: str) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    query = f"?statuses={statuses}" if statuses else ""
    async with testing.stream(scene.base, f"/api/v1/stream{query}") as reader:
        assert (await reader.next())["event"] == "snapshot"

        async def next_alert() -> dict[str, Any]:
            event = await reader.next(within=10)
            alert: dict[str, Any] = event["data"]["alert"]
            return alert

        yield next_alert


@asynccontextmanager
async def websocket(scene: Scene, statuses: str) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    from websockets.asyncio.client import connect

    query = f"?statuses={statuses}" if statuses else ""
    async with connect(scene.base.replace("http", "ws", 1) + f"/api/v1/ws{query}") as ws:

        async def frame() -> dict[str, Any]:
            while True:
                message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message.get("type") not in {"heartbeat", "pong"}:
                    return message

        assert (await frame())["type"] == "snapshot"

        async def next_alert() -> dict[str, Any]:
            alert: dict[str, Any] = (await frame())["alert"]
            return alert

        yield next_alert


@asynccontextmanager
async def webhook(scene: Scene, statuses: str) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    """A subscription to a receiver on this machine; each delivered event's alert, in order."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"(?i)content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(found.group(1)) if found else 0)
                received.put_nowait(json.loads(body))
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wanted: dict[str, Any] = {"url": f"http://127.0.0.1:{port}/hook"}
    if statuses:
        wanted["statuses"] = statuses.split(",")
    subscribed = await scene.client.post("/api/v1/webhooks", json=wanted, headers=scene.admin)
    assert subscribed.status_code == 201, subscribed.text

    async def next_alert() -> dict[str, Any]:
        alert: dict[str, Any] = (await asyncio.wait_for(received.get(), 10))["alert"]
        return alert

    try:
        yield next_alert
    finally:
        server.close()


@asynccontextmanager
async def mqtt(scene: Scene, statuses: str) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    """The bridge's event topic on the local broker (which statuses it carries is the server's setting)."""
    import aiomqtt

    topic = f"{scene.runtime.settings.mqtt_topic_prefix}/events"
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.subscribe(topic, qos=1)

        async def next_alert() -> dict[str, Any]:
            message = await asyncio.wait_for(anext(client.messages), 10)
            alert: dict[str, Any] = json.loads(bytes(message.payload))["alert"]  # type: ignore[arg-type]
            return alert

        yield next_alert


@dataclass(frozen=True)
class Live:
    """A channel that pushes alerts: how to listen, what shows that it exists, whether a client can opt in."""

    listen: Reader
    needs: str
    """A route of the application, or ``setting:<name>`` for a channel configured by a setting."""
    opt_in: bool = True


LIVE: dict[str, Live] = {
    "/api/v1/stream": Live(sse, "/api/v1/stream"),
    "/api/v1/ws": Live(websocket, "/api/v1/ws"),
    "webhook": Live(webhook, "/api/v1/webhooks"),
    "mqtt": Live(mqtt, "setting:mqtt_url", opt_in=False),
}

SCENE_SETTINGS = {
    "compat_public": True,
    "stream_heartbeat_s": 1,
    "webhook_allow_private": True,
    "webhook_retry_base_s": 0.1,
    "mqtt_url": "mqtt://127.0.0.1:1883",
}
"""Settings that switch every channel on, where the channel exists."""


def scene_settings(folder: Path) -> Any:
    import uuid

    known = {f.name for f in dataclasses.fields(Settings)}
    values = {name: value for name, value in SCENE_SETTINGS.items() if name in known}
    if "mqtt_topic_prefix" in known:
        values["mqtt_topic_prefix"] = f"sirena-test-{uuid.uuid4().hex[:12]}"
    return testing.settings_for(folder, **values)


def live_channels(scene: Scene, present: set[str], opting_in: bool = False) -> dict[str, Live]:
    def exists(live: Live) -> bool:
        if live.needs.startswith("setting:"):
            return bool(getattr(scene.runtime.settings, live.needs.removeprefix("setting:"), None))
        return live.needs in present

    return {name: live for name, live in LIVE.items() if exists(live) and (live.opt_in or not opting_in)}


# -- the scene -------------------------------------------------------------------------------------------------


def marked(texts: dict[str, str], status: str) -> bool:
    marks = {"exercise": ("EXERCISE", "НАВЧАННЯ"), "test": ("TEST", "ТЕСТ")}[status]
    return texts["en"].startswith(marks[0]) and texts["uk"].startswith(marks[1])


async def test_no_path_leaks_an_exercise_as_actual(tmp_path: Path) -> None:
    settings = scene_settings(tmp_path)
    async with testing.running(settings) as rt, testing.serve(rt) as base, httpx.AsyncClient(base_url=base) as client:
        token, _ = await auth.create(rt.store, "scene")
        scene = Scene(rt, base, {"Authorization": f"Bearer {token}"}, client)
        from sirena.web import create_app

        table = routes(create_app(runtime=rt))
        known = set(VIEWS) | set(ONE_ALERT_VIEWS) | {live.needs for live in LIVE.values()} | set(NOT_ALERT_CHANNELS)
        unclassified = sorted(path for _, path in table if path not in known)
        assert unclassified == [], f"classify these outward paths in {__name__}: {unclassified}"
        present = {path for _, path in table}
        if "/api/v1/places" in present:
            scene.place = (await scene.post("/api/v1/places", {"region": EXERCISE_REGION}))["id"]

        earlier = await scene.post("/api/v1/alerts", {"regions": [ACTUAL_REGION], "threats": [{"type": "drones"}]})
        views = [url for path, urls in VIEWS.items() if path in present for url in urls]
        async with AsyncExitStack() as stack:
            quiet = {
                n: await stack.enter_async_context(c.listen(scene, ""))
                for n, c in live_channels(scene, present).items()
            }
            curious = {
                n: await stack.enter_async_context(c.listen(scene, "exercise,test"))
                for n, c in live_channels(scene, present, opting_in=True).items()
            }
            before = {url: normalised(await look(scene, url)) for url in views}

            drill = await scene.post("/api/v1/alerts", {"regions": [EXERCISE_REGION], "status": "exercise"})
            check = await scene.post("/api/v1/alerts", {"regions": [TEST_REGION], "status": "test"})
            patched = await client.patch(f"/api/v1/alerts/{drill['id']}", json={"level": "yellow"}, headers=scene.admin)
            assert patched.status_code == 200

            after = {url: normalised(await look(scene, url)) for url in views}
            changed = sorted(url for url in views if before[url] != after[url])
            assert changed == [], f"these views changed when only drills were issued: {changed}"

            sentinel = await scene.post("/api/v1/alerts", {"regions": [ACTUAL_REGION], "kind": "artillery_shelling"})
            for path, next_alert in quiet.items():
                got = await next_alert()
                if got["id"] == earlier["id"]:  # a channel may still be passing on the alert issued before it listened
                    got = await next_alert()
                assert got["id"] == sentinel["id"], f"{path} delivered {got['status']} alert {got['id']} first"
            for path, next_alert in curious.items():
                seen = [await next_alert() for _ in range(3)]
                assert [(a["id"], a["status"]) for a in seen] == [
                    (drill["id"], "exercise"),
                    (check["id"], "test"),
                    (drill["id"], "exercise"),
                ], path
                assert all(marked(a["headline"], a["status"]) for a in seen), path

        for path, template in ONE_ALERT_VIEWS.items():
            if path not in present:
                continue
            for alert, status in ((drill, "exercise"), (check, "test")):
                response = await client.get(template.format(alert=alert["id"]), headers=scene.admin)
                assert response.status_code == 200, (path, response.text)
                text = response.text
                assert status in text.lower(), path
                assert not re.search(
                    r'"status"\s*:\s*"actual"|<status>Actual</status>|"status"\s*:\s*"Actual"', text
                ), path

        opted = await client.get("/api/v1/alerts?statuses=exercise,test")
        shown = {a["id"]: a for a in opted.json()["alerts"]}
        assert set(shown) == {drill["id"], check["id"]}
        assert marked(shown[drill["id"]]["headline"], "exercise") and marked(shown[check["id"]]["headline"], "test")
