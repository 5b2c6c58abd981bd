"""One table of settings: name, type, default and help, read from ``SIRENA_<NAME>`` environment variables.

The table is the :class:`Settings` dataclass itself: every field carries its help text, and the same table drives
environment parsing, CLI overrides, the generated ``docs/settings.md`` and the masked settings listing. The
environment is read once, at start-up; a value that does not parse stops start-up with a clear error.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from sirena.errors import ConfigurationError

PREFIX = "SIRENA_"


class Secret(str):
    """A string that never shows itself in listings or logs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "secret": secret})


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = _setting(
        "sqlite:///var/sirena.db",
        "Where alerts, events and accounts are stored: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`.",
    )
    bus_url: str = _setting("memory://", "Event bus between the store and live channels: `memory://` (one process).")
    regions: str = _setting(
        "",
        "Region set: a built-in country code (`ua`) or a region file path. Empty: the set loaded with "
        "`sirena regions load`, or else the built-in Ukrainian set.",
    )
    host: str = _setting("127.0.0.1", "Address `sirena serve` listens on.")
    port: int = _setting(8000, "Port `sirena serve` listens on.")
    demo: bool = _setting(
        False, "Replay a real day of history, marked as exercise, so the first screen shows something."
    )
    demo_day: str = _setting("2022-10-10", "The day of the shipped history the demo replays (UTC date).")
    demo_speed: float = _setting(60.0, "How many times faster than real time the demo runs.")
    max_body_bytes: int = _setting(1_048_576, "Largest request body accepted; larger ones get 413.")
    stream_queue_size: int = _setting(
        256,
        "Events buffered per live-stream client; a client that falls further behind is disconnected to resume.",
    )
    stream_heartbeat_s: float = _setting(15.0, "Seconds between heartbeat comments on an idle live stream.")
    stream_retry_ms: int = _setting(2000, "Reconnect delay suggested to stream clients (SSE `retry:`).")
    relay_poll_s: float = _setting(
        1.0, "How often the server looks for events committed by other processes (CLI, other writers)."
    )
    log_level: str = _setting("info", "Log level: debug, info, warning, error.")
    compat_public: bool = _setting(
        False,
        "Let the alerts.in.ua- and ukrainealarm-compatible APIs answer reads without a token (Home Assistant and "
        "many LED maps send none); a token that is sent must still be valid.",
    )
    compat_rate_limit: int = _setting(
        600,
        "Requests per minute each token (or, without a token, each client address) may make to the compatible APIs.",
    )
    compat_alerts_in_ua_prefix: str = _setting(
        "/compat/alerts-in-ua", "Path the alerts.in.ua-compatible API is served under (empty: the server root)."
    )
    compat_ukrainealarm_prefix: str = _setting(
        "/compat/ukrainealarm", "Path the ukrainealarm.com-compatible API is served under (empty: the server root)."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
        """Settings from the environment (``SIRENA_<NAME>``), then explicit overrides (e.g. CLI flags)."""
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, hints[f.name], raw)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in hints:
                raise ConfigurationError("error.unknown_setting", name=name)
            values[name] = _parse(name, hints[name], value) if isinstance(value, str) else value
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, Any]:
        """Every setting and its value, secrets shown as ``**********``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = "**********" if f.metadata.get("secret") and value else value
        return out


@dataclass(frozen=True, slots=True)
class SettingInfo:
    name: str
    env: str
    type: str
    default: Any
    help: str
    secret: bool


def table() -> Iterator[SettingInfo]:
    """The settings table, in declaration order."""
    hints = get_type_hints(Settings)
    for f in dataclasses.fields(Settings):
        yield SettingInfo(
            name=f.name,
            env=PREFIX + f.name.upper(),
            type=getattr(hints[f.name], "__name__", str(hints[f.name])),
            default=f.default,
            help=f.metadata["help"],
            secret=bool(f.metadata.get("secret")),
        )


def _parse(name: str, kind: Any, raw: str) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Secret:
            return Secret(raw)
        return raw
    except ValueError:
        raise ConfigurationError(
            "error.bad_setting",
            name=PREFIX + name.upper(),
            value=raw,
            type=getattr(kind, "__name__", str(kind)),
        ) from None


def markdown() -> str:
    """``docs/settings.md``, generated from the table."""
    lines = [
        "# Settings",
        "",
        "Every setting is read once at start-up from an environment variable `SIRENA_<NAME>`; "
        "CLI flags such as `--database-url` override it. Generated by `sirena docs`; do not edit by hand.",
        "",
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for info in table():
        default = "(secret)" if info.secret else f"`{info.default}`"
        lines.append(f"| `{info.env}` | {info.type} | {default} | {info.help} |")
    return "\n".join(lines) + "\n"
