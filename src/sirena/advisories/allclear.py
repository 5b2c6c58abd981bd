"""The all-clear: ending an alert can send an explicit message that the danger is over, on every outlet and in
every channel, so that nobody has to infer it from silence.

It is written by the end's own transaction (a write hook): the alert's ``alert.ended`` event and the
``alert.all_clear`` notice that follows it commit together, or not at all. Its payload::

    {"alert_id", "regions", "status", "kind", "headline": {lang: text}, "text": {lang: text}, "issuer", "at",
     "expires_at"}

``expires_at`` is how long feeds and the map keep showing it (``SIRENA_ALL_CLEAR_SHOW_S`` after the end).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sirena.advisories.access import Clock, now_text, stamp
from sirena.advisories.text import all_clear_texts
from sirena.auth.storage import sql_store
from sirena.domain.model import Alert, EventType, Status
from sirena.domain.notice import NoticeType
from sirena.errors import NotFound
from sirena.regions import RegionRegistry
from sirena.store import advisories as sql
from sirena.store.base import WriteHook, WriteResult


class AllClears:
    def __init__(self, store: object, registry: RegionRegistry, clock: Clock, show_s: float) -> None:
        self.sql = sql_store(store)
        self.registry = registry
        self.clock = clock
        self.show_s = show_s

    def body(self, alert: Alert, texts: Mapping[str, str] | None) -> dict[str, Any]:
        at = alert.ended_at or alert.updated_at
        regions = list(alert.touched_regions)
        headline, text = all_clear_texts(self.registry, alert.kind, regions, alert.status, texts)
        return {
            "alert_id": alert.id,
            "regions": regions,
            "status": alert.status.value,
            "kind": alert.kind.value,
            "headline": headline,
            "text": text,
            "issuer": alert.issuer,
            "at": stamp(at),
            "expires_at": stamp(at + timedelta(seconds=self.show_s)),
        }

    def hook(self, texts: Mapping[str, str] | None = None) -> WriteHook:
        """A write hook for ``AlertService.end``: after the alert is ended, in the same transaction, append the
        all-clear (with ``texts`` instead of the prepared text where given)."""

        def run(conn: Any, result: WriteResult) -> None:
            event = result.event
            if event.type is not EventType.ENDED:
                return
            body = self.body(event.alert, texts)
            notice = sql.append_notice(conn, NoticeType.ALL_CLEAR, event.alert.id, event.at, body)
            sql.insert_all_clear(conn, body, notice.seq)
            result.notices.append(notice)

        return run

    async def get(self, alert_id: str) -> dict[str, Any]:
        found = await self.sql.read(lambda conn: sql.get_all_clear(conn, alert_id))
        if found is None:
            raise NotFound("advisories.error.all_clear_not_found", alert_id=alert_id)
        return found

    async def current(self, statuses: frozenset[Status] | None = frozenset({Status.ACTUAL})) -> list[dict[str, Any]]:
        """All-clears still shown, newest first."""
        now = now_text(self.clock)
        found = await self.sql.read(lambda conn: sql.current_all_clears(conn, now))
        wanted = None if statuses is None else {s.value for s in statuses}
        return [a for a in found if wanted is None or a["status"] in wanted]
