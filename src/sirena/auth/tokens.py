"""API tokens: shown once when created, stored only as a SHA-256 hash.

Tokens carry 256 bits of randomness, so a fast hash is enough to make a stolen database useless for
authentication; passwords (low entropy) use a memory-hard hash instead.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sirena.auth.errors import UserNotFound
from sirena.auth.principal import Principal, now
from sirena.auth.storage import sql_store
from sirena.errors import Conflict, Unauthorized
from sirena.protocol.alert_json import format_time
from sirena.store import auth as sql
from sirena.store.base import Store, TokenRecord
from sirena.store.sql import Connection

PREFIX = "sir_"


def generate_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer <token>`` header, if any."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def create(store: Store, name: str, owner: str | None = None) -> tuple[str, TokenRecord]:
    token = generate_token()
    record = await store.create_token(name, hash_token(token), owner)
    return token, record


async def authenticate(store: Store, token: str | None) -> TokenRecord:
    """The live token record for ``token``; :class:`~sirena.errors.Unauthorized` when missing, unknown or revoked."""
    if not token:
        raise Unauthorized("error.token_missing")
    record = await store.find_token(hash_token(token))
    if record is None or record.revoked_at is not None:
        raise Unauthorized("error.token_invalid")
    return record


# -- tokens that belong to users -------------------------------------------------------------------------------


async def create_for(
    store: object,
    name: str,
    *,
    user: str | None = None,
    expires_at: datetime | None = None,
    actor: str = "local",
) -> tuple[str, int]:
    """Create a token for ``user`` (the built-in administrator when ``None``); returns the token, shown once,
    and its id. The creation is audited in the same transaction."""
    token = generate_token()
    digest = hash_token(token)
    when = now()

    def run(conn: Connection) -> int:
        owner = sql.user_by_name(conn, user) if user is not None else sql.builtin_user(conn)
        if owner is None:
            raise UserNotFound("error.user_not_found", name=user)
        if owner.disabled_at is not None:
            raise Conflict("error.user_disabled", name=owner.name)
        token_id = sql.insert_token(conn, name, digest, None if owner.builtin else owner.id, expires_at, when)
        details = {"name": name, "user": owner.name, "expires_at": format_time(expires_at)}
        sql.append_audit(conn, when, actor, "token.create", f"token:{token_id}", details)
        return token_id

    return token, await sql_store(store).transaction(run)


async def principal_for(store: object, token: str | None) -> Principal:
    """The user behind a bearer token; :class:`~sirena.errors.Unauthorized` when the token is missing, unknown,
    revoked or expired, or its user is disabled."""
    if not token:
        raise Unauthorized("error.token_missing")
    digest = hash_token(token)
    found = await sql_store(store).read(lambda conn: sql.token_owner(conn, digest))
    if found is None or found.revoked_at is not None:
        raise Unauthorized("error.token_invalid")
    if found.expires_at is not None and found.expires_at <= now():
        raise Unauthorized("error.token_expired")
    if found.user.disabled_at is not None:
        raise Unauthorized("error.user_disabled_login")
    return Principal.of(found.user, token_id=found.token_id, token_name=found.token_name)


async def revoke(store: object, token_id: int, *, actor: str = "local") -> bool:
    when = now()

    def run(conn: Connection) -> bool:
        done = sql.revoke_token(conn, token_id, when)
        if done:
            sql.append_audit(conn, when, actor, "token.revoke", f"token:{token_id}", {})
        return done

    return await sql_store(store).transaction(run)


async def listing(store: object) -> list[tuple[int, str, str, str | None, str | None, str]]:
    """``(id, name, created_at, revoked_at, expires_at, user)`` for every token (never its value)."""
    return await sql_store(store).read(sql.list_tokens)
