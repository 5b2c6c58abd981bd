"""The coordination line: private, authenticated messages between issuers (neighbouring regions, air defence and
civil protection, two agencies clearing up a misunderstanding) that each addressee must acknowledge.

A message goes from one user to one or more users. Each addressee has a *receipt*: when the message was
delivered to them (shown on their coordination stream or listed in their inbox), read, and acknowledged, by
whom, with an optional note. The sender sees every receipt with its times.

An addressee who has not acknowledged after ``SIRENA_COORDINATION_ESCALATE_S`` seconds is escalated to their
*colleagues* (the other enabled operators who share a region scope or a channel with them; level 1), and after
``SIRENA_COORDINATION_ESCALATE_ADMINS_S`` seconds from sending to the administrators (level 2). Whoever the
message was escalated to may read it and acknowledge it on the addressee's behalf; administrators may read and
acknowledge every message.

Every change is a notice (``coordination.sent|delivered|read|acknowledged|escalated``) in the event log with
the message as it stands; the live outlets hand these only to the message's participants and administrators,
authenticated: never to the public stream, webhooks, push, MQTT or CAP feeds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sirena.advisories.access import SYSTEM, Clock, audit, is_admin, now_text, require_role, stamp
from sirena.advisories.errors import MessageNotFound, NotAddressed
from sirena.auth.principal import Principal, Role
from sirena.auth.storage import sql_store
from sirena.domain.model import Status
from sirena.domain.notice import Notice, NoticeType
from sirena.errors import AlertNotFound, ValidationFailed
from sirena.ids import new_id
from sirena.messages import Phrase
from sirena.protocol.alert_json import parse_time
from sirena.store import advisories as sql
from sirena.store import auth as sql_auth
from sirena.store.auth import UserRecord
from sirena.store.base import Appended
from sirena.store.sql import Connection
from sirena.store.sqlite import _load_alert

SEND, READ, ACK, ESCALATE = (
    "coordination.send",
    "coordination.read",
    "coordination.acknowledge",
    "coordination.escalate",
)
MAX_ADDRESSEES = 20
COLLEAGUES, ADMINISTRATORS = 1, 2
"""Escalation levels."""


def state_of(message: dict[str, Any]) -> str:
    """``acknowledged`` once every addressee has acknowledged; else ``read``, ``delivered`` or ``sent`` by the
    least advanced receipt."""
    receipts = message.get("receipts") or []
    for state, key in (("acknowledged", "acknowledged_at"), ("read", "read_at"), ("delivered", "delivered_at")):
        if receipts and all(r.get(key) for r in receipts):
            return state
    return "sent"


def _full(message: dict[str, Any]) -> dict[str, Any]:
    message["state"] = state_of(message)
    message["escalated"] = any(r["level"] > 0 for r in message.get("receipts") or [])
    return message


def colleagues(users: Sequence[UserRecord], name: str, exclude: Sequence[str] = ()) -> list[str]:
    """The other enabled operators (or above) who share a region scope or a channel with user ``name``."""
    me = next((u for u in users if u.name == name), None)
    if me is None:
        return []
    mine = set(me.scopes) | {f"channel:{c}" for c in me.channels}
    found: list[str] = []
    for user in users:
        if user.name == name or user.name in exclude or user.builtin or user.disabled_at is not None:
            continue
        if Role(user.role).rank < Role.OPERATOR.rank:
            continue
        if (set(user.scopes) | {f"channel:{c}" for c in user.channels}) & mine:
            found.append(user.name)
    return found


def administrators(users: Sequence[UserRecord]) -> list[str]:
    return [u.name for u in users if u.role == Role.ADMIN.value and u.disabled_at is None]


class CoordinationLine:
    def __init__(self, store: object, clock: Clock, *, escalate_s: float, escalate_admins_s: float) -> None:
        self.sql = sql_store(store)
        self.clock = clock
        self.escalate_s = escalate_s
        self.escalate_admins_s = escalate_admins_s

    # -- sending --------------------------------------------------------------------------------------------

    async def send(
        self,
        who: Principal,
        to: Sequence[str],
        text: str,
        *,
        alert_id: str | None = None,
        status: Status = Status.ACTUAL,
    ) -> dict[str, Any]:
        require_role(who, Role.OPERATOR, SEND)
        addressees = list(dict.fromkeys(name.strip() for name in to if name.strip()))
        if not addressees or len(addressees) > MAX_ADDRESSEES:
            raise ValidationFailed(
                "error.validation_field", field="to", reason=Phrase("validation.reason.addressees", most=MAX_ADDRESSEES)
            )
        if who.name in addressees:
            raise ValidationFailed(
                "error.validation_field", field="to", value=who.name, reason=Phrase("validation.reason.to_yourself")
            )
        if not text.strip():
            raise ValidationFailed("error.validation_field", field="text", reason=Phrase("validation.reason.empty"))
        moment = self.clock()
        message_id = new_id(moment)
        message: dict[str, Any] = {
            "id": message_id,
            "from": who.name,
            "to": addressees,
            "text": text.strip(),
            "alert_id": alert_id,
            "status": status.value,
            "sent_at": stamp(moment),
        }
        first = stamp(moment + timedelta(seconds=self.escalate_s)) if self.escalate_s > 0 else None

        def run(conn: Connection) -> Appended:
            for name in addressees:
                user = sql_auth.user_by_name(conn, name)
                if user is None or user.disabled_at is not None:
                    raise ValidationFailed("advisories.error.unknown_addressee", field="to", value=name)
            if alert_id is not None and _load_alert(conn, alert_id) is None:
                raise AlertNotFound("error.alert_not_found", alert_id=alert_id)
            sql.insert_message(conn, message, first)
            full = self._load(conn, message_id)
            notice = sql.append_notice(conn, NoticeType.COORDINATION_SENT, message_id, moment, full)
            audit(conn, moment, who, SEND, f"coordination:{message_id}", {"seq": notice.seq, "to": addressees})
            return Appended((notice,), full)

        done = await self.sql.transaction(run)
        return dict(done.value)

    # -- reading --------------------------------------------------------------------------------------------

    def _load(self, conn: Connection, message_id: str) -> dict[str, Any]:
        found = sql.load_message(conn, message_id)
        if found is None:
            raise MessageNotFound("advisories.error.message_not_found", message=message_id)
        return _full(found)

    def _visible(self, conn: Connection, who: Principal, message_id: str) -> dict[str, Any]:
        """The message if ``who`` may read it; otherwise the same 404 as for no message at all."""
        if not is_admin(who) and not sql.may_read(conn, message_id, who.name):
            raise MessageNotFound("advisories.error.message_not_found", message=message_id)
        return self._load(conn, message_id)

    async def get(self, who: Principal, message_id: str) -> dict[str, Any]:
        return await self.sql.read(lambda conn: self._visible(conn, who, message_id))

    async def box(self, who: Principal, box: str = "inbox", limit: int = 100) -> list[dict[str, Any]]:
        """Messages ``who`` may read (administrators: every message) in ``box`` (``inbox``, ``outbox``, ``all``),
        newest first. Listing the inbox marks the caller's own receipts delivered."""
        user = None if is_admin(who) and box == "all" else who.name

        def run(conn: Connection) -> list[dict[str, Any]]:
            return [self._load(conn, mid) for mid in sql.message_ids(conn, user, box, limit)]

        found = await self.sql.read(run)
        if box == "inbox":
            undelivered = [m["id"] for m in found if receipt_flag(m, who.name, "delivered_at") is False]
            if undelivered:
                marked = {m["id"]: m for m in await self.mark_many(who, undelivered, "delivered_at")}
                found = [marked.get(m["id"], m) for m in found]
        return found

    # -- receipts -------------------------------------------------------------------------------------------

    async def mark_many(self, who: Principal, message_ids: Sequence[str], column: str) -> list[dict[str, Any]]:
        """Mark ``who``'s own receipts ``delivered_at`` or ``read_at`` (once; an addressee only)."""
        kind = NoticeType.COORDINATION_DELIVERED if column == "delivered_at" else NoticeType.COORDINATION_READ
        moment = self.clock()

        def run(conn: Connection) -> Appended:
            notices: list[Notice] = []
            changed: list[dict[str, Any]] = []
            for message_id in message_ids:
                message = self._visible(conn, who, message_id)
                flag = receipt_flag(message, who.name, column)
                if flag is not False:  # not an addressee, or marked already
                    changed.append(message)
                    continue
                values: dict[str, Any] = {column: stamp(moment)}
                if column == "read_at" and receipt_flag(message, who.name, "delivered_at") is False:
                    values["delivered_at"] = stamp(moment)
                sql.set_receipt(conn, message_id, who.name, **values)
                message = self._load(conn, message_id)
                notices.append(sql.append_notice(conn, kind, message_id, moment, message))
                if column == "read_at":
                    audit(conn, moment, who, READ, f"coordination:{message_id}", {"seq": notices[-1].seq})
                changed.append(message)
            return Appended(tuple(notices), changed)

        done = await self.sql.transaction(run)
        return list(done.value)

    async def delivered(self, who: Principal, message_id: str) -> dict[str, Any]:
        return (await self.mark_many(who, [message_id], "delivered_at"))[0]

    async def read(self, who: Principal, message_id: str) -> dict[str, Any]:
        return (await self.mark_many(who, [message_id], "read_at"))[0]

    async def acknowledge(
        self, who: Principal, message_id: str, *, note: str | None = None, via: str = "api"
    ) -> dict[str, Any]:
        """Acknowledge as an addressee, for an addressee the message was escalated to ``who`` for, or (an
        administrator) for every addressee who has not. Acknowledging again changes nothing."""
        moment = self.clock()
        note = note.strip()[:1000] if note and note.strip() else None

        def run(conn: Connection) -> Appended:
            message = self._visible(conn, who, message_id)
            mine = [
                r
                for r in message["receipts"]
                if r["to"] == who.name or who.name in r["notified"] or (is_admin(who) and who.name != message["from"])
            ]
            if not mine:
                raise NotAddressed("advisories.error.not_addressed", message=message_id)
            open_ = [r for r in mine if not r["acknowledged_at"]]
            if not open_:
                return Appended((), message)
            for receipt in open_:
                values: dict[str, Any] = {
                    "acknowledged_at": stamp(moment),
                    "acknowledged_by": who.name,
                    "note": note,
                    "next_at": None,
                }
                if not receipt["delivered_at"]:
                    values["delivered_at"] = stamp(moment)
                if not receipt["read_at"] and receipt["to"] == who.name:
                    values["read_at"] = stamp(moment)
                sql.set_receipt(conn, message_id, receipt["to"], **values)
            message = self._load(conn, message_id)
            notice = sql.append_notice(conn, NoticeType.COORDINATION_ACKNOWLEDGED, message_id, moment, message)
            details = {"seq": notice.seq, "for": [r["to"] for r in open_], "via": via}
            audit(conn, moment, who, ACK, f"coordination:{message_id}", details)
            return Appended((notice,), message)

        done = await self.sql.transaction(run)
        return dict(done.value)

    # -- escalation -----------------------------------------------------------------------------------------

    async def escalate_due(self) -> int:
        """Escalate every unacknowledged receipt that is due; returns how many were escalated."""
        now = now_text(self.clock)
        due = await self.sql.read(lambda conn: sql.due_receipts(conn, now))
        count = 0
        for message_id, addressee, level in due:
            step = functools.partial(self._escalate, message_id=message_id, addressee=addressee, level=level)
            if await self.sql.transaction(step):
                count += 1
        return count

    def _escalate(self, conn: Connection, message_id: str, addressee: str, level: int) -> Appended | None:
        moment = self.clock()
        message = self._load(conn, message_id)
        receipt = next((r for r in message["receipts"] if r["to"] == addressee), None)
        if receipt is None or receipt["acknowledged_at"] or receipt["level"] != level:
            return None  # acknowledged or escalated meanwhile
        due = parse_time(receipt["escalates_at"])
        if due is None or due > moment:
            return None
        users = sql_auth.list_users(conn)
        involved = [message["from"], addressee, *receipt["notified"]]
        targets: list[str] = []
        if level < COLLEAGUES:
            targets = colleagues(users, addressee, exclude=involved)
            new_level = COLLEAGUES
        if not targets:
            targets = [name for name in administrators(users) if name not in involved]
            new_level = ADMINISTRATORS
        sent = parse_time(message["sent_at"])
        assert sent is not None
        later = sent + timedelta(seconds=self.escalate_admins_s)
        next_at = stamp(max(later, moment)) if new_level < ADMINISTRATORS else None
        notified = list(dict.fromkeys([*receipt["notified"], *targets]))
        sql.set_receipt(
            conn, message_id, addressee, level=new_level, escalated_at=stamp(moment), next_at=next_at, notified=notified
        )
        sql.add_access(conn, message_id, targets)
        message = self._load(conn, message_id)
        notice = sql.append_notice(conn, NoticeType.COORDINATION_ESCALATED, message_id, moment, message)
        details = {"seq": notice.seq, "addressee": addressee, "level": new_level, "to": targets}
        audit(conn, moment, SYSTEM, ESCALATE, f"coordination:{message_id}", details)
        return Appended((notice,), message)

    async def next_due(self) -> datetime | None:
        return parse_time(await self.sql.read(sql.next_due))


def receipt_flag(message: dict[str, Any], name: str, column: str) -> bool | None:
    """Whether ``name``'s receipt has ``column`` set; ``None`` when ``name`` is not an addressee."""
    for receipt in message.get("receipts") or []:
        if receipt["to"] == name:
            return bool(receipt[column])
    return None
