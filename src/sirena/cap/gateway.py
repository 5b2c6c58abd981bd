"""CAP in: a document read, each message applied to Sirena's alerts along its chain, and recorded.

A message is identified by (sender, identifier, sent). Each one is recorded with what came of it, in the same
transaction as the alert change it makes, so a message is applied at most once however often it is received.

- ``Alert`` issues a new alert.
- ``Update`` and ``Cancel`` act on the alert of the newest message they reference (an ``Update`` with
  ``AllClear`` ends it). Only messages of the same sender count, so one sender cannot change another's alerts.
  Through the API, references to CAP that Sirena wrote itself (``urn:sirena:<sender>:<alert id>:<version>``) name
  that alert.
- A reference to a message that is not on record is kept with the message and reported
  (``unknown_references``): an ``Update`` for an alert never seen issues it, a ``Cancel`` or an all-clear is kept
  without an alert, and when the referenced message arrives later it is recorded as ``superseded``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sirena.auth.policy import ApprovalNeeded
from sirena.cap import convention as c
from sirena.cap.areas import RegionAreas
from sirena.cap.config import CapConfig
from sirena.cap.inbound import Action, CapNotUsable, Inbound, read_message
from sirena.cap.storage import sql
from sirena.errors import Conflict, InvalidTransition, SirenaError
from sirena.protocol.cap import CapMessage, Report, ingest, message_key
from sirena.service import AlertService, WriteContext
from sirena.store import cap as sql_cap
from sirena.store.base import WriteHook, WriteResult
from sirena.store.cap import MessageKey, StoredMessage

log = logging.getLogger("sirena.cap")

ContextFactory = Callable[[str, Mapping[str, Any], WriteHook], WriteContext]
"""Makes the write context of one alert change: (action such as ``alert.issue``, audit details, the hook that
records the message in the same transaction)."""

ACTIONS = {
    Action.ISSUE: "alert.issue",
    Action.UPDATE: "alert.update",
    Action.END: "alert.end",
    Action.CANCEL: "alert.cancel",
}


class AlreadyRecorded(Conflict):
    slug = "cap-duplicate"
    key = "cap.error.duplicate"


#: Every ``result`` an :class:`Outcome` may carry (documented in ``docs/cap.md``).
RESULTS = (
    "issued",
    "updated",
    "ended",
    "cancelled",
    "duplicate",
    "unknown_reference",
    "superseded",
    "alert_closed",
    "other_sender",
    "approval_needed",
    "refused",
    "not_usable",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one message did. ``result`` is one of ``issued``, ``updated``, ``ended``, ``cancelled``,
    ``duplicate``, ``superseded``, ``unknown_reference``, ``alert_closed``, ``other_sender``, ``approval_needed``,
    ``refused`` and ``not_usable``."""

    key: MessageKey
    msg_type: str
    result: str
    alert_id: str | None = None
    detail: str | None = None
    unknown_references: tuple[MessageKey, ...] = ()

    @property
    def applied(self) -> bool:
        return self.result in {"issued", "updated", "ended", "cancelled"}

    @property
    def failed(self) -> bool:
        return self.result in {"not_usable", "refused", "approval_needed"}

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.key[0],
            "identifier": self.key[1],
            "sent": self.key[2],
            "msg_type": self.msg_type,
            "result": self.result,
            "alert_id": self.alert_id,
            "detail": self.detail,
            "unknown_references": [list(k) for k in self.unknown_references],
        }


@dataclass(frozen=True, slots=True)
class IngestResult:
    report: Report
    outcomes: tuple[Outcome, ...] = field(default=())

    @property
    def alert_ids(self) -> list[str]:
        """The alerts the document created or changed, in order, without repeats."""
        return list(dict.fromkeys(o.alert_id for o in self.outcomes if o.applied and o.alert_id))

    def to_json(self) -> dict[str, Any]:
        return {**self.report.to_json(), "alert_ids": self.alert_ids, "messages": [o.to_json() for o in self.outcomes]}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def message_json(message: CapMessage) -> str:
    """The message as read, field for field, as JSON (what the record keeps)."""
    return json.dumps(dataclasses.asdict(message), ensure_ascii=False, default=_plain, separators=(",", ":"))


def _no_message(report: Report) -> CapNotUsable:
    """A document (an empty feed, or one that only links to CAP) that carries no CAP message to apply."""
    links = report.links
    if links:
        shown = ", ".join(links[:3]) + (", …" if len(links) > 3 else "")
        return CapNotUsable("cap.error.only_links", count=len(links), links=shown)
    if report.warnings:  # the warning says why, such as CAP sent as escaped text
        warning = report.warnings[0]
        return CapNotUsable(f"cap.issue.{warning.code}", **dict(warning.params))
    return CapNotUsable("cap.error.no_message")


def _with_report(problem: SirenaError, report: Report) -> SirenaError:
    """``problem`` carrying the ingest report, whose errors often say why (a polygon that could not be read)."""
    problem.data["report"] = report.to_json()
    return problem


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class CapGateway:
    """Ingest CAP documents into one store through one alert service."""

    def __init__(self, config: CapConfig, service: AlertService, areas: RegionAreas) -> None:
        self.config = config
        self.service = service
        self.areas = areas

    async def ingest(
        self,
        data: bytes,
        *,
        origin: str,
        context: ContextFactory,
        own_references: bool = False,
        strict: bool = True,
        max_bytes: int | None = None,
    ) -> IngestResult:
        """Read ``data`` and apply its messages, oldest ``sent`` first.

        ``origin`` says where it came from (recorded). With ``own_references`` an update may name CAP Sirena wrote
        itself. With ``strict``, a document none of whose messages could be used raises the first reason (a 4xx
        problem, with the report as its ``report`` member) and nothing is recorded; so does one that carries no
        message at all (only links, or nothing).
        Unusable input raises as :func:`~sirena.protocol.cap.ingest` does.
        """
        report = ingest(data, trust_anchors=self.config.trust_anchors, max_bytes=max_bytes or self.config.max_bytes)
        if strict and not report.messages:
            raise _with_report(_no_message(report), report)
        ordered = sorted(report.messages, key=lambda m: (m.sent is None, m.sent or datetime.min.replace(tzinfo=UTC)))
        problems: list[SirenaError] = []
        outcomes: list[Outcome] = []
        for message in ordered:
            try:
                inbound = read_message(message, self.areas)
            except CapNotUsable as exc:
                problems.append(exc)
                outcomes.append(Outcome(message_key(message), message.msg_type, "not_usable", detail=exc.detail()))
                continue
            outcome = await self._apply(inbound, report, origin, context, own_references, problems)
            outcomes.append(outcome)
        if strict and problems and not any(not o.failed for o in outcomes):
            raise _with_report(problems[0], report)
        return IngestResult(report, tuple(outcomes))

    # -- one message ------------------------------------------------------------------------------------------

    def _record(
        self, inbound: Inbound, report: Report, origin: str, alert_id: str | None, result: str
    ) -> StoredMessage:
        msg = inbound.message
        return StoredMessage(
            sender=msg.sender,
            identifier=msg.identifier,
            sent=inbound.key[2],
            msg_type=msg.msg_type,
            status=msg.status,
            alert_id=alert_id,
            outcome=result,
            origin=origin,
            signature=report.signature.value,
            received_at=_now(),
            references=tuple(r.key for r in msg.references),
        )

    async def _store_only(self, record: StoredMessage, body: str) -> bool:
        return await sql(self.service.store).transaction(lambda conn: sql_cap.insert_message(conn, record, body))

    def _referenced_alert(
        self, conn: Any, inbound: Inbound, own_references: bool
    ) -> tuple[str | None, bool, tuple[MessageKey, ...]]:
        """(alert id, whether a reference came from another sender, references not on record)."""
        other = False
        unknown: list[MessageKey] = []
        found: tuple[datetime, str] | None = None
        for ref in inbound.message.references:
            stored = sql_cap.find_message(conn, ref.key)
            if stored is None:
                own = (
                    c.parse_identifier(self.config.sender, ref.identifier) if ref.sender == self.config.sender else None
                )
                if own is not None and own_references:
                    when = ref.sent_at or datetime.min.replace(tzinfo=UTC)
                    if found is None or when >= found[0]:
                        found = (when, own[0])
                else:
                    unknown.append(ref.key)
                continue
            if stored.sender != inbound.message.sender:
                other = True
                continue
            if stored.alert_id is not None:
                when = ref.sent_at or datetime.min.replace(tzinfo=UTC)
                if found is None or when >= found[0]:
                    found = (when, stored.alert_id)
        return (found[1] if found else None), other, tuple(unknown)

    async def _apply(
        self,
        inbound: Inbound,
        report: Report,
        origin: str,
        context: ContextFactory,
        own_references: bool,
        problems: list[SirenaError],
    ) -> Outcome:
        key, msg_type = inbound.key, inbound.message.msg_type
        body = message_json(inbound.message)

        def lookup(
            conn: Any,
        ) -> tuple[StoredMessage | None, list[StoredMessage], tuple[str | None, bool, tuple[MessageKey, ...]]]:
            return (
                sql_cap.find_message(conn, key),
                sql_cap.referencing(conn, key),
                self._referenced_alert(conn, inbound, own_references),
            )

        existing, later, (alert_id, other_sender, unknown) = await sql(self.service.store).read(lookup)
        if existing is not None:
            return Outcome(key, msg_type, "duplicate", existing.alert_id, unknown_references=unknown)
        later = [m for m in later if m.sender == inbound.message.sender]
        if later:
            newest = later[0]
            await self._store_only(self._record(inbound, report, origin, newest.alert_id, "superseded"), body)
            return Outcome(key, msg_type, "superseded", newest.alert_id)
        action = inbound.action
        if action is not Action.ISSUE and alert_id is None:
            if other_sender and not unknown:
                return Outcome(key, msg_type, "other_sender", detail="references another sender's message")
            if action is not Action.UPDATE:
                await self._store_only(self._record(inbound, report, origin, None, "unknown_reference"), body)
                return Outcome(key, msg_type, "unknown_reference", unknown_references=unknown)
            action = Action.ISSUE  # an update of an alert never seen: it restates everything, so issue it

        results = {Action.ISSUE: "issued", Action.UPDATE: "updated", Action.END: "ended", Action.CANCEL: "cancelled"}
        result = results[action]

        end_hook = self.service.end_hook if action is Action.END else None

        def hook(conn: Any, written: WriteResult) -> None:
            record = self._record(inbound, report, origin, written.event.alert.id, result)
            if not sql_cap.insert_message(conn, record, body):
                raise AlreadyRecorded("cap.error.duplicate")
            if end_hook is not None:  # an end by CAP sends the all-clear like any other
                end_hook(conn, written)

        details = {"cap": list(key), "origin": origin}
        ctx = context(ACTIONS[action], details, hook)
        try:
            if action is Action.ISSUE:
                written = await self.service.issue(inbound.require_draft(), ctx=ctx)
            elif action is Action.UPDATE:
                assert alert_id is not None
                written = await self.service.update(alert_id, inbound.changes(), ctx=ctx)
            elif action is Action.END:
                assert alert_id is not None
                written = await self.service.end(alert_id, ctx=ctx)
            else:
                assert alert_id is not None
                written = await self.service.cancel(alert_id, ctx=ctx)
        except AlreadyRecorded:
            return Outcome(key, msg_type, "duplicate", alert_id, unknown_references=unknown)
        except InvalidTransition:
            await self._store_only(self._record(inbound, report, origin, alert_id, "alert_closed"), body)
            return Outcome(key, msg_type, "alert_closed", alert_id, unknown_references=unknown)
        except ApprovalNeeded as need:
            return Outcome(key, msg_type, "approval_needed", alert_id, ", ".join(need.reasons), unknown)
        except SirenaError as exc:
            problems.append(exc)
            result = "not_usable" if exc.status in {400, 404, 422} else "refused"
            return Outcome(key, msg_type, result, alert_id, exc.detail(), unknown)
        return Outcome(key, msg_type, result, written.event.alert.id, unknown_references=unknown)
