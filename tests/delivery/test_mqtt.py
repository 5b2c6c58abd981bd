"""The MQTT bridge against real Mosquitto brokers: retained region states, events, Home Assistant discovery, and
a broker restarted during alerts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from delivery_helpers import free_port

from sirena import testing
from sirena.domain import AlertDraft, Status, Target, Threat, ThreatType
from sirena.protocol.alert_json import format_time
from sirena.runtime import Runtime
from sirena.web import create_app

MOSQUITTO = "/usr/sbin/mosquitto"


async def retained(port: int, topics: list[str], within: float = 5.0) -> dict[str, Any]:
    """The retained payloads of ``topics`` (JSON-decoded when possible) as a fresh subscriber sees them."""
    found: dict[str, Any] = {}
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"probe-{uuid.uuid4().hex[:8]}") as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                async for message in client.messages:
                    raw = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
                    try:
                        found[str(message.topic)] = json.loads(raw)
                    except ValueError:
                        found[str(message.topic)] = raw.decode()
                    if len(found) == len(topics):
                        break
    return found


async def clear(port: int, *prefixes: str) -> None:
    """Remove the retained messages a test left under ``prefixes`` on a shared broker."""
    topics: set[str] = set()
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"clean-{uuid.uuid4().hex[:8]}") as client:
        for prefix in prefixes:
            await client.subscribe(f"{prefix}/#")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in client.messages:
                    topics.add(str(message.topic))
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"clean-{uuid.uuid4().hex[:8]}") as client:
        client.pending_calls_threshold = 100_000
        await asyncio.gather(*(client.publish(topic, b"", qos=1, retain=True) for topic in topics))


@contextlib.asynccontextmanager
async def bridge(tmp_path: Path, **overrides: Any) -> AsyncIterator[Runtime]:
    settings = testing.settings_for(tmp_path, delivery_poll_s=0.2, **overrides)
    async with testing.running(settings) as rt:
        assert rt.delivery.mqtt is not None
        await asyncio.wait_for(rt.delivery.mqtt.connected.wait(), 20)
        yield rt


async def test_states_events_and_home_assistant_discovery(tmp_path: Path) -> None:
    prefix, ha = f"sirena-test-{uuid.uuid4().hex[:8]}", f"ha-test-{uuid.uuid4().hex[:8]}"
    node = prefix  # letters, digits and dashes: a valid discovery node id as it is
    try:
        async with (
            bridge(
                tmp_path,
                mqtt_url="mqtt://127.0.0.1:1883",
                mqtt_topic_prefix=prefix,
                mqtt_ha_prefix=ha,
                mqtt_ha_regions="31,14",
                mqtt_ha_language="en",
            ) as rt,
            aiomqtt.Client("127.0.0.1", 1883, identifier=f"watch-{uuid.uuid4().hex[:8]}") as watch,
        ):
            await watch.subscribe(f"{prefix}/events", qos=1)
            await watch.subscribe(f"{prefix}/regions/14/state", qos=1)
            await watch.subscribe(f"{ha}/binary_sensor/#", qos=1)
            seen: dict[str, list[Any]] = {}

            async def collect() -> None:
                async for message in watch.messages:
                    seen.setdefault(str(message.topic), []).append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

            collector = asyncio.create_task(collect())
            hromada = rt.registry.children(rt.registry.children("14")[0].id)[0].id
            first = await retained(
                1883, [f"{prefix}/status", f"{prefix}/regions/14/state", f"{prefix}/regions/{hromada}/state"]
            )
            assert first[f"{prefix}/status"] == "online"
            calm = {"state": "calm", "kind": None, "level": None, "threats": [], "since": None, "alerts": []}
            assert first[f"{prefix}/regions/14/state"] == calm
            issued = await rt.service.issue(
                AlertDraft(target=Target(regions=("14",)), threats=(Threat(ThreatType.BALLISTIC_MISSILES),))
            )
            drill = await rt.service.issue(AlertDraft(target=Target(regions=("31",)), status=Status.EXERCISE))
            states = await _eventually(
                lambda: retained(
                    1883,
                    [
                        f"{prefix}/regions/14/state",
                        f"{prefix}/regions/{hromada}/state",
                        f"{prefix}/regions/UA/state",
                        f"{prefix}/regions/31/state",
                    ],
                ),
                lambda s: (  # the regions' states are published one after the other: wait for all three
                    s.get(f"{prefix}/regions/14/state", {}).get("state") == "alert"
                    and s.get(f"{prefix}/regions/{hromada}/state", {}).get("state") == "alert"
                    and s.get(f"{prefix}/regions/UA/state", {}).get("state") == "partly"
                ),
            )
            alert = issued.event.alert
            expected = {
                "state": "alert",
                "kind": "air_raid",
                "level": "red",
                "threats": ["ballistic_missiles"],
                "since": format_time(alert.started_at),
                "alerts": [alert.id],
            }
            assert states[f"{prefix}/regions/14/state"] == expected
            assert states[f"{prefix}/regions/{hromada}/state"] == expected  # a descendant is under alert too
            assert states[f"{prefix}/regions/UA/state"]["state"] == "partly"
            assert states[f"{prefix}/regions/31/state"] == calm  # the exercise is not published
            await rt.service.end(alert.id)
            await _eventually(lambda: asyncio.sleep(0.05, seen), lambda s: len(s.get(f"{prefix}/events", [])) >= 3)
            events = seen[f"{prefix}/events"]
            about = [e["alert"]["id"] if "alert" in e else e["all_clear"]["alert_id"] for e in events]
            assert list(zip([e["type"] for e in events], about, strict=True)) == [
                ("alert.issued", alert.id),
                ("alert.ended", alert.id),
                ("alert.all_clear", alert.id),  # every end sends an all-clear
            ]
            assert drill.event.alert.id not in about
            assert events[0]["seq"] == issued.event.seq
            await _eventually(lambda: asyncio.sleep(0.05, seen), lambda s: s[f"{prefix}/regions/14/state"][-1] == calm)
            config_topic = f"{ha}/binary_sensor/{node}/region_31/config"
            await _eventually(lambda: asyncio.sleep(0.05, seen), lambda s: config_topic in s)
            config = seen[config_topic][0]
            assert config["state_topic"] == config["json_attributes_topic"] == f"{prefix}/regions/31/state"
            assert config["name"] == "Kyiv alert"
            assert config["device_class"] == "safety"
            assert config["availability_topic"] == f"{prefix}/status"
            assert config["unique_id"] == f"{node}_region_31"
            assert "value_json.state == 'alert'" in config["value_template"]
            assert set(seen) >= {f"{ha}/binary_sensor/{node}/region_14/config"}
            async with aiomqtt.Client("127.0.0.1", 1883) as home_assistant:  # HA restarts and says so
                await home_assistant.publish(f"{ha}/status", b"online", qos=1)
            await _eventually(lambda: asyncio.sleep(0.05, seen), lambda s: len(s.get(config_topic, [])) >= 2)
            collector.cancel()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(rt)), base_url="http://t") as http:
                page = (await http.get("/metrics")).text
            assert "sirena_mqtt_connected 1.0" in page
            assert 'sirena_mqtt_messages_published_total{topic="event"} 3.0' in page  # issued, ended, all-clear
    finally:
        await clear(1883, prefix, ha)


def _app(rt: Runtime) -> Any:
    return create_app(runtime=rt)


async def _eventually(read: Any, ok: Any, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if ok(value):
            return value
        assert time.monotonic() < deadline, value
        await asyncio.sleep(0.1)


class Mosquitto:
    """Our own broker on a loopback port, without persistence: a restart loses every retained message."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert self.proc.poll() is None, "mosquitto exited"
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    own = Mosquitto(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.stop()


async def test_broker_restart_during_alerts_leaves_correct_retained_state(tmp_path: Path, broker: Mosquitto) -> None:
    port = broker.port
    topics = ["sirena/status", "sirena/regions/31/state", "sirena/regions/14/state"]
    async with bridge(tmp_path, mqtt_url=f"mqtt://127.0.0.1:{port}", mqtt_reconnect_max_s=0.5) as rt:
        kyiv = await rt.service.issue(AlertDraft(target=Target(regions=("31",))))
        await _eventually(
            lambda: retained(port, topics, within=1), lambda s: s.get(topics[1], {}).get("state") == "alert"
        )
        broker.stop()  # the broker goes away while alerts keep changing
        await rt.service.end(kyiv.event.alert.id)
        oblast = await rt.service.issue(
            AlertDraft(target=Target(regions=("14",)), threats=(Threat(ThreatType.DRONES),))
        )
        await asyncio.sleep(0.5)
        assert rt.delivery.mqtt is not None
        assert not rt.delivery.mqtt.connected.is_set()
        broker.start()  # empty: no retained messages at all
        after = await _eventually(
            lambda: retained(port, topics, within=1),
            lambda s: s.get(topics[1], {}).get("state") == "calm" and s.get(topics[2], {}).get("state") == "alert",
        )
        assert after["sirena/status"] == "online"
        assert after[topics[2]]["alerts"] == [oblast.event.alert.id]
        assert after[topics[2]]["threats"] == ["drones"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(rt)), base_url="http://t") as http:

            async def page() -> str:
                return (await http.get("/metrics")).text

            published = 'sirena_mqtt_messages_published_total{topic="event"} 4.0'  # and the end's all-clear
            text = await _eventually(page, lambda p: published in p)
        assert "sirena_mqtt_connection_failures_total" in text
        assert "sirena_mqtt_connection_failures_total 0.0" not in text
