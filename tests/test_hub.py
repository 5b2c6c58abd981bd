"""Fan-out hub: filters, order, and slow-client isolation."""

from __future__ import annotations

import asyncio
import gc
import socket
from datetime import UTC, datetime

import pytest

from sirena import domain
from sirena.domain import AlertDraft, Event, Status, Target
from sirena.regions import load_builtin
from sirena.stream import EventFilter, Hub

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def event(seq: int, regions: tuple[str, ...] = ("31",), status: Status = Status.ACTUAL) -> Event:
    alert, kind = domain.issue(
        AlertDraft(target=Target(regions=regions), regions=regions, status=status), alert_id=f"A{seq}", now=T0
    )
    return Event(seq, kind, alert, T0)


def test_a_slow_client_is_cut_off_and_others_get_everything() -> None:
    ua = load_builtin("ua")
    hub = Hub(queue_size=5)
    slow = hub.subscribe(EventFilter.build(ua))
    fast = hub.subscribe(EventFilter.build(ua))
    received = []
    for seq in range(1, 21):
        hub.publish(event(seq))
        while not fast.queue.empty():
            item = fast.queue.get_nowait()
            assert item is not None
            received.append(item[0].seq)
    assert received == list(range(1, 21))
    assert slow.cut_off
    assert slow not in hub.clients
    items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert [i[0].seq for i in items if i is not None] == [1, 2, 3, 4, 5]
    assert items[-1] is None  # the end marker: reconnect and resume
    assert hub.stats.dropped_clients == 1


def test_filters_pick_statuses_and_related_regions() -> None:
    ua = load_builtin("ua")
    raion = ua.children("14")[0].id
    flt = EventFilter.build(ua, [raion], [Status.ACTUAL])
    assert flt.matches(event(1, ("14",)).alert)  # its oblast
    assert flt.matches(event(2, ("UA",)).alert)  # the whole country
    assert flt.matches(event(3, (ua.children(raion)[0].id,)).alert)  # one of its hromadas
    assert not flt.matches(event(4, ("31",)).alert)
    assert not flt.matches(event(5, ("14",), Status.EXERCISE).alert)
    assert EventFilter.build(ua, None, [Status.TEST]).matches(event(6, ("31",), Status.TEST).alert)


def test_frames_are_encoded_once_per_event() -> None:
    ua = load_builtin("ua")
    hub = Hub()
    clients = [hub.subscribe(EventFilter.build(ua)) for _ in range(3)]
    hub.publish(event(1))
    frames = [c.queue.get_nowait() for c in clients]
    assert all(f is not None for f in frames)
    assert len({id(f[1]) for f in frames if f is not None}) == 1


async def test_garbage_collection_waits_while_a_fan_out_is_written_and_resumes_after() -> None:
    loop = asyncio.get_running_loop()
    pairs = [socket.socketpair() for _ in range(100)]
    try:
        for hold in (True, False):
            hub = Hub(slice_s=0.000_001, gc_hold=hold)  # a slice per batch of clients: the fan-out takes turns
            flt = EventFilter.build(load_builtin("ua"))
            for ours, _ in pairs:
                transport, _protocol = await loop.connect_accepted_socket(asyncio.Protocol, ours.dup())
                hub.go_live(hub.attach(transport, flt), 0)  # type: ignore[arg-type]
            assert gc.isenabled()
            hub.publish(event(1))
            assert gc.isenabled() is not hold
            for _ in range(1000):
                if not hub._slices:
                    break
                await asyncio.sleep(0)
            assert gc.isenabled()
            for _, theirs in pairs:
                assert b"id: 1\n" in theirs.recv(65536)
            hub.close()
            await asyncio.sleep(0)
    finally:
        gc.enable()
        for ours, theirs in pairs:
            ours.close()
            theirs.close()


class _Broken(EventFilter):
    def accepts(self, event: object) -> bool:  # type: ignore[override]
        raise RuntimeError("a filter that fails")


async def test_garbage_collection_is_not_left_off_when_a_publish_fails() -> None:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    try:
        hub = Hub(gc_hold=True)
        transport, _protocol = await loop.connect_accepted_socket(asyncio.Protocol, ours.dup())
        good = EventFilter.build(load_builtin("ua"))
        hub.go_live(hub.attach(transport, good), 0)  # type: ignore[arg-type]
        hub.attach(transport, _Broken(statuses=good.statuses, regions=good.regions))  # type: ignore[arg-type]
        assert gc.isenabled()
        with pytest.raises(RuntimeError):
            hub.publish(event(1))  # a client catching up, whose filter fails
        assert gc.isenabled()
        hub.close()
        await asyncio.sleep(0)
    finally:
        gc.enable()
        ours.close()
        theirs.close()
