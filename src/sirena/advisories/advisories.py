"""Advisories: messages that are not sirens. An embassy closes and tells its citizens to be ready to shelter, a
civil-protection service announces that a mass attack is likely within hours, a city gives travel advice.

Each advisory has a type, a severity, regions, a validity period and texts in several languages. A *public*
advisory (no channel) reaches everyone in its regions and needs the issuer's region scope, as an alert does; a
*channel* advisory reaches only that channel's subscribers and needs a grant for the channel (an embassy issuer
holds a channel and no region). Issue, update and end each write the advisory, a version, an audit entry and a
notice (``advisory.issued|updated|ended``) in the event log, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sirena.advisories.access import (
    SYSTEM,
    Clock,
    audit,
    check_regions,
    now_text,
    require_regions,
    require_role,
    stamp,
)
from sirena.advisories.errors import AdvisoryEnded, AdvisoryNotFound, ChannelNotFound
from sirena.advisories.model import DEFAULT_SEVERITY, AdvisoryChanges, AdvisoryDraft, AdvisoryState
from sirena.advisories.text import marked
from sirena.auth.policy import require_channel
from sirena.auth.principal import Principal, Role
from sirena.auth.storage import sql_store
from sirena.domain.model import Status
from sirena.domain.notice import NoticeType
from sirena.errors import ValidationFailed
from sirena.ids import new_id
from sirena.messages import Phrase
from sirena.protocol.alert_json import parse_time
from sirena.regions import RegionRegistry
from sirena.store import advisories as sql
from sirena.store.base import Appended
from sirena.store.sql import Connection

ISSUE, UPDATE, END = "advisory.issue", "advisory.update", "advisory.end"


def is_current(advisory: Mapping[str, Any], now: datetime) -> bool:
    """Active and not past its ``expires_at``."""
    if advisory.get("state") != AdvisoryState.ACTIVE.value:
        return False
    expires = parse_time(advisory.get("expires_at"))
    return expires is None or expires > now


def _texts(value: Mapping[str, str], field: str, *, required: bool) -> dict[str, str]:
    out = {lang: text.strip() for lang, text in value.items() if text and text.strip()}
    if required and not out:
        raise ValidationFailed("error.validation_field", field=field, reason=Phrase("validation.reason.text_required"))
    return out


@dataclass(frozen=True, slots=True)
class Query:
    current: bool = True
    """Only advisories active and valid now."""
    channels: tuple[str, ...] = ()
    public: bool = True
    statuses: frozenset[Status] | None = frozenset({Status.ACTUAL})
    regions: frozenset[str] | None = None
    """Already expanded (descendants and ancestors); an advisory with no regions matches any."""
    since: datetime | None = None
    limit: int = 1000


def _check_languages(conn: Connection, channel_id: str, headline: Mapping[str, str]) -> None:
    """The channel exists and ``headline`` has a text in every language it asks for."""
    channel = sql.get_channel(conn, channel_id)
    if channel is None:
        raise ChannelNotFound("advisories.error.channel_not_found", channel=channel_id)
    missing = [lang for lang in channel["languages"] if lang not in headline]
    if missing:
        raise ValidationFailed("advisories.error.languages", field="headline", value=missing[0], channel=channel_id)


class AdvisoryDesk:
    def __init__(self, store: object, registry: RegionRegistry, clock: Clock) -> None:
        self.sql = sql_store(store)
        self.registry = registry
        self.clock = clock

    # -- authorisation --------------------------------------------------------------------------------------

    def authorise(self, who: Principal, action: str, channel: str | None, regions: Iterable[str]) -> None:
        """A channel advisory needs a grant for the channel; a public one the scope of every region."""
        require_role(who, Role.OPERATOR, action)
        if channel is not None:
            require_channel(who, channel, action)
            return
        require_regions(who, regions, self.registry, action)

    # -- writes ---------------------------------------------------------------------------------------------

    async def issue(self, who: Principal, draft: AdvisoryDraft) -> dict[str, Any]:
        moment = self.clock()
        regions = check_regions(self.registry, draft.regions, "regions")
        if draft.channel is None and not regions:
            raise ValidationFailed(
                "error.validation_field", field="regions", reason=Phrase("validation.reason.public_needs_regions")
            )
        if draft.expires_at is not None and draft.expires_at <= moment:
            raise ValidationFailed(
                "error.validation_field", field="expires_at", reason=Phrase("validation.reason.already_past")
            )
        if draft.expires_at is not None and draft.expires_at <= (draft.effective_at or moment):
            raise ValidationFailed(
                "error.validation_field", field="expires_at", reason=Phrase("validation.reason.not_after_effective")
            )
        headline = _texts(draft.headline, "headline", required=True)
        self.authorise(who, ISSUE, draft.channel, regions)
        advisory_id = new_id(moment)
        advisory: dict[str, Any] = {
            "id": advisory_id,
            "version": 1,
            "state": AdvisoryState.ACTIVE.value,
            "channel": draft.channel,
            "audience": "public" if draft.channel is None else "channel",
            "type": draft.type.value,
            "severity": (draft.severity or DEFAULT_SEVERITY[draft.type]).value,
            "status": draft.status.value,
            "regions": list(regions),
            "headline": marked(headline, draft.status),
            "text": _texts(draft.text, "text", required=False),
            "issuer": who.issuer,
            "alert_id": draft.alert_id,
            "issued_at": stamp(moment),
            "updated_at": stamp(moment),
            "effective_at": stamp(draft.effective_at or moment),
            "expires_at": stamp(draft.expires_at),
            "ended_at": None,
        }

        def run(conn: Connection) -> Appended:
            if draft.channel is not None:
                _check_languages(conn, draft.channel, advisory["headline"])
            notice = sql.append_notice(conn, NoticeType.ADVISORY_ISSUED, advisory_id, moment, advisory)
            sql.save_advisory(conn, advisory, notice.seq)
            audit(conn, moment, who, ISSUE, f"advisory:{advisory_id}", _summary(advisory, notice.seq))
            return Appended((notice,), advisory)

        done = await self.sql.transaction(run)
        return dict(done.value)

    async def update(self, who: Principal, advisory_id: str, changes: AdvisoryChanges) -> dict[str, Any]:
        if changes.is_empty():
            raise ValidationFailed(
                "error.validation_field", field="body", reason=Phrase("validation.type.nothing_to_change")
            )
        moment = self.clock()
        regions = check_regions(self.registry, changes.regions, "regions") if changes.regions is not None else None
        headline = _texts(changes.headline, "headline", required=True) if changes.headline is not None else None
        text = _texts(changes.text, "text", required=False) if changes.text is not None else None
        if changes.expires_at is not None and changes.expires_at <= moment:
            raise ValidationFailed(
                "error.validation_field", field="expires_at", reason=Phrase("validation.reason.already_past")
            )

        def run(conn: Connection) -> Appended:
            current = self._current(conn, advisory_id, moment)
            nxt = dict(current)
            if regions is not None:
                if current["channel"] is None and not regions:
                    raise ValidationFailed(
                        "error.validation_field",
                        field="regions",
                        reason=Phrase("validation.reason.public_needs_regions"),
                    )
                nxt["regions"] = list(regions)
            if changes.severity is not None:
                nxt["severity"] = changes.severity.value
            if headline is not None:
                nxt["headline"] = marked(headline, Status(current["status"]))
            if text is not None:
                nxt["text"] = text
            if changes.expires_at is not None:
                effective = parse_time(current["effective_at"])
                if effective is not None and changes.expires_at <= effective:
                    raise ValidationFailed(
                        "error.validation_field",
                        field="expires_at",
                        reason=Phrase("validation.reason.not_after_effective"),
                    )
                nxt["expires_at"] = stamp(changes.expires_at)
            self.authorise(who, UPDATE, current["channel"], [*current["regions"], *nxt["regions"]])
            if headline is not None and current["channel"] is not None:
                _check_languages(conn, current["channel"], nxt["headline"])
            nxt["version"] = int(current["version"]) + 1
            nxt["updated_at"] = stamp(moment)
            notice = sql.append_notice(conn, NoticeType.ADVISORY_UPDATED, advisory_id, moment, nxt)
            sql.save_advisory(conn, nxt, notice.seq)
            audit(conn, moment, who, UPDATE, f"advisory:{advisory_id}", _summary(nxt, notice.seq))
            return Appended((notice,), nxt)

        done = await self.sql.transaction(run)
        return dict(done.value)

    async def end(self, who: Principal | None, advisory_id: str, *, reason: str = "ended") -> dict[str, Any]:
        """End an advisory before its time (``who`` ``None``: the system, when it expires)."""
        moment = self.clock()

        def run(conn: Connection) -> Appended:
            current = self._current(conn, advisory_id, moment, expired_ok=who is None)
            if who is not None:
                self.authorise(who, END, current["channel"], current["regions"])
            nxt = dict(current)
            nxt.update(
                state=AdvisoryState.ENDED.value,
                version=int(current["version"]) + 1,
                updated_at=stamp(moment),
                ended_at=stamp(moment),
                end_reason=reason,
            )
            notice = sql.append_notice(conn, NoticeType.ADVISORY_ENDED, advisory_id, moment, nxt)
            sql.save_advisory(conn, nxt, notice.seq)
            audit(conn, moment, who or SYSTEM, END, f"advisory:{advisory_id}", _summary(nxt, notice.seq))
            return Appended((notice,), nxt)

        done = await self.sql.transaction(run)
        return dict(done.value)

    async def expire(self) -> int:
        """End every advisory whose validity is over (run by the background task); returns how many."""
        now = now_text(self.clock)
        due = await self.sql.read(lambda conn: sql.expired_advisories(conn, now))
        ended = 0
        for advisory in due:
            try:
                await self.end(None, advisory["id"], reason="expired")
            except (AdvisoryEnded, AdvisoryNotFound):  # ended meanwhile
                continue
            ended += 1
        return ended

    def _current(
        self, conn: Connection, advisory_id: str, moment: datetime, *, expired_ok: bool = False
    ) -> dict[str, Any]:
        current = sql.get_advisory(conn, advisory_id)
        if current is None:
            raise AdvisoryNotFound("advisories.error.advisory_not_found", advisory=advisory_id)
        if current["state"] != AdvisoryState.ACTIVE.value or (not expired_ok and not is_current(current, moment)):
            raise AdvisoryEnded("advisories.error.advisory_ended", advisory=advisory_id)
        return current

    # -- reads ----------------------------------------------------------------------------------------------

    async def get(self, advisory_id: str, version: int | None = None) -> dict[str, Any]:
        found = await self.sql.read(lambda conn: sql.get_advisory(conn, advisory_id, version))
        if found is None and version is not None:
            latest = await self.sql.read(lambda conn: sql.get_advisory(conn, advisory_id))
            if latest is not None:
                raise AdvisoryNotFound(
                    "advisories.error.advisory_version_not_found",
                    advisory=advisory_id,
                    version=version,
                    latest=latest["version"],
                )
        if found is None:
            raise AdvisoryNotFound("advisories.error.advisory_not_found", advisory=advisory_id)
        return found

    async def find(self, query: Query) -> list[dict[str, Any]]:
        current_at = now_text(self.clock) if query.current else None
        statuses = sorted(s.value for s in query.statuses) if query.statuses is not None else None
        since = stamp(query.since)
        found = await self.sql.read(
            lambda conn: sql.find_advisories(
                conn,
                current_at=current_at,
                channels=query.channels,
                public=query.public,
                statuses=statuses,
                since=since,
                limit=query.limit if query.regions is None else 100_000,
            )
        )
        if query.regions is not None:
            wanted = query.regions
            found = [a for a in found if not a["regions"] or any(r in wanted for r in a["regions"])]
        return found[: query.limit]

    async def version_times(self, advisory_id: str) -> list[tuple[int, str]]:
        return await self.sql.read(lambda conn: sql.advisory_version_times(conn, advisory_id))


def _summary(advisory: Mapping[str, Any], seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "version": advisory["version"],
        "type": advisory["type"],
        "channel": advisory["channel"],
        "status": advisory["status"],
        "regions": advisory["regions"],
    }
