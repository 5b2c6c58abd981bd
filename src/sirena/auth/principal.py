"""Who is acting: a user with a role, a region scope and channel grants, reached through a token or a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sirena.domain.state import RegionTree
from sirena.errors import NotFound
from sirena.store.auth import UserRecord


def now() -> datetime:
    """Now, in UTC, to the millisecond (the precision the store keeps)."""
    value = datetime.now(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class Role(StrEnum):
    """Each role may do everything the roles before it may."""

    VIEWER = "viewer"
    """Reads what issuers read (approvals in scope); writes nothing."""
    OPERATOR = "operator"
    """Drafts, issues, updates, ends and cancels alerts within scope."""
    APPROVER = "approver"
    """An operator who may also approve or reject another person's request within scope."""
    ADMIN = "admin"
    """An approver who may also read the audit log."""

    @property
    def rank(self) -> int:
        return list(Role).index(self)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    name: str
    role: Role
    scopes: frozenset[str] | None
    """Region ids whose subtrees the user may act on; ``None`` means everywhere (the built-in administrator)."""
    channels: frozenset[str] = frozenset()
    """Channels (advisory audiences) the user may publish to."""
    builtin: bool = False
    token_id: int | None = None
    token_name: str | None = None

    @classmethod
    def of(cls, user: UserRecord, *, token_id: int | None = None, token_name: str | None = None) -> Principal:
        return cls(
            user_id=user.id,
            name=user.name,
            role=Role(user.role),
            scopes=None if user.builtin else frozenset(user.scopes),
            channels=frozenset(user.channels),
            builtin=user.builtin,
            token_id=token_id,
            token_name=token_name,
        )

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.name}"

    @property
    def via(self) -> str:
        """The credential used: ``token:<id>`` or ``session``."""
        return f"token:{self.token_id}" if self.token_id is not None else "session"

    @property
    def issuer(self) -> str:
        """The ``issuer`` written on alerts: the user's name; ``token:<name>`` for the built-in administrator."""
        if self.builtin and self.token_name is not None:
            return f"token:{self.token_name}"
        return self.name

    def has_role(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    def covers(self, region_id: str, tree: RegionTree) -> bool:
        """Whether ``region_id`` lies in the subtree of one of the user's scope regions."""
        if self.scopes is None:
            return True
        if region_id in self.scopes:
            return True
        try:
            return any(a in self.scopes for a in tree.ancestors(region_id))
        except NotFound:  # a region the registry no longer has
            return False

    def may_use_channel(self, channel_id: str) -> bool:
        return self.builtin or channel_id in self.channels

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.value,
            "scopes": None if self.scopes is None else sorted(self.scopes),
            "channels": sorted(self.channels),
            "builtin": self.builtin,
        }
