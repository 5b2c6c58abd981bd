"""Server-Sent Events frames (WHATWG HTML §9.2), as bytes."""

from __future__ import annotations

from sirena.domain.notice import LogEvent
from sirena.protocol.alert_json import dumps, event_to_dict


def frame(data: str, *, event: str | None = None, id: int | str | None = None, retry_ms: int | None = None) -> bytes:
    lines: list[str] = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def event_frame(event: LogEvent) -> bytes:
    """One event (alert or notice): ``id`` is its sequence number, ``event`` its type, ``data`` the JSON object."""
    return frame(dumps(event_to_dict(event)), event=event.type.value, id=event.seq)


def retry(ms: int) -> bytes:
    """Tell the client how long to wait before reconnecting."""
    return f"retry: {ms}\n\n".encode()


def comment(text: str = "") -> bytes:
    """A comment line, used as a heartbeat; clients ignore it."""
    return f": {text}\n\n".encode()


def parse(stream: str) -> list[dict[str, str]]:
    """Split a text/event-stream body into events (``id``, ``event``, ``data``); comments are dropped."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    data: list[str] = []
    for line in stream.split("\n"):
        if not line:
            if data or current:
                if data:
                    current["data"] = "\n".join(data)
                events.append(current)
            current, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name in {"id", "event", "retry"}:
            current[name] = value
    return events
