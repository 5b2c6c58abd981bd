"""Identifiers: time-ordered, URL-safe, 26 characters (48-bit millisecond time + 80 random bits, Crockford base32)."""

from __future__ import annotations

import base64
import os
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
"""base64's base32 (RFC 4648) digits to Crockford's."""

# An id's 26 digits are 130 bits: two zero bits and the 48-bit time (the first 10 digits), then the 80 random
# bits (the last 16). Ten bytes are exactly 16 base32 digits, so the random part of many ids is one encoding.


def new_id(now: datetime) -> str:
    return _time_digits(now) + _digits(os.urandom(10))


def new_ids(now: datetime, count: int) -> list[str]:
    """``count`` ids for the same moment: the time's digits worked out once, the random bits of all of them
    read and encoded at once."""
    stamp = _time_digits(now)
    noise = _digits(os.urandom(10 * count))
    return [stamp + noise[i : i + 16] for i in range(0, 16 * count, 16)]


def _time_digits(now: datetime) -> str:
    # the time with its two zero bits on top, as the first 50 of 80 bits (16 digits, of which 10 are kept)
    return _digits((int(now.timestamp() * 1000) << 30).to_bytes(10))[:10]


def _digits(data: bytes) -> str:
    return base64.b32encode(data).translate(_FROM_RFC4648).decode()
