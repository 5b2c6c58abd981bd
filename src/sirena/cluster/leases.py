"""Work leases: shared work (a webhook subscription's queue, Web Push, the MQTT bridge, CAP feed pulls) is done by
exactly one node of a cluster, and by another one soon after that node dies.

A lease is a row in the database (:mod:`sirena.store.leases`) naming its holder and when the claim runs out.
This node renews the leases it holds every third of their time to live; one it fails to renew for that long
(the database unreachable, say) it treats as lost and stops the work, so two nodes never work on the same thing
for longer than a renewal overlaps. Stopping cleanly gives every lease up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Self, TypeVar

from sirena.errors import LeaseLost
from sirena.store import leases as sql

log = logging.getLogger("sirena.cluster")

Work = Callable[[], Coroutine[Any, Any, None]]
T = TypeVar("T")


def node_name(port: int) -> str:
    """The default node id: host name and port (a node restarted in place gets its leases back at once)."""
    return f"{socket.gethostname()}:{port}" if port else f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """This node's leases on ``store`` (any store that runs SQL: ``transaction``/``read``)."""

    def __init__(self, store: Any, owner: str, ttl_s: float) -> None:
        self.store = store
        self.owner = owner
        self.ttl_s = max(ttl_s, 0.3)
        self._renewed: dict[str, float] = {}
        """Lease name → when this node last took or renewed it (monotonic)."""
        self._lost: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._sql = asyncio.Lock()
        """Taking, renewing and giving up run one at a time, so a renewal in flight cannot take back a lease
        given up meanwhile."""

    @property
    def held(self) -> list[str]:
        return sorted(self._renewed)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._renew_loop(), name="sirena-leases")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop renewing and give every lease up, so other nodes take the work over now."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for name in list(self._renewed):
            await self.release(name)

    # -- one lease ------------------------------------------------------------------------------------------

    async def hold(self, name: str) -> bool:
        """Whether this node holds ``name`` now, taking or renewing it when due. Cheap to call often."""
        if self._closing:
            return False
        renewed = self._renewed.get(name)
        if renewed is not None and time.monotonic() - renewed < self.ttl_s / 3:
            return True
        return await self._take(name)

    async def release(self, name: str) -> None:
        async with self._sql:
            self._lose(name)
            try:
                await self.store.transaction(lambda c: sql.release(c, name, self.owner))
            except Exception:  # it runs out by itself
                log.warning("could not give lease %s up; it expires in %g s", name, self.ttl_s)

    async def exclusive(self, name: str, work: Work) -> None:
        """Run ``work`` whenever this node holds lease ``name``, and only then: stop it when the lease is lost,
        try again to take the lease while another node has it. Runs until cancelled."""
        while not self._closing:
            if not await self._take(name):
                await asyncio.sleep(self.ttl_s / 3)
                continue
            try:
                await self._while_held(name, work)
            except LeaseLost:
                log.warning("lease %s lost; another node takes the work over", name)
            except Exception:
                log.exception("work %s failed", name)
                await self.release(name)
            else:
                await self.release(name)
            await asyncio.sleep(self.ttl_s / 3)

    async def holding(
        self, name: str, work: Callable[[], Awaitable[T]], *, waiting: Callable[[], None] | None = None
    ) -> T:
        """Run ``work`` once under lease ``name`` and give the lease up: wait while another node (or process)
        holds it, calling ``waiting`` once if it does; cancel ``work`` and raise :class:`LeaseLost` if the lease
        is lost before ``work`` ends."""
        told = False
        while not await self.hold(name):
            if waiting is not None and not told:
                waiting()
                told = True
            await asyncio.sleep(self.ttl_s / 3)
        try:
            return await self._while_held(name, work)
        finally:
            await self.release(name)

    # -- internals ----------------------------------------------------------------------------------------

    async def _while_held(self, name: str, work: Callable[[], Awaitable[T]]) -> T:
        """``work``'s result, taken while this node holds ``name`` (which it does now); :class:`LeaseLost` once
        the lease is lost first, ``work`` then cancelled and awaited (so its own clean-up is done)."""
        lost = self._lost.setdefault(name, asyncio.Event())
        task = asyncio.ensure_future(work())
        watch = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, watch):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pending
        current = asyncio.current_task()
        if current is not None and current.cancelling():  # stopped while ``work`` cleaned up: a stop, kept
            raise asyncio.CancelledError
        if task.cancelled() and watch.done() and not watch.cancelled():
            raise LeaseLost("error.lease_lost", name=name)
        return task.result()

    async def _take(self, name: str) -> bool:
        async with self._sql:
            return await self._take_now(name)

    async def _take_now(self, name: str) -> bool:
        now = time.time()
        try:
            mine = bool(await self.store.transaction(lambda c: sql.acquire(c, name, self.owner, now, self.ttl_s)))
        except Exception:
            mine = False
            renewed = self._renewed.get(name)
            if renewed is not None and time.monotonic() - renewed < self.ttl_s * 0.8:
                return True  # still ours for a while; the next renewal may get through
        if mine:
            self._renewed[name] = time.monotonic()
            return True
        if name in self._renewed:
            self._lose(name)
        return False

    def _lose(self, name: str) -> None:
        self._renewed.pop(name, None)
        lost = self._lost.pop(name, None)
        if lost is not None:
            lost.set()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            for name in list(self._renewed):
                async with self._sql:
                    if name in self._renewed:  # not given up since the loop began
                        await self._take_now(name)
