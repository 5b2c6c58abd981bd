"""The demo: a real day of the shipped history replayed faster than real time, looped, and the shipped record
imported in the background so that the history pages have something to show.

Every demo alert has ``status: exercise`` and issuer ``demo``, so it can never be mistaken for a real warning:
live clients see it only when they ask for exercises (``?statuses=exercise``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sirena import messages
from sirena.domain.model import AlertDraft, AlertState, Kind, Level, Status, Target
from sirena.errors import LeaseLost, SirenaError
from sirena.history.archive import History
from sirena.history.dataset import HistoricAlert, official_day
from sirena.history.importer import IMPORT_LEASE, HistoryFile, builtin_files
from sirena.history.report import ImportReport

if TYPE_CHECKING:
    from sirena.runtime import Runtime

ISSUER = "demo"
IMPORTED_KEY = "history.builtin_imported"
"""Meta key set when an import of the shipped record has finished (its value: the number of alerts)."""
log = logging.getLogger("sirena.demo")


def timeline(alerts: list[HistoricAlert]) -> list[tuple[datetime, int, int]]:
    """(time, 0 = end / 1 = start, index) in replay order; at equal times ends come first."""
    steps = [(a.started_at, 1, i) for i, a in enumerate(alerts)]
    steps += [(a.finished_at, 0, i) for i, a in enumerate(alerts)]
    return sorted(steps)


def busiest_moment(alerts: list[HistoricAlert]) -> datetime:
    """The first moment at which the most alerts were active at once."""
    best, best_count, count = alerts[0].started_at, 0, 0
    for moment, kind, _ in timeline(alerts):
        count += 1 if kind else -1
        if count > best_count:
            best, best_count = moment, count
    return best


class DemoFeed:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.speed = max(runtime.settings.demo_speed, 0.001)
        self.day = date.fromisoformat(runtime.settings.demo_day)

    async def run(self) -> None:
        try:
            alerts = await asyncio.to_thread(official_day, self.runtime.service.registry, self.day)
        except (OSError, ValueError) as exc:
            log.error("demo feed unavailable: %s", exc)
            return
        if not alerts:
            log.error("no history for %s; demo feed stopped", self.day)
            return
        await self.end_leftovers()
        start_at: datetime | None = busiest_moment(alerts)
        while True:
            await self.replay(alerts, start_at)
            start_at = None
            await self.end_leftovers()
            await asyncio.sleep(5)

    async def replay(self, alerts: list[HistoricAlert], start_at: datetime | None) -> None:
        """One pass over the day; with ``start_at``, everything active at that moment is issued at once."""
        live: dict[int, str] = {}
        loop = asyncio.get_running_loop()
        origin = start_at or datetime.combine(self.day, datetime.min.time(), alerts[0].started_at.tzinfo)
        real_origin = loop.time()
        for moment, kind, index in timeline(alerts):
            if moment < origin:
                if kind == 1 and alerts[index].finished_at > origin:
                    live[index] = await self.issue(alerts[index])
                continue
            delay = (moment - origin) / timedelta(seconds=1) / self.speed - (loop.time() - real_origin)
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == 1:
                live[index] = await self.issue(alerts[index])
            elif index in live:
                await self.finish(live.pop(index))

    async def issue(self, alert: HistoricAlert) -> str:
        draft = AlertDraft(
            target=Target(regions=(alert.region_id,)),
            kind=Kind.AIR_RAID,
            level=Level.RED,
            status=Status.EXERCISE,
            issuer=ISSUER,
        )
        result = await self.runtime.service.issue(draft)
        return result.event.alert.id

    async def finish(self, alert_id: str) -> None:
        try:
            await self.runtime.service.end(alert_id)
        except SirenaError as exc:  # ended by someone else meanwhile
            log.info("demo alert %s: %s", alert_id, exc)

    async def end_leftovers(self) -> None:
        for alert in await self.runtime.service.find(
            states=frozenset({AlertState.ACTIVE}), statuses=frozenset({Status.EXERCISE}), limit=100_000
        ):
            if alert.issuer == ISSUER:
                await self.finish(alert.id)


async def import_builtin(runtime: Runtime, files: Sequence[HistoryFile] | None = None) -> ImportReport | None:
    """Import the shipped record (or ``files``) unless a finished import is recorded in the database; the report,
    or ``None`` when there was nothing to do. One node at a time: the others (and ``sirena import``) wait for
    the lease ``history-import`` and then find the import done. An interrupted import is taken back, one whose lease
    is lost keeps what it wrote; neither is recorded, so it is done again (see :mod:`sirena.history.importer`)."""
    store = runtime.store

    async def work() -> ImportReport | None:
        if await store.get_meta(IMPORTED_KEY) is not None:  # another node finished while this one waited
            return None
        log.info("%s", messages.t("history.demo.importing"))
        history = History(store, runtime.registry)
        chosen = builtin_files() if files is None else files
        report = await history.import_files(chosen, progress=_log_step, leases=runtime.leases)
        await store.set_meta(IMPORTED_KEY, str(report.alerts))
        return report

    while await store.get_meta(IMPORTED_KEY) is None:
        try:
            report = await runtime.leases.holding(IMPORT_LEASE, work)
        except LeaseLost as exc:  # whoever holds the lease now imports (finding what this one wrote), or this node
            log.warning("%s", exc.detail())
            continue
        if report is not None:
            log.info("%s", report.summary())
        return report
    return None


def _log_step(phase: str, done: int, total: int) -> None:
    """The import's progress, one line per file read and per batch written (the CLI's progress bar)."""
    if phase == "write" and done == 0:
        return
    key = "history.cli.reading" if phase == "read" else "history.cli.writing"
    log.info("%s %d/%d", messages.t(key), done, total)


async def import_in_background(runtime: Runtime) -> None:
    """The demo's import of the shipped record (:func:`import_builtin`); a failure is logged, not raised."""
    try:
        await import_builtin(runtime)
    except Exception:
        log.exception("%s", messages.t("history.demo.import_failed"))
