"""Web Push end to end: a push service on loopback receives each message and decrypts it with the browser's keys
(RFC 8291, written out here from the RFC, independently of the sending library), checks the VAPID signature
(RFC 8292), and answers 201, or 410 for an expired subscription, which Sirena then forgets."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from delivery_helpers import free_port, serve_asgi
from py_vapid import Vapid02

from sirena import testing


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass
class Browser:
    """A browser's push subscription: its own P-256 key pair and auth secret."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self, base: str) -> dict[str, Any]:
        return {"endpoint": f"{base}/{self.name}", "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 and RFC 8188 §2: one aes128gcm record."""
        salt, record_size, id_len = body[:16], struct.unpack("!I", body[16:20])[0], body[20]
        sender = body[21 : 21 + id_len]
        ciphertext = body[21 + id_len :]
        assert len(ciphertext) <= record_size
        shared = self.key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender))
        ikm = hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + sender, 32)
        cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        unpadded = padded.rstrip(b"\x00")
        assert unpadded.endswith(b"\x02"), "last record delimiter"
        return unpadded[:-1]


@dataclass
class PushService:
    browsers: dict[str, Browser]
    gone: set[str] = field(default_factory=set)
    port: int = field(default_factory=free_port)
    got: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/push"

    async def app(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        name = scope["path"].rsplit("/", 1)[-1]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if name in self.gone:
            status = 410
        else:
            assert Vapid02.verify(headers["authorization"]), "VAPID signature"
            payload = json.loads(self.browsers[name].decrypt(body))
            self.got.append((name, headers, payload))
            status = 201
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_encrypted_round_trip_filters_and_expired_subscriptions(tmp_path: Path) -> None:
    browsers = {n: Browser(n) for n in ("kyiv-oblast", "kyiv-place", "expired")}
    service = PushService(browsers, gone={"expired"})
    server, serving = await serve_asgi(service.app, service.port)
    overrides = {
        "push": True,
        "push_allow_private": True,
        "delivery_poll_s": 0.2,
        "push_contact": "mailto:ops@sirena.test",
    }
    try:
        async with testing.api(tmp_path, **overrides) as api:
            key = (await api.client.get("/api/v1/push/key")).json()["public_key"]
            assert unb64url(key)[0] == 4 and len(unb64url(key)) == 65
            subscribe = "/api/v1/push/subscriptions"
            oblast = await api.client.post(
                subscribe, json={"subscription": browsers["kyiv-oblast"].subscription(service.base), "regions": ["14"]}
            )
            assert oblast.status_code == 201, oblast.text
            place = await api.client.post(
                subscribe,
                json={
                    "subscription": browsers["kyiv-place"].subscription(service.base),
                    "places": [{"lat": 50.4501, "lon": 30.5234}],  # Maidan Nezalezhnosti, Kyiv city
                    "lang": "en",
                },
            )
            assert place.status_code == 201, place.text
            assert "31" in place.json()["regions"]
            expired = await api.client.post(
                subscribe, json={"subscription": browsers["expired"].subscription(service.base)}
            )
            again = await api.client.post(
                subscribe, json={"subscription": browsers["kyiv-oblast"].subscription(service.base), "regions": ["14"]}
            )
            assert (again.status_code, again.json()["id"]) == (200, oblast.json()["id"])  # same endpoint: replaced

            token = api.auth
            issued = (
                await api.client.post(
                    "/api/v1/alerts", json={"regions": ["14"], "threats": [{"type": "drones"}]}, headers=token
                )
            ).json()
            await until(lambda: any(n == "kyiv-oblast" for n, _, _ in service.got))
            await until_async(lambda: gone(api, expired.json()["id"]))
            name, headers, payload = service.got[0]
            assert name == "kyiv-oblast"
            assert payload["alert_id"] == issued["id"]
            assert (payload["type"], payload["level"], payload["threats"]) == ("alert.issued", "red", ["drones"])
            assert payload["title"] == "Повітряна тривога"
            assert "Київська" in payload["body"]
            assert headers["content-encoding"] == "aes128gcm"
            assert headers["urgency"] == "high"
            assert headers["topic"] == issued["id"]
            assert int(headers["ttl"]) == 3600
            claims = json.loads(unb64url(headers["authorization"].split("t=")[1].split(",")[0].split(".")[1]))
            assert claims["aud"] == f"http://127.0.0.1:{service.port}"
            assert claims["sub"] == "mailto:ops@sirena.test"
            assert headers["authorization"].endswith("k=" + key)

            city = (await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=token)).json()
            await api.client.post(f"/api/v1/alerts/{city['id']}/end", headers=token)
            await until(lambda: sum(n == "kyiv-place" for n, _, _ in service.got) == 2)
            for_place = [p for n, _, p in service.got if n == "kyiv-place"]
            # the end and its all-clear make one notification, which replaces the alert's on the device
            assert [p["type"] for p in for_place] == ["alert.issued", "alert.all_clear"]
            assert for_place[1]["title"] == "All clear: Air-raid alert"
            assert for_place[1]["tag"] == for_place[0]["tag"] == city["id"]
            assert "The danger is over" in for_place[1]["body"]
            assert sum(n == "kyiv-oblast" for n, _, _ in service.got) == 1  # Kyiv city is not in Kyiv oblast
            metrics = (await api.client.get("/metrics")).text
            assert "sirena_push_sent_total 3.0" in metrics
            assert "sirena_push_expired_subscriptions_total 1.0" in metrics
            assert "sirena_push_subscriptions 2.0" in metrics
        async with testing.api(tmp_path, **overrides) as again_api:  # restarted: the same VAPID keys
            assert (await again_api.client.get("/api/v1/push/key")).json()["public_key"] == key
    finally:
        server.should_exit = True
        await serving


async def gone(api: testing.Api, sub_id: str) -> bool:
    return bool((await api.client.get(f"/api/v1/push/subscriptions/{sub_id}")).status_code == 404)


async def until(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def until_async(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_subscriptions_are_validated(tmp_path: Path) -> None:
    browser = Browser("b")
    good = browser.subscription("https://93.184.215.14/w")  # a public address: no DNS needed
    async with testing.api(tmp_path, push=True) as api:
        path = "/api/v1/push/subscriptions"
        bad_key = {**good, "keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": good["keys"]["auth"]}}
        short_auth = {**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": b64url(b"1234")}}
        cases = [
            ({"subscription": bad_key}, "subscription.keys.p256dh"),
            ({"subscription": short_auth}, "subscription.keys.auth"),
            ({"subscription": {**good, "endpoint": "http://127.0.0.1:9/x"}}, "subscription.endpoint"),
            ({"subscription": good, "regions": ["99999"]}, "regions"),
            ({"subscription": good, "places": [{"lat": 0.0, "lon": 0.0}]}, "places.0"),
        ]
        for body, field_name in cases:
            response = await api.client.post(path, json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["field"] == field_name
        created = await api.client.post(path, json={"subscription": good, "statuses": ["all"]})
        assert created.status_code == 201
        assert created.json()["statuses"] == ["actual", "exercise", "test"]
        assert (await api.client.delete(f"{path}/{created.json()['id']}")).status_code == 204
        assert (await api.client.delete(f"{path}/{created.json()['id']}")).json()[
            "type"
        ] == "/problems/push-subscription-not-found"
    async with testing.api(tmp_path / "off") as api:
        assert (await api.client.get("/api/v1/push/key")).json()["type"] == "/problems/channel-disabled"
