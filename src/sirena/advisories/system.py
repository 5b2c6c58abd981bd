"""Advisories, reports, all-clears and the coordination line of one running system (``runtime.advisories``),
and their background task: escalation of unacknowledged coordination messages and the end of expired
advisories, started by ``Runtime.start()``."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sirena.advisories.advisories import AdvisoryDesk, Query
from sirena.advisories.allclear import AllClears
from sirena.advisories.cap import feed_entry
from sirena.advisories.channels import Channels
from sirena.advisories.coordination import CoordinationLine
from sirena.advisories.reports import Reports
from sirena.advisories.text import report_headline
from sirena.domain.model import Status
from sirena.protocol.cap.atom import Entry
from sirena.regions import RegionRegistry
from sirena.settings import Settings

log = logging.getLogger("sirena.advisories")


class Advisories:
    def __init__(self, settings: Settings, store: object, registry: RegionRegistry, clock: Any) -> None:
        self.settings = settings
        self.clock = clock
        self.channels = Channels(store, clock)
        self.desk = AdvisoryDesk(store, registry, clock)
        self.reports = Reports(store, registry, clock)
        self.all_clears = AllClears(store, registry, clock, settings.all_clear_show_s)
        self.line = CoordinationLine(
            store,
            clock,
            escalate_s=settings.coordination_escalate_s,
            escalate_admins_s=settings.coordination_escalate_admins_s,
        )
        self.registry = registry

    async def run(self) -> None:
        """Escalate due coordination messages and end expired advisories, until cancelled."""
        poll = max(0.01, self.settings.coordination_poll_s)
        while True:
            try:
                await self.line.escalate_due()
                await self.desk.expire()
                due = await self.line.next_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be busy or gone for a moment
                log.exception("escalation or expiry failed; will retry")
                due = None
            delay = poll
            if due is not None:
                delay = min(poll, max(0.0, (due - self.clock()).total_seconds()))
            await asyncio.sleep(delay)

    async def feed_entries(
        self,
        *,
        base: str,
        sender: str,
        lang: str,
        statuses: frozenset[Status] | None,
        regions: frozenset[str] | None,
        channel: str | None = None,
    ) -> list[Entry]:
        """Atom entries of the notices a CAP feed shows besides alerts: current public advisories (or, with
        ``channel``, that channel's), the reports of active alerts (not for a channel's feed) and current
        all-clears."""
        entries: list[Entry] = []
        query = Query(
            channels=(channel,) if channel else (), public=channel is None, statuses=statuses, regions=regions
        )
        for advisory in await self.desk.find(query):
            entries.append(
                feed_entry(
                    kind="advisory",
                    record_id=advisory["id"],
                    sender=sender,
                    base=base,
                    title=_pick(advisory["headline"], lang),
                    summary=_pick(advisory.get("text") or {}, lang) or None,
                    updated=advisory["updated_at"],
                    categories=(f"advisory:{advisory['type']}", advisory["status"], advisory["severity"]),
                )
            )
        if channel is None:
            for report in await self.reports.find(active=True, statuses=statuses, limit=200):
                if regions is not None and not {report["region"], report.get("target_region")} & regions:
                    continue
                entries.append(
                    feed_entry(
                        kind="report",
                        record_id=report["id"],
                        sender=sender,
                        base=base,
                        title=report_headline(report, self.registry, lang),
                        summary=_pick(report.get("text") or {}, lang) or None,
                        updated=report["added_at"],
                        categories=(f"report:{report['kind']}", report["status"], report["threat"]),
                    )
                )
        for clear in await self.all_clears.current(statuses):
            if regions is not None and not set(clear["regions"]) & regions:
                continue
            entries.append(
                feed_entry(
                    kind="all-clear",
                    record_id=clear["alert_id"],
                    sender=sender,
                    base=base,
                    title=_pick(clear["headline"], lang),
                    summary=_pick(clear["text"], lang),
                    updated=clear["at"],
                    categories=("all_clear", clear["status"], clear["kind"]),
                )
            )
        return entries

    def now(self) -> datetime:
        moment: datetime = self.clock()
        return moment


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")
