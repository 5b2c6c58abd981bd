"""Who may do what with channels, advisories, reports and the coordination line, and the shared plumbing of
their writes (time, audit). The checks raise the same ``403 scope-missing`` problems as alert writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sirena.auth.errors import ScopeMissing
from sirena.auth.principal import Principal, Role
from sirena.errors import UnknownRegion
from sirena.protocol.alert_json import format_time
from sirena.regions import RegionRegistry
from sirena.store import auth as sql_auth
from sirena.store.sql import Connection

Clock = Callable[[], datetime]

SYSTEM = "system"
"""The audit actor of what no person does (escalation, expiry)."""


def require_role(who: Principal, role: Role, action: str) -> None:
    if not who.has_role(role):
        raise ScopeMissing(
            "error.scope_missing_role",
            action=action,
            missing_scope=f"role:{role.value}",
            role=who.role.value,
            required_role=role.value,
        )


def is_admin(who: Principal) -> bool:
    return who.has_role(Role.ADMIN)


def stamp(moment: datetime | None) -> str | None:
    return format_time(moment)


def now_text(clock: Clock) -> str:
    text = format_time(clock())
    assert text is not None
    return text


def audit(
    conn: Connection, at: datetime, who: Principal | str, action: str, target: str, details: dict[str, Any]
) -> None:
    """The audit entry of a write, in the write's own transaction."""
    if isinstance(who, Principal):
        actor, details = who.actor, {"via": who.via, **details}
    else:
        actor = who
    sql_auth.append_audit(conn, at, actor, action, target, details)


def require_regions(who: Principal, regions: Iterable[str], registry: RegionRegistry, action: str) -> None:
    """Every region must lie in the caller's scope; the problem names the first one that does not."""
    for region_id in regions:
        if not who.covers(region_id, registry):
            name = registry.get(region_id).name("en") if region_id in registry else region_id
            raise ScopeMissing(
                "error.scope_missing_region",
                action=action,
                missing_scope=f"region:{region_id}",
                region=region_id,
                region_name=name,
            )


def check_regions(registry: RegionRegistry, ids: Iterable[str], field: str) -> tuple[str, ...]:
    """Known region ids, once each, in order; an unknown one is a 422 naming the field and value."""
    seen: dict[str, None] = {}
    for region_id in ids:
        if region_id not in registry:
            raise UnknownRegion("error.unknown_region", field=field, value=region_id)
        seen[region_id] = None
    return tuple(seen)
