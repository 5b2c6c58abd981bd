"""Web Push with channels: a browser subscribed to an embassy's channel is pushed its advisory (and the all-clear),
a browser without the channel is not; payloads decrypted as a browser would (RFC 8291, aes128gcm)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import http_ece
from advisories_support import Receiver, receiver, site, until
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """A browser's push keys, and what it makes of what its push service received."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)}}

    def read(self, service: Receiver) -> list[dict[str, Any]]:
        """Every notification its push service received, decrypted, in order."""
        out = []
        for headers, body in service.bodies:
            assert headers["content-encoding"] == "aes128gcm"
            plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
            out.append(json.loads(plain))
        return out


async def test_channel_advisories_are_pushed_to_the_channels_browsers_only(tmp_path: Path) -> None:
    overrides = {"push": True, "push_allow_private": True, "push_contact": "mailto:ops@sirena.test"}
    citizen, neighbour = Browser(), Browser()
    async with receiver() as citizens_service, receiver() as neighbours_service, site(tmp_path, **overrides) as s:
        await s.post("/api/v1/channels", {"id": "embassy-ca-kyiv", "name": "Embassy", "languages": ["en", "uk"]})
        embassy = await s.user("embassy-ca", "operator", channels=("embassy-ca-kyiv",))
        subscribe = "/api/v1/push/subscriptions"
        mine = await s.post(
            subscribe,
            {"subscription": citizen.subscription(citizens_service.url), "channels": ["embassy-ca-kyiv"], "lang": "en"},
            headers={},
        )
        assert mine["channels"] == ["embassy-ca-kyiv"]
        await s.post(subscribe, {"subscription": neighbour.subscription(neighbours_service.url)}, headers={})

        await s.post(
            "/api/v1/advisories",
            {
                "channel": "embassy-ca-kyiv",
                "type": "shelter_readiness",
                "regions": ["31"],
                "headline": {"en": "Be ready to shelter tonight", "uk": "Будьте готові до укриття вночі"},
                "text": {"en": "Stay near a shelter.", "uk": "Тримайтеся поблизу укриття."},
            },
            embassy,
        )
        alert = await s.post("/api/v1/alerts", {"regions": ["31"]})
        await s.post(f"/api/v1/alerts/{alert['id']}/end", {"all_clear": True}, status=200)

        # the end and its all-clear arrive as one notification: the all-clear
        await until(lambda: len(citizens_service.bodies) == 3 and len(neighbours_service.bodies) == 2)
        got = citizen.read(citizens_service)
        assert [p["type"] for p in got] == ["advisory.issued", "alert.issued", "alert.all_clear"]
        assert (got[0]["title"], got[0]["channel"]) == ("Be ready to shelter tonight", "embassy-ca-kyiv")
        assert got[0]["body"] == "Kyiv · Stay near a shelter."
        assert citizens_service.bodies[0][0]["urgency"] == "high"  # a severe advisory, actual
        assert got[2]["title"] == "All clear: Air-raid alert"
        assert got[2]["tag"] == got[1]["tag"] == alert["id"]  # it replaces the alert's notification
        seen = neighbour.read(neighbours_service)
        assert [p["type"] for p in seen] == ["alert.issued", "alert.all_clear"]
