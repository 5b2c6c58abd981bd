"""Subscriptions with places: a webhook is reached by a polygon alert only through a place inside it (10 m
either side of an edge), by region alerts through its places' regions, and both channels name the nearest
shelters to the place the alert reached (Web Push through the loopback push service of ``test_push``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from delivery_helpers import FAST_RETRIES, post, receiver, serve_asgi, verified
from test_push import Browser, PushService, until

from sirena import testing
from sirena.geo import haversine_m

SOUTH = 50.40
BOX = {
    "type": "Polygon",
    "coordinates": [[[30.40, SOUTH], [30.65, SOUTH], [30.65, 50.52], [30.40, 50.52], [30.40, SOUTH]]],
}
STEP = 10 / 111_195  # degrees of latitude in 10 m
SHELTERS = (
    "id;name;lat;lon\n"
    "1;Метро Либідська;50,4135;30,5246\n"
    "2;Сховище школи;50,4005;30,5300\n"
    "3;Укриття ТЦ;50,4300;30,5400\n"
    "4;Львів, далеко;49,8400;24,0300\n"
)


async def import_shelters(api: testing.Api) -> None:
    report = await api.runtime.shelters.import_file(SHELTERS.encode(), source="city", name="shelters.csv")
    assert report.stored and len(report.shelters) == 4


async def test_a_webhook_place_10_m_inside_a_polygon_gets_it_one_10_m_outside_does_not(tmp_path: Path) -> None:
    inside, outside = (SOUTH + STEP, 30.53), (SOUTH - STEP, 30.53)
    assert 9.9 < haversine_m(inside[0], inside[1], SOUTH, 30.53) < 10.1
    async with testing.api(tmp_path, **FAST_RETRIES) as api:
        await import_shelters(api)
        async with receiver() as near, receiver() as far:
            made = []
            for rx, (lat, lon) in ((near, inside), (far, outside)):
                body = {"url": rx.url, "places": [{"lat": lat, "lon": lon}]}
                made.append(await post(api.client, "/api/v1/webhooks", body, api.auth))
            hook = made[0]
            assert hook["places"] == [{"lat": inside[0], "lon": inside[1]}]
            assert "31" in hook["regions"]  # resolved at subscription: Kyiv (city)
            polygon = await post(api.client, "/api/v1/alerts", {"area": BOX}, api.auth)
            city = await post(api.client, "/api/v1/alerts", {"regions": ["31"]}, api.auth)  # reaches both
            await near.wait_for(lambda: len(near.delivered()) == 2)
            await far.wait_for(lambda: len(far.delivered()) == 1)
            got = [verified(hook["secret"], h) for h in near.delivered()]
            assert [g["alert"]["id"] for g in got] == [polygon["id"], city["id"]]
            nearby = got[0]["nearby"]
            assert nearby["place"] == {"lat": inside[0], "lon": inside[1]}
            assert [s["id"] for s in nearby["shelters"]] == ["city:2", "city:1", "city:3"]
            first = nearby["shelters"][0]
            assert (first["name"], first["lat"], first["lon"]) == ("Сховище школи", 50.4005, 30.53)
            assert first["distance_m"] == round(haversine_m(inside[0], inside[1], 50.4005, 30.53))
            assert nearby["url"].startswith("/api/v1/shelters/nearest?lat=50.400")
            listed = (await api.client.get(nearby["url"], headers=api.auth)).json()["shelters"]
            assert [s["id"] for s in listed] == ["city:2", "city:1", "city:3"]
            far_got = [verified(made[1]["secret"], h) for h in far.delivered()]
            assert [g["alert"]["id"] for g in far_got] == [city["id"]]  # the polygon never reached it
            assert set(far_got[0]) == {"seq", "type", "alert", "nearby"}


async def test_a_push_place_gets_a_notification_naming_its_nearest_shelters(tmp_path: Path) -> None:
    browsers = {n: Browser(n) for n in ("placed", "regions-only")}
    service = PushService(browsers)
    server, serving = await serve_asgi(service.app, service.port)
    overrides = {"push": True, "push_allow_private": True, "delivery_poll_s": 0.2}
    try:
        async with testing.api(tmp_path, **overrides) as api:
            await import_shelters(api)
            subscribe = "/api/v1/push/subscriptions"
            bodies: dict[str, dict[str, Any]] = {
                "placed": {"places": [{"lat": 49.0, "lon": 24.0}, {"lat": 50.4010, "lon": 30.5300}], "lang": "en"},
                "regions-only": {"regions": ["31"]},
            }
            for name, extra in bodies.items():
                made = await api.client.post(
                    subscribe, json={"subscription": browsers[name].subscription(service.base), **extra}
                )
                assert made.status_code == 201, made.text
            issued = (await api.client.post("/api/v1/alerts", json={"area": BOX}, headers=api.auth)).json()
            await until(lambda: {n for n, _, _ in service.got} == {"placed", "regions-only"})
            payloads = {n: p for n, _, p in service.got}
            placed = payloads["placed"]
            assert placed["alert_id"] == issued["id"]
            nearby = placed["nearby"]
            assert nearby["place"] == {"lat": 50.401, "lon": 30.53}  # the place inside the polygon, not the first
            assert nearby["shelters"][0] == {
                "id": "city:2",
                "name": "Сховище школи",
                "lat": 50.4005,
                "lon": 30.53,
                "distance_m": round(haversine_m(50.401, 30.53, 50.4005, 30.53)),
            }
            assert len(nearby["shelters"]) == 3
            assert placed["body"].endswith("\nNearest shelter: Сховище школи, 56 m")  # the line the phone shows
            assert nearby["url"] == "/api/v1/shelters/nearest?lat=50.401000&lon=30.530000&limit=3"
            assert "nearby" not in payloads["regions-only"]  # no place: nothing to be near
    finally:
        server.should_exit = True
        await serving
