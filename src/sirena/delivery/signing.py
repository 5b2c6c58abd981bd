"""Webhook signatures in the Standard Webhooks style: HMAC-SHA256 over ``id.timestamp.body``.

Every request carries ``webhook-id`` (stable across retries of one message, so receivers can drop duplicates),
``webhook-timestamp`` (Unix seconds of this attempt, so receivers can refuse replays) and
``webhook-signature: v1,<base64 signature>``. Secrets are ``whsec_`` followed by base64 of 32 random bytes.
Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
TOLERANCE_S = 300


class SignatureError(ValueError):
    """A request that does not carry a valid, fresh signature."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64 of 32 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_…`` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the secret is not base64") from None
    if not key:
        raise SignatureError("the secret is empty")
    return key


class Signer:
    """Signatures with one secret: the key is decoded and its HMAC prepared once, then copied for each request."""

    __slots__ = ("_mac", "secret")

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._mac = hmac.new(secret_key(secret), digestmod=hashlib.sha256)

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
        mac = self._mac.copy()
        mac.update(b"%s.%d." % (msg_id.encode(), timestamp))
        mac.update(body)
        return "v1," + base64.b64encode(mac.digest()).decode()

    def headers(self, msg_id: str, body: bytes, timestamp: int | None = None) -> list[tuple[str, str]]:
        """The three signature headers for one delivery attempt."""
        ts = int(time.time()) if timestamp is None else timestamp
        return [
            ("webhook-id", msg_id),
            ("webhook-timestamp", str(ts)),
            ("webhook-signature", self.signature(msg_id, ts, body)),
        ]


HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})
"""The names of the signature headers (a subscription's own headers cannot replace them)."""


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three signature headers for one delivery attempt."""
    return dict(Signer(secret).headers(msg_id, body, timestamp))


def verify(
    secret: str, body: bytes, received: Mapping[str, str], *, now: float | None = None, tolerance_s: int = TOLERANCE_S
) -> None:
    """Check a received request's signature and freshness; raises :class:`SignatureError` when it fails.

    ``received`` are the request headers (any case). Several space-separated signatures are accepted, so that
    a secret can be rotated without a gap."""
    lowered = {k.lower(): v for k, v in received.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    given = lowered.get("webhook-signature")
    if not (msg_id and stamp and given):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise SignatureError("webhook-timestamp is too old or too new")
    expected = signature(secret, msg_id, ts, body).encode()
    for candidate in given.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no matching signature")
