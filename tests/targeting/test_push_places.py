"""Web Push subscriptions with places: a polygon alert reaches a place inside it, not one outside it in the same
region (unless the subscription asked for that region itself); a region alert reaches both. A push service on
loopback records which browser each message went to."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sirena import testing

KYIV_BOX = {
    "type": "Polygon",
    "coordinates": [[[30.40, 50.40], [30.65, 50.40], [30.65, 50.52], [30.40, 50.52], [30.40, 50.40]]],
}


def keys() -> dict[str, str]:
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    encode = base64.urlsafe_b64encode
    return {"p256dh": encode(public).rstrip(b"=").decode(), "auth": encode(os.urandom(16)).rstrip(b"=").decode()}


class PushService:
    """Answers 201 to every message and records the browser (the endpoint's last path segment) it was for."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.got: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.got.append(scope["path"].rsplit("/", 1)[-1])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def until(check: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_polygon_alert_reaches_push_places_inside_it_only(tmp_path: Path) -> None:
    service = PushService()
    config = uvicorn.Config(service, host="127.0.0.1", port=service.port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started)
    overrides = {"push": True, "push_allow_private": True, "delivery_poll_s": 0.2}
    try:
        async with testing.api(tmp_path, **overrides) as api:
            base = f"http://127.0.0.1:{service.port}/push"
            wants: dict[str, dict[str, Any]] = {
                "inside": {"places": [{"lat": 50.45, "lon": 30.52}]},
                "outside": {"places": [{"lat": 50.38, "lon": 30.52}]},  # Kyiv city, south of the box
                "outside-asked-for-kyiv": {"places": [{"lat": 50.38, "lon": 30.52}], "regions": ["31"]},
                "elsewhere": {"places": [{"lat": 49.84, "lon": 24.03}]},  # Lviv
            }
            for name, want in wants.items():
                body = {"subscription": {"endpoint": f"{base}/{name}", "keys": keys()}, **want}
                created = await api.client.post("/api/v1/push/subscriptions", json=body)
                assert created.status_code == 201, created.text
            polygon = await api.client.post("/api/v1/alerts", json={"area": KYIV_BOX}, headers=api.auth)
            assert polygon.status_code == 201, polygon.text
            assert "31" in polygon.json()["partial_regions"] + polygon.json()["regions"]
            await until(lambda: {"inside", "outside-asked-for-kyiv"} <= set(service.got))
            region = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=api.auth)
            assert region.status_code == 201
            await until(lambda: service.got.count("inside") == 2 and "outside" in service.got)
            await until(lambda: service.got.count("outside-asked-for-kyiv") == 2)
            assert service.got.count("outside") == 1  # the region alert only: events go out in order
            assert "elsewhere" not in service.got
    finally:
        server.should_exit = True
        await serving
