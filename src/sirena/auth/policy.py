"""What each role may do, where (region scope, channels), and which actions need a second person.

The checks are pure functions of the principal, the alert as it is and as it would be, and the region tree.
The :class:`Guard` runs them inside the write transaction, so it always judges the committed alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sirena.auth.errors import ScopeMissing
from sirena.auth.principal import Principal, Role
from sirena.domain.model import Alert, Kind, Status
from sirena.errors import ConfigurationError
from sirena.regions import RegionRegistry


class Action(StrEnum):
    ISSUE = "alert.issue"
    UPDATE = "alert.update"
    END = "alert.end"
    CANCEL = "alert.cancel"
    APPROVE = "approval.approve"
    REJECT = "approval.reject"
    READ_AUDIT = "audit.read"


WRITE_ACTIONS = (Action.ISSUE, Action.UPDATE, Action.END, Action.CANCEL, Action.APPROVE, Action.REJECT)

REQUIRED_ROLE: dict[Action, Role] = {
    Action.ISSUE: Role.OPERATOR,
    Action.UPDATE: Role.OPERATOR,
    Action.END: Role.OPERATOR,
    Action.CANCEL: Role.OPERATOR,
    Action.APPROVE: Role.APPROVER,
    Action.REJECT: Role.APPROVER,
    Action.READ_AUDIT: Role.ADMIN,
}


def require_role(who: Principal, action: Action) -> None:
    role = REQUIRED_ROLE[action]
    if not who.has_role(role):
        raise ScopeMissing(
            "error.scope_missing_role",
            action=action.value,
            missing_scope=f"role:{role.value}",
            role=who.role.value,
            required_role=role.value,
        )


def require_regions(who: Principal, regions: Iterable[str], registry: RegionRegistry, action: Action) -> None:
    """Every region must lie in the caller's scope; the problem names the first one that does not."""
    for region_id in regions:
        if not who.covers(region_id, registry):
            name = registry.get(region_id).name("en") if region_id in registry else region_id
            raise ScopeMissing(
                "error.scope_missing_region",
                action=action.value,
                missing_scope=f"region:{region_id}",
                region=region_id,
                region_name=name,
            )


def require_channel(who: Principal, channel_id: str, action: str) -> None:
    """For channel-addressed publications (advisories): the caller must hold a grant for the channel."""
    if not who.may_use_channel(channel_id):
        raise ScopeMissing(
            "error.scope_missing_channel", action=action, missing_scope=f"channel:{channel_id}", channel=channel_id
        )


# -- the two-person rule ---------------------------------------------------------------------------------------

RULES = {
    "multi_oblast": "an actual alert covering more than one top-level region (oblast)",
    "nationwide": "an alert for the whole country",
    "nuclear": "a nuclear (radiation) alert",
    "chemical": "a chemical alert",
    "all_actual": "every actual alert",
}


@dataclass(frozen=True, slots=True)
class ApprovalRules:
    """Which alerts need a second person before they go out (``SIRENA_APPROVAL_POLICY``)."""

    rules: frozenset[str]

    @classmethod
    def parse(cls, spec: str) -> ApprovalRules:
        names = frozenset(part.strip() for part in spec.split(",") if part.strip())
        unknown = sorted(names - RULES.keys())
        if unknown:
            raise ConfigurationError(
                "error.bad_setting", name="SIRENA_APPROVAL_POLICY", value=spec, type=" | ".join(sorted(RULES))
            )
        return cls(names)

    def reasons(self, alert: Alert, registry: RegionRegistry) -> tuple[str, ...]:
        """The rules this alert falls under, in a stable order."""
        found: list[str] = []
        touched = alert.touched_regions
        if "nationwide" in self.rules and registry.root_id in touched:
            found.append("nationwide")
        if "multi_oblast" in self.rules and alert.status is Status.ACTUAL and len(oblasts(alert, registry)) > 1:
            found.append("multi_oblast")
        if "nuclear" in self.rules and alert.kind is Kind.NUCLEAR:
            found.append("nuclear")
        if "chemical" in self.rules and alert.kind is Kind.CHEMICAL:
            found.append("chemical")
        if "all_actual" in self.rules and alert.status is Status.ACTUAL:
            found.append("all_actual")
        return tuple(found)

    def needed(self, current: Alert | None, proposed: Alert, registry: RegionRegistry) -> tuple[str, ...]:
        """The rules that make this change wait for a second person: a new alert under any rule, or an update
        that brings the alert under a rule it was not under, or spreads it to further oblasts."""
        now = self.reasons(proposed, registry)
        if not now or current is None:
            return now
        before = self.reasons(current, registry)
        if set(now) - set(before):
            return now
        if oblasts(proposed, registry) - oblasts(current, registry):
            return now
        return ()


def oblasts(alert: Alert, registry: RegionRegistry) -> frozenset[str]:
    """The top-level regions an alert touches (all of them for a nationwide alert)."""
    found: set[str] = set()
    for region_id in alert.touched_regions:
        if region_id not in registry:
            continue
        top = registry.oblast_of(region_id)
        if top is None:
            found.update(r.id for r in registry.children(registry.root_id))
        else:
            found.add(top)
    return frozenset(found)


class ApprovalNeeded(Exception):
    """Raised by the guard instead of writing: the change waits for a second person."""

    def __init__(self, proposed: Alert, reasons: tuple[str, ...]) -> None:
        super().__init__(", ".join(reasons))
        self.proposed = proposed
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class Guard:
    """Authorises one alert write: role, then scope over the alert as it is and as it would be, then the
    two-person rule. Runs inside the write transaction (see ``AlertService``)."""

    who: Principal
    action: Action
    registry: RegionRegistry
    rules: ApprovalRules | None = None
    """``None`` when the change may not wait: end, cancel, an approved request, an exempt caller."""

    def __call__(self, current: Alert | None, proposed: Alert) -> None:
        require_role(self.who, self.action)
        touched = list(current.touched_regions) if current is not None else []
        touched += [r for r in proposed.touched_regions if r not in touched]
        require_regions(self.who, touched, self.registry, self.action)
        if self.rules is not None and self.action in (Action.ISSUE, Action.UPDATE):
            reasons = self.rules.needed(current, proposed, self.registry)
            if reasons:
                raise ApprovalNeeded(proposed, reasons)
