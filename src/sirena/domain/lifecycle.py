"""Alert lifecycle: issue → update* → end (threat over) or cancel (issued in error).

Each transition is a pure function from the current alert to the next version and the event type that records
it. Invalid transitions raise :class:`~sirena.errors.InvalidTransition`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import NamedTuple

from sirena.domain.model import (
    Alert,
    AlertChanges,
    AlertDraft,
    AlertState,
    EventType,
)
from sirena.domain.texts import default_headline, marked_headline
from sirena.errors import InvalidTransition

Resolved = tuple[tuple[str, ...], tuple[str, ...], int | None]
"""An alert's regions, partial regions and time to shelter in seconds, as the service resolved them."""


class Transition(NamedTuple):
    alert: Alert
    event: EventType


def issue(draft: AlertDraft, *, alert_id: str, now: datetime, resolved: Resolved | None = None) -> Transition:
    """The first version of an alert; ``resolved`` (regions, partial regions, time to shelter) stands for the
    draft's own when the caller worked them out, sparing a copy of the draft."""
    started = draft.started_at or now
    regions, partial, shelter_s = resolved or (draft.regions, draft.partial_regions, draft.time_to_shelter_s)
    alert = Alert(
        id=alert_id,
        version=1,
        state=AlertState.ACTIVE,
        target=draft.target,
        regions=regions,
        partial_regions=partial,
        kind=draft.kind,
        level=draft.level,
        status=draft.status,
        threats=draft.threats,
        issuer=draft.issuer,
        started_at=started,
        updated_at=now,
        expires_at=draft.expires_at,
        headline=marked_headline(draft.headline, draft.status) or default_headline(draft.kind, draft.status),
        instruction=dict(draft.instruction),
        time_to_shelter_s=shelter_s,
        source=draft.source,
    )
    return Transition(alert, EventType.ISSUED)


def _require_active(alert: Alert, action: str) -> None:
    if not alert.is_active:
        raise InvalidTransition("error.invalid_transition", alert_id=alert.id, state=alert.state.value, action=action)


def update(alert: Alert, changes: AlertChanges, *, now: datetime) -> Transition:
    _require_active(alert, "update")
    values = {
        name: getattr(changes, name)
        for name in AlertChanges.__slots__
        if getattr(changes, name) is not None and name in {f.name for f in dataclasses.fields(Alert)}
    }
    if changes.regions is not None and changes.partial_regions is None:
        values["partial_regions"] = ()
    if changes.headline is not None:
        values["headline"] = marked_headline(changes.headline, alert.status)
    nxt = dataclasses.replace(alert, **values, version=alert.version + 1, updated_at=now)
    return Transition(nxt, EventType.UPDATED)


def end(alert: Alert, *, now: datetime) -> Transition:
    _require_active(alert, "end")
    nxt = dataclasses.replace(alert, state=AlertState.ENDED, version=alert.version + 1, updated_at=now, ended_at=now)
    return Transition(nxt, EventType.ENDED)


def cancel(alert: Alert, *, now: datetime) -> Transition:
    _require_active(alert, "cancel")
    nxt = dataclasses.replace(
        alert, state=AlertState.CANCELLED, version=alert.version + 1, updated_at=now, ended_at=now
    )
    return Transition(nxt, EventType.CANCELLED)
