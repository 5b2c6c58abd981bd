"""Notices: the events of the log that are not alert changes. Pure data, no I/O.

Advisories, situation reports, all-clears and the coordination line travel the same chain as alert events: one
sequence of numbers in one event log, the relay, the bus, the hub and every delivery channel. A client that
resumes with ``Last-Event-ID`` therefore gets alerts and notices in the order they were committed.

A notice carries its payload as the JSON object it is sent as (``body``); who may receive it (:class:`Reach`) is
read from that payload, so a notice decoded from the wire or the database routes exactly like the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sirena.domain.model import Event, Status


class NoticeType(StrEnum):
    ADVISORY_ISSUED = "advisory.issued"
    ADVISORY_UPDATED = "advisory.updated"
    ADVISORY_ENDED = "advisory.ended"
    REPORT_ADDED = "report.added"
    ALL_CLEAR = "alert.all_clear"
    COORDINATION_SENT = "coordination.sent"
    COORDINATION_DELIVERED = "coordination.delivered"
    COORDINATION_READ = "coordination.read"
    COORDINATION_ACKNOWLEDGED = "coordination.acknowledged"
    COORDINATION_ESCALATED = "coordination.escalated"

    @property
    def family(self) -> str:
        """``advisory``, ``report``, ``all_clear`` or ``coordination``."""
        if self is NoticeType.ALL_CLEAR:
            return "all_clear"
        return self.value.partition(".")[0]

    @property
    def member(self) -> str:
        """The key of the payload in the wire object: ``advisory``, ``report``, ``all_clear`` or ``message``."""
        return _MEMBER[self.family]

    @property
    def private(self) -> bool:
        """The coordination line: never public, only its participants and administrators."""
        return self.family == "coordination"


_MEMBER = {"advisory": "advisory", "report": "report", "all_clear": "all_clear", "coordination": "message"}


@dataclass(frozen=True, slots=True)
class Reach:
    """Who may receive a notice.

    - ``private``: only ``participants`` (user names) and administrators, authenticated; nothing else applies.
    - otherwise ``public`` notices go to every subscriber whose statuses and regions match, and a notice with a
      ``channel`` (and not public) only to that channel's subscribers. ``every_channel`` (the all-clear) is also
      shown in every channel, on channel-only outlets such as the MQTT channel topics.
    """

    public: bool
    channel: str | None = None
    every_channel: bool = False
    private: bool = False
    participants: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()
    status: Status = Status.ACTUAL


@dataclass(frozen=True, slots=True)
class Notice:
    """A committed notice: ``seq`` is in the same strictly increasing sequence as alert events."""

    seq: int
    type: NoticeType
    at: datetime
    body: Mapping[str, Any]
    reach: Reach = field(init=False, compare=False, repr=False)
    """Who may receive it, read from ``body`` once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reach", reach_of(self.type, self.body))

    @property
    def member(self) -> str:
        return self.type.member


LogEvent = Event | Notice
"""One entry of the event log: an alert event or a notice."""


def _status(body: Mapping[str, Any]) -> Status:
    try:
        return Status(body.get("status") or Status.ACTUAL.value)
    except ValueError:
        return Status.ACTUAL


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value if v is not None)


def reach_of(kind: NoticeType, body: Mapping[str, Any]) -> Reach:
    """Who may receive a notice of ``kind`` with this payload."""
    family = kind.family
    if family == "coordination":
        people = {str(body.get("from") or "")}
        people.update(_strings(body.get("to")))
        for receipt in body.get("receipts") or ():
            if isinstance(receipt, Mapping):
                people.update(_strings(receipt.get("notified")))
        people.discard("")
        return Reach(public=False, private=True, participants=frozenset(people))
    status = _status(body)
    if family == "advisory":
        channel = body.get("channel")
        return Reach(
            public=channel is None,
            channel=str(channel) if channel is not None else None,
            regions=_strings(body.get("regions")),
            status=status,
        )
    if family == "report":
        regions = _strings([body.get("region"), body.get("target_region")])
        return Reach(public=True, regions=regions, status=status)
    return Reach(public=True, every_channel=True, regions=_strings(body.get("regions")), status=status)
