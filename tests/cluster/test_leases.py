"""Work leases: shared work runs on one node at a time, moves at once when its node stops cleanly, and after the
lease runs out when its node dies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sirena.cluster import Leases
from sirena.store import SQLiteStore
from sirena.store import leases as sql


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await s.open()
    yield s
    await s.close()


class Work:
    """Counts which owner is working; fails the test if two work at once."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.ran: list[str] = []

    def for_owner(self, owner: str):  # type: ignore[no-untyped-def]
        async def work() -> None:
            assert not self.running, f"{owner} started while {self.running} worked"
            self.running.add(owner)
            self.ran.append(owner)
            try:
                await asyncio.Event().wait()
            finally:
                self.running.discard(owner)

        return work


async def until(check, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.02)


async def test_one_node_works_and_a_clean_stop_hands_over_before_the_lease_would_run_out(store: SQLiteStore) -> None:
    work = Work()
    a, b = Leases(store, "a", 3.0), Leases(store, "b", 3.0)
    await a.start()
    await b.start()
    on_a = asyncio.create_task(a.exclusive("push", work.for_owner("a")))
    await until(lambda: work.running == {"a"})
    on_b = asyncio.create_task(b.exclusive("push", work.for_owner("b")))
    await asyncio.sleep(0.3)
    assert work.ran == ["a"]
    on_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await on_a
    await a.stop()  # gives the lease up: b takes it at its next look
    assert await store.read(lambda c: c.execute("SELECT COUNT(*) FROM leases").fetchone()[0]) == 0
    await until(lambda: work.running == {"b"}, within=15)
    assert a.held == []
    assert b.held == ["push"]
    on_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await on_b
    await b.stop()


async def test_a_dead_node_s_work_moves_when_its_lease_runs_out(store: SQLiteStore) -> None:
    work = Work()
    a, b = Leases(store, "a", 0.6), Leases(store, "b", 0.6)
    await a.start()
    await b.start()
    on_a = asyncio.create_task(a.exclusive("cap-pull", work.for_owner("a")))
    await until(lambda: work.running == {"a"})
    on_b = asyncio.create_task(b.exclusive("cap-pull", work.for_owner("b")))
    assert await b.hold("webhook:S1")
    assert not await a.hold("webhook:S1")
    # a dies: nothing renews or releases its leases any more (its work stops with the process)
    assert a._task is not None
    a._task.cancel()
    on_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await on_a
    await until(lambda: work.running == {"b"}, within=10)
    assert work.ran == ["a", "b"]
    on_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await on_b
    await b.stop()


async def test_a_node_that_cannot_renew_stops_working(store: SQLiteStore) -> None:
    work = Work()
    a = Leases(store, "a", 0.6)
    await a.start()
    on_a = asyncio.create_task(a.exclusive("mqtt", work.for_owner("a")))
    await until(lambda: work.running == {"a"})
    await store.transaction(lambda c: c.execute("UPDATE leases SET owner = 'b', until = until + 60"))  # taken
    await until(lambda: not work.running, within=10)
    assert a.held == []
    on_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await on_a
    await a.stop()


class CaughtRenewal:
    """The store, whose next transaction once armed waits until let go: a renewal caught in flight."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.armed = False
        self.caught, self.go, self.done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def transaction(self, fn):  # type: ignore[no-untyped-def]
        if not self.armed:
            return await self.store.transaction(fn)
        self.armed = False
        self.caught.set()
        await self.go.wait()
        result = await self.store.transaction(fn)
        self.done.set()
        return result

    async def read(self, fn):  # type: ignore[no-untyped-def]
        return await self.store.read(fn)


async def test_a_lease_given_up_while_its_renewal_is_in_flight_stays_given_up(store: SQLiteStore) -> None:
    paused = CaughtRenewal(store)
    a = Leases(paused, "a", 0.3)
    await a.start()
    assert await a.hold("history-import")
    paused.armed = True
    async with asyncio.timeout(10):
        await paused.caught.wait()  # the renewal loop is renewing it now
    release = asyncio.create_task(a.release("history-import"))
    for _ in range(5):
        await asyncio.sleep(0)
    paused.go.set()
    async with asyncio.timeout(10):
        await paused.done.wait()
        await release
    assert a.held == []
    assert await store.read(lambda c: sql.holders(c)) == []  # nobody holds it: another node may take it now
    await a.stop()


async def test_a_stop_while_work_whose_lease_was_lost_cleans_up_is_a_stop_not_a_lost_lease(
    store: SQLiteStore,
) -> None:
    cleaning, cleaned = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cleaning.set()
            await asyncio.shield(cleaned.wait())  # a clean-up that is not cut short (an import's take-back)
            raise

    async with Leases(store, "a", 0.6) as leases:
        running = asyncio.create_task(leases.holding("import", work))
        await until(lambda: leases.held == ["import"])
        await store.transaction(lambda c: c.execute("UPDATE leases SET owner = 'b', until = until + 600"))
        await until(cleaning.is_set, within=60)
        running.cancel()  # Ctrl-C, or a server shutting down, while the lost work cleans up
        cleaned.set()
        with pytest.raises(asyncio.CancelledError):
            await running
