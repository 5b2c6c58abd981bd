"""Identifiers: time-ordered, URL-safe, 26 characters (48-bit millisecond time + 80 random bits, Crockford base32)."""

from __future__ import annotations

import base64
import os
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
"""base64's base32 (RFC 4648) digits to Crockford's, so the encoding runs in C."""


def new_id(now: datetime) -> str:
    return _encode((int(now.timestamp() * 1000) << 80) | int.from_bytes(os.urandom(10)))


def new_ids(now: datetime, count: int) -> list[str]:
    """``count`` ids for the same moment, the random bits of all of them read at once."""
    stamp = int(now.timestamp() * 1000) << 80
    noise = os.urandom(10 * count)
    return [_encode(stamp | int.from_bytes(noise[i : i + 10])) for i in range(0, 10 * count, 10)]


def _encode(value: int) -> str:
    # 26 digits of 5 bits are 130 bits, the top two zero; shifted up by 6 they fill 17 bytes, whose base32 has
    # those 26 digits first (then one for the 6 zero bits and the padding)
    return base64.b32encode((value << 6).to_bytes(17)).translate(_FROM_RFC4648)[:26].decode()
