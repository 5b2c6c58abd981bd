"""A real `sirena serve` process, killed with SIGKILL and started again, loses nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sirena.cluster.testing import free_port
from sirena.testing import stream

pytestmark = pytest.mark.slow


def sirena(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "sirena", *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextlib.contextmanager
def server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sirena", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "server exited during start-up"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


async def test_kill_9_then_restart_keeps_alerts_and_resume_gets_exactly_the_missed_events(tmp_path: Path) -> None:
    env = {**os.environ, "SIRENA_DATABASE_URL": f"sqlite:///{tmp_path / 'sirena.db'}"}
    token = sirena("token", "create", "--name", "durability", env=env)
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(env, port) as proc:
        async with httpx.AsyncClient(base_url=base) as client, stream(base) as reader:
            await reader.next()  # snapshot
            first = (await client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=auth)).json()
            assert (await reader.next())["data"]["alert"]["id"] == first["id"]
            last_seen = reader.last_id
        async with httpx.AsyncClient(base_url=base) as client:
            missed = [
                (await client.post("/api/v1/alerts", json={"regions": [r]}, headers=auth)).json() for r in ("14", "22")
            ]
            ended = (await client.post(f"/api/v1/alerts/{missed[1]['id']}/end", headers=auth)).json()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with server(env, port):
        async with httpx.AsyncClient(base_url=base) as client:
            still = (await client.get(f"/api/v1/alerts/{first['id']}")).json()
            assert still["state"] == "active"
            active = (await client.get("/api/v1/alerts?state=active")).json()["alerts"]
            assert {a["id"] for a in active} == {first["id"], missed[0]["id"]}
        async with stream(base, headers={"Last-Event-ID": str(last_seen)}) as resumed:
            got = [await resumed.next() for _ in range(4)]
            assert [g["event"] for g in got] == ["alert.issued", "alert.issued", "alert.ended", "alert.all_clear"]
            assert [g["data"]["alert"]["id"] for g in got[:3]] == [missed[0]["id"], missed[1]["id"], ended["id"]]
            assert got[3]["data"]["all_clear"]["alert_id"] == ended["id"]
            async with httpx.AsyncClient(base_url=base) as client:
                after = (await client.post("/api/v1/alerts", json={"regions": ["4"]}, headers=auth)).json()
            nxt = await resumed.next()
            assert nxt["data"]["alert"]["id"] == after["id"]  # nothing else came in between
            assert int(nxt["id"]) == int(got[-1]["id"]) + 1
