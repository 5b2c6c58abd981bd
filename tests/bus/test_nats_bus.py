"""The NATS JetStream bus against a real nats-server: every node hears every event once and in order, whoever
publishes it; gaps are read from the event log; with NATS gone a node still hears its own events, and it finds
its way back by itself when NATS returns."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sirena import domain
from sirena.bus import open_bus
from sirena.bus.nats import NatsBus
from sirena.cluster.testing import NatsServer, delete_stream, free_port, nats_url, unique_name
from sirena.domain import AlertDraft, Event, Target
from sirena.errors import ConfigurationError
from sirena.store import SQLiteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    name = unique_name("sirena_test")
    yield name
    await delete_stream(nats_url(), name)


async def commit(store: SQLiteStore, n: int) -> list[Event]:
    events = []
    for _ in range(n):
        alert_id = unique_name("A")
        draft = AlertDraft(target=Target(regions=("31",)), regions=("31",))
        result = await store.write(alert_id, lambda c, i=alert_id, d=draft: domain.issue(d, alert_id=i, now=T0))
        events.append(result.event)
    return events


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def node(url: str, stream: str, store: SQLiteStore) -> AsyncIterator[tuple[NatsBus, list[int]]]:
    bus = open_bus(url, stream=stream, log=store)
    assert isinstance(bus, NatsBus)
    heard: list[int] = []
    bus.subscribe(lambda e: heard.append(e.seq))
    await bus.start()
    try:
        yield bus, heard
    finally:
        await bus.close()


async def test_every_node_hears_each_event_once_in_order_whoever_publishes_it(store: SQLiteStore, stream: str) -> None:
    async with node(nats_url(), stream, store) as (a, heard_a), node(nats_url(), stream, store) as (b, heard_b):
        await until(lambda: a.connected and b.connected)
        events = await commit(store, 30)
        for event in events:  # both relays publish everything: JetStream keeps one of each
            await a.publish(event)
            await b.publish(event)
        await until(lambda: len(heard_a) >= 30 and len(heard_b) >= 30)
        await asyncio.sleep(0.2)
        assert heard_a == heard_b == [e.seq for e in events]
        info = await _stream_info(stream)
        assert info.state.messages == 30
        assert b.health()["status"] == "ok"


async def test_a_node_that_misses_events_reads_them_from_the_log(store: SQLiteStore, stream: str) -> None:
    async with node(nats_url(), stream, store) as (a, _), node(nats_url(), stream, store) as (b, heard_b):
        await until(lambda: a.connected and b.connected)
        events = await commit(store, 10)
        for event in events[5:]:  # 1-5 were committed but never reached the stream
            await a.publish(event)
        await until(lambda: len(heard_b) >= 10)
        assert heard_b == [e.seq for e in events]
        assert b.sequencer.filled == 5


async def test_without_nats_a_node_still_hears_its_own_events(store: SQLiteStore, stream: str) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    async with node(nowhere, stream, store) as (bus, heard):
        events = await commit(store, 3)
        for event in events:
            await bus.publish(event)
        await until(lambda: len(heard) == 3)
        report = bus.health()
        assert report["status"] == "down"
        assert report["local_only"] == 3


async def test_nats_restarted_nodes_reconnect_by_themselves_and_catch_up(store: SQLiteStore, tmp_path: Path) -> None:
    server = NatsServer(free_port(), str(tmp_path / "nats"))
    server.start()
    try:
        async with node(server.url, "sirena", store) as (a, heard_a), node(server.url, "sirena", store) as (b, heard_b):
            await until(lambda: a.connected and b.connected)
            first = await commit(store, 5)
            for event in first:
                await a.publish(event)
            await until(lambda: len(heard_b) == 5)
            server.stop()
            await until(lambda: not a.connected and not b.connected)
            during = await commit(store, 5)
            for event in during:  # NATS is away: a hears its own events; b will find them in the log
                await a.publish(event)
            await until(lambda: len(heard_a) == 10)
            server.start()
            await until(lambda: a.connected and b.connected, within=20)
            after = await commit(store, 5)
            for event in after:
                await a.publish(event)
            await until(lambda: len(heard_b) == 15)
            everything = [e.seq for e in (*first, *during, *after)]
            assert heard_a == heard_b == everything
    finally:
        server.stop()


def test_stream_names_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        NatsBus(nats_url(), "bad.name", _NoLog())


class _NoLog:
    async def events_after(self, seq: int, limit: int = 1000) -> list[Event]:
        return []

    async def last_seq(self) -> int:
        return 0


async def _stream_info(stream: str) -> Any:
    import nats

    nc = await nats.connect(nats_url())
    try:
        return await nc.jetstream().stream_info(stream)
    finally:
        await nc.close()
