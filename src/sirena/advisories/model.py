"""Channels, advisories, situation reports and the value lists they use. Pure data, no I/O.

Records travel as JSON objects (the same dicts are stored, streamed and returned by the API); the dataclasses
here are the validated drafts that become those objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sirena.domain.model import Status, ThreatType


class Audience(StrEnum):
    """Who an advisory is for: everyone in its regions, or the subscribers of one channel."""

    PUBLIC = "public"
    CHANNEL = "channel"


class AdvisoryType(StrEnum):
    CLOSURE = "closure"
    """An office, embassy or service closes (or changes its hours)."""
    SHELTER_READINESS = "shelter_readiness"
    """Be ready to go to a shelter when the sirens sound."""
    TRAVEL = "travel"
    """Travel advice: routes, borders, evacuation trains."""
    PRE_ALERT = "pre_alert"
    """An attack is likely within hours (a mass missile launch, say): no siren yet."""
    ALL_CLEAR = "all_clear"
    """The danger is over (issued by hand; ending an alert can send one by itself)."""
    INFO = "info"
    """Anything else worth knowing."""


class Severity(StrEnum):
    """CAP's severity scale, lower case."""

    EXTREME = "extreme"
    SEVERE = "severe"
    MODERATE = "moderate"
    MINOR = "minor"
    UNKNOWN = "unknown"


DEFAULT_SEVERITY: Mapping[AdvisoryType, Severity] = {
    AdvisoryType.CLOSURE: Severity.MODERATE,
    AdvisoryType.SHELTER_READINESS: Severity.SEVERE,
    AdvisoryType.TRAVEL: Severity.MODERATE,
    AdvisoryType.PRE_ALERT: Severity.SEVERE,
    AdvisoryType.ALL_CLEAR: Severity.MINOR,
    AdvisoryType.INFO: Severity.MINOR,
}


class AdvisoryState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class ReportKind(StrEnum):
    """What a situation report tells."""

    MOVEMENT = "movement"
    """A threat was seen moving: type, count, heading or target region."""
    INTERCEPTION = "interception"
    """Air defence destroyed some: type, count, region."""
    IMPACT = "impact"
    """Something hit: type, count, region."""


@dataclass(frozen=True, slots=True)
class ChannelDraft:
    id: str
    name: str
    audience: str = ""
    languages: tuple[str, ...] = ("uk", "en")


@dataclass(frozen=True, slots=True)
class AdvisoryDraft:
    """A new advisory. ``channel`` ``None``: public, for everyone in ``regions``."""

    type: AdvisoryType
    headline: Mapping[str, str]
    text: Mapping[str, str] = field(default_factory=dict)
    channel: str | None = None
    severity: Severity | None = None
    regions: tuple[str, ...] = ()
    status: Status = Status.ACTUAL
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    alert_id: str | None = None
    """An alert the advisory belongs with, if any."""


@dataclass(frozen=True, slots=True)
class AdvisoryChanges:
    """A partial update; ``None`` leaves a field as it is (the channel and type never change)."""

    severity: Severity | None = None
    regions: tuple[str, ...] | None = None
    headline: Mapping[str, str] | None = None
    text: Mapping[str, str] | None = None
    expires_at: datetime | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class ReportDraft:
    """A situation report on an active alert.

    ``region`` is where it was seen (movement), shot down (interception) or hit (impact). A movement names a
    ``heading_deg`` (0 = north, clockwise) or a ``target_region``, or both. ``follow_up`` marks a movement of a
    group already reported, so the group counts once in the statistics.
    """

    alert_id: str
    kind: ReportKind
    threat: ThreatType
    region: str
    count: int = 1
    observed_at: datetime | None = None
    heading_deg: float | None = None
    target_region: str | None = None
    location: Location | None = None
    text: Mapping[str, str] = field(default_factory=dict)
    follow_up: bool = False


def counts_of(report: Mapping[str, Any]) -> tuple[int, int, int]:
    """What a report adds to the statistics: ``(reported, intercepted, impacts)``."""
    count = int(report.get("count") or 0)
    kind = report.get("kind")
    if kind == ReportKind.MOVEMENT.value:
        return (0 if report.get("follow_up") else count, 0, 0)
    if kind == ReportKind.INTERCEPTION.value:
        return (0, count, 0)
    return (0, 0, count)
