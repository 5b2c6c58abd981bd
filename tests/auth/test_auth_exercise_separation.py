"""Exercises and tests never reach anyone as actual.

One scene, every outward path: a real server holds an actual alert; then an exercise and a test are issued and
updated. Every public view, asked with its defaults, must look exactly as it did before (the drills are not
there at all); views of one alert must mark it as an exercise; live channels (SSE, WebSocket) must deliver the
next actual alert and nothing before it; clients that opt in get the drill, marked EXERCISE/НАВЧАННЯ.

The test walks the application's own route table, so a new outward path cannot be forgotten: every GET or
WebSocket route must be either probed here (``VIEWS``, ``ONE_ALERT_VIEWS``, ``LIVE``) or named in
``NOT_ALERT_CHANNELS`` with the reason it carries no alerts. Adding a channel means adding its path to one of
those tables (and, for a pushed channel, a reader to ``LIVE``).
"""

from __future__ import annotations

import asyncio
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
    return await scene.client.get(path.format(region=EXERCISE_REGION), headers=headers)


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


LIVE: dict[str, Reader] = {"/api/v1/stream": sse, "/api/v1/ws": websocket}


# -- the scene -------------------------------------------------------------------------------------------------


def marked(texts: dict[str, str], status: str) -> bool:
    marks = {"exercise": ("EXERCISE", "НАВЧАННЯ"), "test": ("TEST", "ТЕСТ")}[status]
    return texts["en"].startswith(marks[0]) and texts["uk"].startswith(marks[1])


async def test_no_path_leaks_an_exercise_as_actual(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, compat_public=True, stream_heartbeat_s=1)
    async with testing.running(settings) as rt, testing.serve(rt) as base, httpx.AsyncClient(base_url=base) as client:
        token, _ = await auth.create(rt.store, "scene")
        scene = Scene(rt, base, {"Authorization": f"Bearer {token}"}, client)
        from sirena.web import create_app

        table = routes(create_app(runtime=rt))
        known = set(VIEWS) | set(ONE_ALERT_VIEWS) | set(LIVE) | set(NOT_ALERT_CHANNELS)
        unclassified = sorted(path for _, path in table if path not in known)
        assert unclassified == [], f"classify these outward paths in {__name__}: {unclassified}"
        present = {path for _, path in table}

        await scene.post("/api/v1/alerts", {"regions": [ACTUAL_REGION], "threats": [{"type": "drones"}]})
        views = [url for path, urls in VIEWS.items() if path in present for url in urls]
        async with AsyncExitStack() as stack:
            quiet = {p: await stack.enter_async_context(LIVE[p](scene, "")) for p in LIVE if p in present}
            curious = {
                p: await stack.enter_async_context(LIVE[p](scene, "exercise,test")) for p in LIVE if p in present
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
