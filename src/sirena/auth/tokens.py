"""API tokens: shown once when created, stored only as a SHA-256 hash.

Tokens carry 256 bits of randomness, so a fast hash is enough to make a stolen database useless for
authentication; passwords (low entropy) use a memory-hard hash instead.
"""

from __future__ import annotations

import hashlib
import secrets

from sirena.errors import Unauthorized
from sirena.store.base import Store, TokenRecord

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
