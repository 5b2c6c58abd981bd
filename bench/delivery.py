"""Delivery: alert issued through the API → received by an SSE client, a WebSocket client, a webhook receiver and
an MQTT subscriber (p50/p99), and webhooks delivered per second to a loopback receiver with keep-alive.

The server (``sirena serve``) runs in its own process; the clients, the receiver and the MQTT subscriber (the
local Mosquitto on 1883) run in this one. Latency is from just before the issuing request is sent to the moment
this process reads the alert from each channel; the baseline is the issuing request's own round trip. Webhook
throughput is counted at the receiver, from the first delivery to the last, against the same receiver fed by a
plain HTTP client (``_sender.py``, httpx, keep-alive, as many requests in flight as Sirena's dispatcher); either is counted for at
most 15 s after its first delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench._receiver import Receiver
from bench.fanout import PY, free_port, percentile, process, sirena_env, sirena_token, wait_port
from sirena.delivery import new_secret

HERE = Path(__file__).resolve().parent
ISSUES = int(os.environ.get("SIRENA_BENCH_E2E_ISSUES", "100"))
HOOKS = 64
HOOK_ALERTS = int(os.environ.get("SIRENA_BENCH_HOOK_ALERTS", "120"))
WINDOW_S = 15.0
"""Webhook throughput is counted over at most this long after the first delivery."""
OBLASTS = ["31", "14", "8", "9", "4", "27", "22", "12", "18", "5"]
MQTT_URL = os.environ.get("SIRENA_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")


@contextlib.asynccontextmanager
async def server(folder: Path, **extra: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = sirena_env(folder, SIRENA_WEBHOOK_ALLOW_PRIVATE="true", SIRENA_WS_HELLO_S="0", **extra)
    headers = {"Authorization": f"Bearer {sirena_token(env)}"}
    with process([PY, "-m", "sirena", "serve", "--port", str(port)], env=env) as proc:
        await asyncio.to_thread(wait_port, port, proc)
        yield f"http://127.0.0.1:{port}", headers


class Channels:
    """When each alert (by id) reached each channel, by ``time.perf_counter()``."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, float]] = {"SSE": {}, "WebSocket": {}, "webhook": {}, "MQTT": {}}
        self.changed = asyncio.Event()

    def mark(self, channel: str, body: bytes | str) -> None:
        now = time.perf_counter()
        try:
            alert_id = json.loads(body)["alert"]["id"]
        except (ValueError, KeyError, TypeError):
            return
        self.seen[channel].setdefault(alert_id, now)
        self.changed.set()

    async def wait_all(self, alert_id: str, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not all(alert_id in seen for seen in self.seen.values()):
                self.changed.clear()
                await self.changed.wait()


async def sse_reader(base: str, channels: Channels) -> None:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    buffer = b""
    try:
        while data := await reader.read(65536):
            buffer += data
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        channels.mark("SSE", line[6:])
    finally:
        writer.close()


async def ws_reader(base: str, channels: Channels) -> None:
    async with connect(base.replace("http://", "ws://") + "/api/v1/ws") as ws:
        async for message in ws:
            channels.mark("WebSocket", message)


async def mqtt_reader(topic: str, channels: Channels, ready: asyncio.Event) -> None:
    import aiomqtt

    host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
    async with aiomqtt.Client(host, int(port or 1883)) as client:
        await client.subscribe(topic, qos=1)
        ready.set()
        async for message in client.messages:
            if isinstance(message.payload, bytes | str):
                channels.mark("MQTT", message.payload)


async def end_to_end(folder: Path) -> dict[str, list[float]]:
    prefix = f"sirena-bench-{uuid.uuid4().hex[:8]}"
    channels = Channels()
    receiver = Receiver()
    receiver.keep_ids = True
    hook_port = await receiver.start()
    times: dict[str, list[float]] = {name: [] for name in [*channels.seen, "API"]}
    mqtt = {"SIRENA_MQTT_URL": MQTT_URL, "SIRENA_MQTT_TOPIC_PREFIX": prefix}
    async with server(folder, **mqtt) as (base, headers), httpx.AsyncClient(base_url=base, timeout=30) as http:
        created = await http.post(
            "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{hook_port}/hook"}, headers=headers
        )
        created.raise_for_status()
        receiver.expect("/hook", created.json()["secret"])
        mqtt_ready = asyncio.Event()
        readers = [
            asyncio.create_task(sse_reader(base, channels)),
            asyncio.create_task(ws_reader(base, channels)),
            asyncio.create_task(mqtt_reader(f"{prefix}/events", channels, mqtt_ready)),
        ]
        original = receiver.arrived

        def hook(body: bytes) -> None:
            original(body)
            channels.mark("webhook", body)

        receiver.arrived = hook  # type: ignore[method-assign]
        try:
            await asyncio.wait_for(mqtt_ready.wait(), 10)
            await asyncio.sleep(1.0)  # every reader connected and past its snapshot
            for i in range(ISSUES + 5):
                body = {"regions": ["31" if i % 2 else "14"], "threats": [{"type": "drones"}]}
                started = time.perf_counter()
                response = await http.post("/api/v1/alerts", json=body, headers=headers)
                answered = time.perf_counter()
                response.raise_for_status()
                alert_id = response.json()["id"]
                await channels.wait_all(alert_id)
                if i >= 5:  # the first few warm the server up
                    times["API"].append((answered - started) * 1000)
                    for name, seen in channels.seen.items():
                        times[name].append((seen[alert_id] - started) * 1000)
                await asyncio.sleep(0.05)
        finally:
            for task in readers:
                task.cancel()
            for task in readers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await receiver.stop()
    return times


async def webhook_rate(folder: Path) -> float:
    receiver = Receiver()
    port = await receiver.start()
    async with server(folder, SIRENA_WEBHOOK_CONCURRENCY=str(HOOKS)) as (base, headers):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for i in range(HOOKS):
                made = await http.post(
                    "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/{i}"}, headers=headers
                )
                made.raise_for_status()
                receiver.expect(f"/{i}", made.json()["secret"])
            semaphore = asyncio.Semaphore(8)

            async def issue(i: int) -> None:
                async with semaphore:
                    response = await http.post(
                        "/api/v1/alerts", json={"regions": [OBLASTS[i % len(OBLASTS)]]}, headers=headers
                    )
                    response.raise_for_status()

            await asyncio.gather(*(issue(i) for i in range(HOOK_ALERTS)))
        await until_done(receiver, HOOKS * HOOK_ALERTS)
    await receiver.stop()
    return receiver.count / (receiver.last - receiver.first)


async def until_done(receiver: Receiver, total: int) -> None:
    """Until ``total`` requests arrived, or ``WINDOW_S`` after the first one (a bounded run)."""
    async with asyncio.timeout(WINDOW_S + 60):
        while receiver.count < total and not (receiver.first and time.perf_counter() - receiver.first > WINDOW_S):
            receiver.changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await receiver.changed.wait()


async def sender_rate() -> float:
    receiver = Receiver()
    port = await receiver.start()
    total = HOOKS * HOOK_ALERTS
    secret = new_secret()
    receiver.expect("/hook", secret)
    sender = await asyncio.create_subprocess_exec(
        PY, str(HERE / "_sender.py"), f"http://127.0.0.1:{port}/hook", str(total), str(HOOKS), secret
    )
    await until_done(receiver, total)
    sender.kill()
    await sender.wait()
    await receiver.stop()
    return receiver.count / (receiver.last - receiver.first)


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "e2e").mkdir()
        (folder / "hooks").mkdir()
        times = asyncio.run(end_to_end(folder / "e2e"))
        rate = asyncio.run(webhook_rate(folder / "hooks"))
        baseline = asyncio.run(sender_rate())
    api = sorted(times["API"])
    rows: list[dict[str, Any]] = []
    for channel in ("SSE", "WebSocket", "webhook", "MQTT"):
        ordered = sorted(times[channel])
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            value = statistics.median(ordered) if q == 0.5 else percentile(ordered, q)
            base = statistics.median(api) if q == 0.5 else percentile(api, q)
            rows.append(
                {
                    "name": f"issue → delivered, {channel}, {label}",
                    "figure": value,
                    "unit": "ms",
                    "baseline": base,
                    "baseline_name": f"the issuing API call's own round trip, {label}",
                    "ratio": value / base if base else None,
                    "target": "≤ 20 ms" if channel == "SSE" and label == "p99" else "",
                }
            )
    rows.append(
        {
            "name": f"webhooks delivered per second ({HOOKS} endpoints, up to {HOOKS * HOOK_ALERTS:,} messages)",
            "figure": rate,
            "unit": "/s",
            "baseline": baseline,
            "baseline_name": f"httpx client posting to the same receiver, {HOOKS} in flight, keep-alive",
            "ratio": rate / baseline,
            "target": "≥ 5,000 /s",
        }
    )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    for result in run():
        print(result)
