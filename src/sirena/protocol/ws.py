"""WebSocket frames a server sends (RFC 6455 §5.2), as bytes.

A server's frames are never masked, so one encoded frame is the same bytes for every client: the live stream
encodes each event once and writes it to all of them. No extension (compression) is ever negotiated.
"""

from __future__ import annotations

import struct
from typing import Any

from sirena.domain.notice import LogEvent
from sirena.protocol.alert_json import dumps, event_to_dict

FIN_TEXT = 0x81
FIN_CLOSE = 0x88
_SHORT = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65_536:
        return _SHORT.pack(first, 126, size) + payload
    return _LONG.pack(first, 127, size) + payload


def text(payload: str | bytes) -> bytes:
    """One unfragmented text frame (``payload`` as UTF-8)."""
    return _frame(FIN_TEXT, payload.encode() if isinstance(payload, str) else payload)


def close(code: int, reason: str = "") -> bytes:
    """A close frame with a status code and a short reason (at most 123 bytes of UTF-8)."""
    body = struct.pack("!H", code) + reason.encode()[:123]
    return _frame(FIN_CLOSE, body)


def event_frame(event: LogEvent) -> bytes:
    """One event: the ``{"seq", "type", "alert"}`` (or notice) object, exactly the SSE ``data:`` line."""
    return text(dumps(event_to_dict(event)))


def snapshot_frame(seq: int, alerts: list[dict[str, Any]]) -> bytes:
    return text(dumps({"type": "snapshot", "seq": seq, "alerts": alerts}))


def heartbeat_frame(seq: int) -> bytes:
    return text(dumps({"type": "heartbeat", "seq": seq}))
