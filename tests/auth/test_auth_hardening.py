"""HTTP hardening: rate limits on writes and logins (never on reads or streams), security headers on HTML,
CORS off by default, request size limits."""

from __future__ import annotations

from pathlib import Path

import httpx
from authworld import World, assert_problem, world_at

from sirena import testing
from sirena.auth.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_bursts_then_the_average_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=3, clock=clock)  # one a second on average
    assert [limiter.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("a") == 1.0  # wait a second for the next one
    assert limiter.hit("b") == 0.0  # keys are independent
    clock.now = 2.5
    assert [limiter.hit("a") == 0.0 for _ in range(3)] == [True, True, False]
    assert not RateLimiter(0).enabled and RateLimiter(0).hit("x") == 0.0


def test_token_bucket_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=2, clock=clock, max_keys=100)
    for i in range(1000):
        clock.now += 0.001
        limiter.hit(f"key-{i}")
    assert len(limiter) <= 100


async def test_writes_are_limited_per_token(tmp_path: Path) -> None:
    async with world_at(tmp_path, rate_limit_writes=6, rate_limit_writes_ip=0) as world:  # burst of 5
        ops = await world.user("ops", "operator", scopes=("UA",))
        statuses = [(await world.issue(ops, status="test")).status_code for _ in range(6)]
        assert statuses == [201] * 5 + [429]
        limited = await world.issue(ops, status="test")
        body = assert_problem(limited, 429, "rate-limited")
        assert int(limited.headers["retry-after"]) == body["retry_after"] >= 1
        assert (await world.issue(world.admin, status="test")).status_code == 201  # another token is not slowed
        # reads are never limited
        for _ in range(30):
            assert (await world.client.get("/api/v1/alerts", headers=ops)).status_code == 200


async def test_writes_are_limited_per_address_and_logins_per_address(tmp_path: Path) -> None:
    async with world_at(tmp_path, rate_limit_writes_ip=6, rate_limit_logins=6) as world:
        tokens = [await world.user(f"ops{i}", "operator", scopes=("UA",)) for i in range(6)]
        statuses = [(await world.issue(t, status="test")).status_code for t in tokens]
        assert statuses == [201] * 5 + [429]  # different tokens, one address
        logins = [
            (await world.client.post("/api/v1/session", json={"name": "x", "password": "guess"})).status_code
            for _ in range(6)
        ]
        assert logins == [401] * 5 + [429]


async def test_open_streams_are_never_limited(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, rate_limit_writes_ip=1, rate_limit_writes=1, stream_heartbeat_s=0.2)
    async with testing.running(settings) as rt, testing.serve(rt) as base:
        readers = []
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(20):
                readers.append(client.stream("GET", "/api/v1/stream"))
            responses = [await r.__aenter__() for r in readers]
            try:
                assert [r.status_code for r in responses] == [200] * 20
            finally:
                for reader in readers:
                    await reader.__aexit__(None, None, None)


async def test_html_gets_security_headers_and_json_stays_plain(world: World) -> None:
    page = await world.client.get("/", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    docs = await world.client.get("/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    data = await world.client.get("/api/v1/alerts")
    assert data.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in data.headers


async def test_cors_is_off_unless_origins_are_configured(tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    async with world_at(tmp_path / "default") as world:
        answer = await world.client.options("/api/v1/alerts", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
        read = await world.client.get("/api/v1/alerts", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in read.headers
    async with world_at(tmp_path / "open", cors_origins="https://map.example") as world:
        allowed = await world.client.get("/api/v1/alerts", headers={"Origin": "https://map.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://map.example"
        assert "access-control-allow-credentials" not in allowed.headers  # cookies never cross origins
        other = await world.client.get("/api/v1/alerts", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_oversized_bodies_are_refused(tmp_path: Path) -> None:
    async with world_at(tmp_path, max_body_bytes=2048) as world:
        big = {"regions": ["31"], "instruction": {"en": "x" * 4000}}
        assert_problem(await world.client.post("/api/v1/alerts", json=big, headers=world.admin), 413)
        login = {"name": "a", "password": "p" * 4000}
        assert_problem(await world.client.post("/api/v1/session", json=login), 413)
