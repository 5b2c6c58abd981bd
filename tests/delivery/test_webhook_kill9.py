"""`kill -9` of a real `sirena serve` while webhooks are being retried: after the restart every pending message
is delivered, in order, and only the at-least-once contract's duplicates (a message retried under its one
`webhook-id`) ever reach the receiver; events written while the server was down are delivered too."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from delivery_helpers import free_port, receiver, verified

pytestmark = pytest.mark.slow


async def sirena(*args: str, env: dict[str, str]) -> str:
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "sirena", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextlib.asynccontextmanager
async def server(env: dict[str, str], port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sirena",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.returncode is None, "server exited during start-up"
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.1)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


async def test_kill_9_during_retries_then_everything_is_delivered_in_order(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SIRENA_DATABASE_URL": f"sqlite:///{tmp_path / 'sirena.db'}",
        "SIRENA_WEBHOOK_ALLOW_PRIVATE": "true",
        "SIRENA_WEBHOOK_RETRY_BASE_S": "0.1",
        "SIRENA_WEBHOOK_RETRY_MAX_S": "0.5",
        "SIRENA_DELIVERY_POLL_S": "0.2",
        "SIRENA_RELAY_POLL_S": "0.2",
    }
    token = await sirena("token", "create", "--name", "kill9", env=env)
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with receiver(status=503) as target:
        async with server(env, port) as proc, httpx.AsyncClient(base_url=base) as client:
            hook = (await client.post("/api/v1/webhooks", json={"url": target.url}, headers=auth)).json()
            issued = [
                (await client.post("/api/v1/alerts", json={"regions": [r]}, headers=auth)).json()["id"]
                for r in ("31", "14", "8", "9")
            ]
            await target.wait_for(lambda: len(target.hits) >= 4)  # the first message, retried
            assert {verified(hook["secret"], h)["alert"]["id"] for h in target.hits} == {issued[0]}
            head_id = target.hits[0].msg_id
            proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 10)
        retried_before = len(target.hits)
        for region in ("12", "4"):  # written while the server is down, by another process
            issued.append(await sirena("issue", "--region", region, env=env))
        target.status = 200
        restarted = time.monotonic()
        async with server(env, port), httpx.AsyncClient(base_url=base) as client:
            await target.wait_for(lambda: len(target.delivered()) == 6, within=60)
            print(
                f"kill -9 after {retried_before} attempts of the first message; after the restart (server start "
                f"included) all 6 messages were delivered in {target.delivered()[-1].at - restarted:.2f} s"
            )
            bodies = [verified(hook["secret"], h) for h in target.delivered()]
            assert [b["alert"]["id"] for b in bodies] == issued  # all, in order, each once
            assert [b["seq"] for b in bodies] == sorted(b["seq"] for b in bodies)
            assert target.delivered()[0].msg_id == head_id  # the same message, retried under its one id
            assert {h.msg_id for h in target.hits[:retried_before]} == {head_id}
            assert len({h.msg_id for h in target.delivered()}) == 6

            async def logged() -> list[dict[str, object]]:
                rows = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=1000", headers=auth)).json()
                return list(rows["deliveries"])

            deadline = time.monotonic() + 10
            while sum(r["state"] == "delivered" and r["status_code"] == 200 for r in await logged()) < 6:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            log = await logged()
            head_attempts = [r for r in log if r["message_id"] == head_id]
            assert max(int(str(r["attempt"])) for r in head_attempts) >= 2
            assert {r["status_code"] for r in head_attempts} >= {503, 200}
