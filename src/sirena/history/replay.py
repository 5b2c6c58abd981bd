"""Replay: a historical period re-issued as exercise alerts, through the normal service, at a chosen speed.

Every alert in force during ``[start, end)`` is issued again with ``status: exercise`` (so live clients see it only
when they ask for exercises, and headlines say EXERCISE/НАВЧАННЯ), for the same region and kind, at its start
time scaled by ``speed`` (alerts already in force at ``start`` are issued at once), and ended when the original
ended. At ``end``, and whenever the replay stops early (cancelled, Ctrl-C in the CLI), everything it issued and
has not ended yet is ended. A replay only ever issues its own alerts and ends those: the real alert state is never
touched, and exercises are never counted in the statistics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sirena import messages
from sirena.domain.model import AlertDraft, AlertState, Level, Status, Target
from sirena.errors import SirenaError
from sirena.history.archive import ReplayItem
from sirena.history.records import from_ms, to_ms
from sirena.service import AlertService

__all__ = ["ISSUER", "Replay", "ReplayStatus", "end_leftovers"]

ISSUER = "replay"
log = logging.getLogger("sirena.replay")


@dataclass
class ReplayStatus:
    """How far a replay has come: ``position_ms`` is the replayed moment (UTC ms)."""

    start_ms: int
    end_ms: int
    total: int
    position_ms: int = 0
    issued: int = 0
    ended: int = 0
    failed: int = 0
    finished: bool = False

    @property
    def active(self) -> int:
        return self.issued - self.ended

    @property
    def fraction(self) -> float:
        span = self.end_ms - self.start_ms
        return 1.0 if span <= 0 else min(max((self.position_ms - self.start_ms) / span, 0.0), 1.0)


class Replay:
    def __init__(
        self,
        service: AlertService,
        items: Sequence[ReplayItem],
        *,
        start: datetime,
        end: datetime,
        speed: float = 60.0,
        issuer: str = ISSUER,
        on_step: Callable[[ReplayStatus], None] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.service = service
        self.items = list(items)
        self.speed = speed
        self.issuer = issuer
        self.on_step = on_step
        self.status = ReplayStatus(to_ms(start), to_ms(end), len(self.items), position_ms=to_ms(start))
        self.live: dict[int, str] = {}
        self._origin: float | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def steps(self) -> list[tuple[int, int, int]]:
        """``(moment ms, 1 = issue / 0 = end, item index)`` in order; at one moment, ends come first."""
        first, last = self.status.start_ms, self.status.end_ms
        out = []
        for index, item in enumerate(self.items):
            out.append((max(item.started_ms, first), 1, index))
            if item.ended_ms < last:
                out.append((item.ended_ms, 0, index))
        return sorted(out)

    def position(self) -> int:
        """The replayed moment now (UTC ms), from the real time elapsed since the replay began."""
        if self._origin is None:
            return self.status.start_ms
        elapsed = asyncio.get_running_loop().time() - self._origin
        return min(self.status.start_ms + int(elapsed * self.speed * 1000), self.status.end_ms)

    async def run(self) -> ReplayStatus:
        """Replay the whole period (or until cancelled); always ends what it issued."""
        loop = asyncio.get_running_loop()
        self._origin = loop.time()
        steps = self.steps()
        try:
            at = 0
            while at < len(steps):
                moment = steps[at][0]
                group = []
                while at < len(steps) and steps[at][0] == moment:
                    group.append(steps[at])
                    at += 1
                await self._sleep_until(moment)
                self.status.position_ms = moment
                await self._settle([self._end(index) for _, kind, index in group if kind == 0])
                await self._settle([self._issue(index) for _, kind, index in group if kind == 1])
                if self.on_step is not None:
                    self.on_step(self.status)
            await self._sleep_until(self.status.end_ms)
            self.status.position_ms = self.status.end_ms
        finally:
            await asyncio.shield(self._end_all())
            self.status.finished = True
            if self.on_step is not None:
                self.on_step(self.status)
        return self.status

    async def _settle(self, work: list[Coroutine[Any, Any, None]]) -> None:
        """Run ``work`` to the end even if the replay is cancelled meanwhile: a write the store has accepted is
        always recorded, so that the replay can end every alert it issued."""
        tasks = [asyncio.ensure_future(w) for w in work]
        for task in tasks:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        await asyncio.shield(asyncio.gather(*tasks))

    async def _sleep_until(self, moment_ms: int) -> None:
        assert self._origin is not None
        loop = asyncio.get_running_loop()
        delay = (moment_ms - self.status.start_ms) / 1000 / self.speed - (loop.time() - self._origin)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _issue(self, index: int) -> None:
        item = self.items[index]
        started = from_ms(item.started_ms).strftime("%Y-%m-%d %H:%M")
        draft = AlertDraft(
            target=Target(regions=(item.region_id,)),
            kind=item.kind,
            level=Level.RED,
            status=Status.EXERCISE,
            issuer=self.issuer,
            instruction=messages.all_languages("history.replay.instruction", started=started),
        )
        try:
            result = await self.service.issue(draft)
        except SirenaError as exc:
            self.status.failed += 1
            log.warning("replay could not issue %s for region %s: %s", item.alert_id, item.region_id, exc)
            return
        self.live[index] = result.event.alert.id
        self.status.issued += 1

    async def _end(self, index: int) -> None:
        alert_id = self.live.pop(index, None)
        if alert_id is None:
            return
        try:
            await self.service.end(alert_id)
        except SirenaError as exc:  # ended or cancelled by an operator meanwhile
            log.info("replay alert %s: %s", alert_id, exc)
        self.status.ended += 1

    async def _end_all(self) -> None:
        await asyncio.gather(*self._inflight, return_exceptions=True)
        await asyncio.gather(*(self._end(index) for index in list(self.live)))


async def end_leftovers(service: AlertService, issuer: str = ISSUER) -> int:
    """End the active exercise alerts a replay left behind (after ``kill -9``); returns how many."""
    count = 0
    for alert in await service.find(
        states=frozenset({AlertState.ACTIVE}), statuses=frozenset({Status.EXERCISE}), limit=100_000
    ):
        if alert.issuer == issuer:
            with contextlib.suppress(SirenaError):
                await service.end(alert.id)
                count += 1
    return count
