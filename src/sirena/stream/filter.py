"""Which events a live client wants: regions (with their descendants and ancestors), statuses and channels.

Alerts reach a client by region and status. Notices (advisories, reports, all-clears) reach it by the same
rules when they are public, and only when the client asked for their channel (``channels``) when they are not.
Coordination messages reach only an authenticated listener (``inbox``) who takes part in them, or an
administrator (``inbox`` = :data:`EVERY_INBOX`); such a listener receives nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sirena.domain.model import Alert, Event, Status
from sirena.domain.notice import LogEvent
from sirena.domain.state import RegionTree


@dataclass(frozen=True, slots=True)
class EventFilter:
    statuses: frozenset[Status] = frozenset({Status.ACTUAL})
    regions: frozenset[str] | None = None
    """Already expanded: the requested regions, their descendants and their ancestors. ``None`` means all."""
    channels: frozenset[str] = frozenset()
    """Channels whose advisories the client asked for, besides everything public."""
    inbox: str | None = None
    """Only for an authenticated coordination listener: the user whose messages it receives."""

    @classmethod
    def build(
        cls,
        tree: RegionTree,
        regions: Iterable[str] | None = None,
        statuses: Iterable[Status] | None = None,
        channels: Iterable[str] = (),
    ) -> EventFilter:
        expanded: set[str] | None = None
        if regions is not None:
            expanded = set()
            for region_id in regions:
                expanded.add(region_id)
                expanded.update(tree.descendants(region_id))
                expanded.update(tree.ancestors(region_id))
        return cls(
            statuses=frozenset(statuses) if statuses is not None else frozenset({Status.ACTUAL}),
            regions=frozenset(expanded) if expanded is not None else None,
            channels=frozenset(channels),
        )

    def matches(self, alert: Alert) -> bool:
        if self.inbox is not None or alert.status not in self.statuses:
            return False
        if self.regions is None:
            return True
        return any(r in self.regions for r in alert.touched_regions)

    def accepts(self, event: LogEvent) -> bool:
        """Whether the client receives ``event`` (an alert event or a notice)."""
        if isinstance(event, Event):
            return self.matches(event.alert)
        reach = event.reach
        if reach.private:
            return self.inbox is not None and (self.inbox == EVERY_INBOX or self.inbox in reach.participants)
        if self.inbox is not None or reach.status not in self.statuses:
            return False
        if not reach.public and (reach.channel is None or reach.channel not in self.channels):
            return False
        return self.regions is None or not reach.regions or any(r in self.regions for r in reach.regions)


EVERY_INBOX = "*"
"""The ``inbox`` of an administrator: every coordination message."""
