"""User accounts: creation with role, region scope and channel grants; passwords hashed with Argon2id;
login with lockout and backoff; browser sessions with a CSRF token.

Every change is audited in the same transaction. Password hashing and checking run in a worker thread so a
login never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sirena.auth.errors import AccountLocked, LoginFailed, UserNotFound
from sirena.auth.principal import Principal, Role, now
from sirena.auth.storage import sql_store
from sirena.errors import ValidationFailed
from sirena.protocol.alert_json import format_time
from sirena.regions import RegionRegistry
from sirena.store import auth as sql
from sirena.store.auth import UserRecord
from sirena.store.sql import Connection

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
LOCKOUT_MAX_S = 3600.0

# A hash of a password nobody knows: checked when the user does not exist, so that a wrong name costs as much
# time as a wrong password and timing does not tell which names exist.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$wyW1ycf45SEXtIwS+o41FA$e8EykRDlrsIfdlsds4bBqb/bI77VJBXXPIa3MH8BpSc"


def hash_password(password: str) -> str:
    return PasswordHasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    try:
        return PasswordHasher().verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def session_hash(token: str) -> str:
    return hashlib.sha256(b"session:" + token.encode()).hexdigest()


def csrf_token(session: str) -> str:
    """The CSRF token of a session: derived from the (HttpOnly) session secret, so only a page that was given
    it can send it back."""
    return hashlib.sha256(b"csrf:" + session.encode()).hexdigest()


def csrf_ok(session: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token(session), sent)


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    lockout_after: int = 5
    """Failed logins in a row before the account locks (0: never)."""
    lockout_s: float = 30.0
    """First lock; each further failure doubles it, up to an hour."""
    session_ttl_s: float = 43_200.0


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    csrf: str
    expires_at: datetime
    principal: Principal


def validate_user(
    name: str, role: str, scopes: Sequence[str], channels: Sequence[str], registry: RegionRegistry
) -> Role:
    if not NAME.fullmatch(name):
        raise ValidationFailed("error.user_name", field="name", value=name)
    try:
        parsed = Role(role)
    except ValueError:
        raise ValidationFailed("error.bad_choice", field="role", value=role, choices=[r.value for r in Role]) from None
    for region_id in scopes:
        if region_id not in registry:
            raise ValidationFailed("error.unknown_region", field="scope", value=region_id)
    for channel in channels:
        if not CHANNEL.fullmatch(channel):
            raise ValidationFailed("error.channel_id", field="channel", value=channel)
    return parsed


def validate_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed("error.password_length", field="password", minimum=MIN_PASSWORD, maximum=MAX_PASSWORD)


async def add_user(
    store: object,
    registry: RegionRegistry,
    name: str,
    role: str,
    *,
    scopes: Sequence[str] = (),
    channels: Sequence[str] = (),
    password: str | None = None,
    actor: str = "local",
) -> UserRecord:
    parsed = validate_user(name, role, scopes, channels, registry)
    hashed = None
    if password is not None:
        validate_password(password)
        hashed = await asyncio.to_thread(hash_password, password)
    when = now()

    def run(conn: Connection) -> UserRecord:
        user = sql.insert_user(conn, name, parsed.value, hashed, scopes, channels, when)
        details = {"role": user.role, "scopes": list(user.scopes), "channels": list(user.channels)}
        sql.append_audit(conn, when, actor, "user.add", f"user:{name}", details | {"password": hashed is not None})
        return user

    return await sql_store(store).transaction(run)


async def list_users(store: object) -> list[UserRecord]:
    return await sql_store(store).read(sql.list_users)


async def get_user(store: object, name: str) -> UserRecord:
    user = await sql_store(store).read(lambda conn: sql.user_by_name(conn, name))
    if user is None:
        raise UserNotFound("error.user_not_found", name=name)
    return user


async def disable_user(store: object, name: str, *, actor: str = "local") -> UserRecord:
    """Disable a user: their tokens stop working and their sessions end at once."""
    when = now()

    def run(conn: Connection) -> UserRecord:
        user = sql.disable_user(conn, name, when)
        if user is None:
            raise UserNotFound("error.user_not_found", name=name)
        sql.append_audit(conn, when, actor, "user.disable", f"user:{name}", {})
        return user

    return await sql_store(store).transaction(run)


async def login(store: object, name: str, password: str, policy: LoginPolicy, *, client: str = "") -> Session:
    """Check a password and open a session; failures are audited and lock the account with backoff."""
    db = sql_store(store)
    user = await db.read(lambda conn: sql.user_by_name(conn, name))
    when = now()
    if user is not None and user.locked_until is not None and user.locked_until > when:
        retry = max(1, int((user.locked_until - when).total_seconds() + 0.999))
        raise AccountLocked("error.account_locked", retry_after=retry)
    usable = user is not None and user.disabled_at is None and not user.builtin
    good = await asyncio.to_thread(check_password, user.password_hash if usable and user else None, password)
    if not good or user is None or not usable:
        user_id = user.id if user is not None else None

        def failed(conn: Connection) -> None:
            details: dict[str, object] = {"client": client}
            if user_id is not None:
                failures, until = sql.login_failed(
                    conn, user_id, when, policy.lockout_after, policy.lockout_s, LOCKOUT_MAX_S
                )
                details |= {"failures": failures, "locked_until": format_time(until)}
            sql.append_audit(conn, when, f"user:{name}", "login.failed", f"user:{name}", details)

        await db.transaction(failed)
        raise LoginFailed("error.login_failed")
    token = secrets.token_urlsafe(32)
    expires = when + timedelta(seconds=policy.session_ttl_s)
    found = user

    def opened(conn: Connection) -> None:
        sql.login_succeeded(conn, found.id)
        sql.insert_session(conn, session_hash(token), found.id, when, expires)
        sql.append_audit(conn, when, f"user:{found.name}", "login", f"user:{found.name}", {"client": client})

    await db.transaction(opened)
    return Session(token, csrf_token(token), expires, Principal.of(user))


async def session_principal(store: object, token: str) -> Principal | None:
    """The user of a live session cookie, or ``None``."""
    user = await sql_store(store).read(lambda conn: sql.session_user(conn, session_hash(token), now()))
    if user is None or user.disabled_at is not None:
        return None
    return Principal.of(user)


async def logout(store: object, token: str, who: Principal) -> None:
    when = now()

    def run(conn: Connection) -> None:
        if sql.end_session(conn, session_hash(token), when):
            sql.append_audit(conn, when, who.actor, "logout", who.actor, {})

    await sql_store(store).transaction(run)
