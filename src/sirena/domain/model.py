"""The alert model: kinds, threats, levels, statuses, targets, alerts and events. Pure data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What the alert warns of."""

    AIR_RAID = "air_raid"
    ARTILLERY_SHELLING = "artillery_shelling"
    URBAN_FIGHTS = "urban_fights"
    CHEMICAL = "chemical"
    NUCLEAR = "nuclear"


class ThreatType(StrEnum):
    """The weapon or activity behind an alert; an alert may carry several."""

    DRONES = "drones"
    BALLISTIC_MISSILES = "ballistic_missiles"
    CRUISE_MISSILES = "cruise_missiles"
    UNSPECIFIED_MISSILES = "unspecified_missiles"
    GUIDED_AERIAL_BOMBS = "guided_aerial_bombs"
    TACTIC_AIRCRAFT_ACTIVITY = "tactic_aircraft_activity"
    STRATEGIC_AIRCRAFT_ACTIVITY = "strategic_aircraft_activity"
    MIG31K_DEPARTURE = "mig31k_departure"
    AIR_DEFENSE = "air_defense"
    UNKNOWN = "unknown"


class Level(StrEnum):
    """Alert level: red means act now, yellow means be ready."""

    RED = "red"
    YELLOW = "yellow"

    @property
    def rank(self) -> int:
        return 2 if self is Level.RED else 1


class Status(StrEnum):
    """Whether an alert is real. Exercises and tests reach only those who ask for them."""

    ACTUAL = "actual"
    EXERCISE = "exercise"
    TEST = "test"


class AlertState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class EventType(StrEnum):
    ISSUED = "alert.issued"
    UPDATED = "alert.updated"
    ENDED = "alert.ended"
    CANCELLED = "alert.cancelled"


class Source(StrEnum):
    """Where an alert came from: issued here, ingested from CAP, or imported history."""

    SIRENA = "sirena"
    CAP = "cap"
    OFFICIAL = "official"
    VOLUNTEER = "volunteer"


@dataclass(frozen=True, slots=True)
class Threat:
    type: ThreatType
    level: Level = Level.RED


@dataclass(frozen=True, slots=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class Target:
    """Exactly one of: region ids, a GeoJSON (Multi)Polygon, or a circle."""

    regions: tuple[str, ...] = ()
    area: Mapping[str, Any] | None = None
    circle: Circle | None = None

    @property
    def is_geometry(self) -> bool:
        return self.area is not None or self.circle is not None


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """Everything needed to issue an alert. ``regions`` and ``partial_regions`` are resolved from the target
    by the service before the alert is issued."""

    target: Target
    regions: tuple[str, ...] = ()
    partial_regions: tuple[str, ...] = ()
    kind: Kind = Kind.AIR_RAID
    level: Level = Level.RED
    status: Status = Status.ACTUAL
    threats: tuple[Threat, ...] = ()
    issuer: str = "system"
    headline: Mapping[str, str] = field(default_factory=dict)
    instruction: Mapping[str, str] = field(default_factory=dict)
    time_to_shelter_s: int | None = None
    expires_at: datetime | None = None
    source: Source = Source.SIRENA
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """A partial update; ``None`` leaves a field as it is. A new target comes with its resolved regions."""

    target: Target | None = None
    regions: tuple[str, ...] | None = None
    partial_regions: tuple[str, ...] | None = None
    kind: Kind | None = None
    level: Level | None = None
    threats: tuple[Threat, ...] | None = None
    headline: Mapping[str, str] | None = None
    instruction: Mapping[str, str] | None = None
    time_to_shelter_s: int | None = None
    expires_at: datetime | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as it stands now. Each update produces a new version with the same id."""

    id: str
    version: int
    state: AlertState
    target: Target
    regions: tuple[str, ...]
    partial_regions: tuple[str, ...]
    kind: Kind
    level: Level
    status: Status
    threats: tuple[Threat, ...]
    issuer: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    expires_at: datetime | None = None
    headline: Mapping[str, str] = field(default_factory=dict)
    instruction: Mapping[str, str] = field(default_factory=dict)
    time_to_shelter_s: int | None = None
    source: Source = Source.SIRENA

    @property
    def is_active(self) -> bool:
        return self.state is AlertState.ACTIVE

    @property
    def touched_regions(self) -> tuple[str, ...]:
        """Every region the alert covers fully or in part."""
        return self.regions + self.partial_regions


@dataclass(frozen=True, slots=True)
class Event:
    """A committed change: ``seq`` is strictly increasing across the whole event log."""

    seq: int
    type: EventType
    alert: Alert
    at: datetime
