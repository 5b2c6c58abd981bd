"""The alert model, lifecycle transitions and derived region state: pure, no I/O."""

from sirena.domain.lifecycle import Transition, cancel, end, issue, update
from sirena.domain.model import (
    Alert,
    AlertChanges,
    AlertDraft,
    AlertState,
    Circle,
    Event,
    EventType,
    Kind,
    Level,
    Source,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.domain.state import Coverage, RegionState, derive

__all__ = [
    "Alert",
    "AlertChanges",
    "AlertDraft",
    "AlertState",
    "Circle",
    "Coverage",
    "Event",
    "EventType",
    "Kind",
    "Level",
    "RegionState",
    "Source",
    "Status",
    "Target",
    "Threat",
    "ThreatType",
    "Transition",
    "cancel",
    "derive",
    "end",
    "issue",
    "update",
]
