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


def _setting(default: Any, help: str, *, secret: bool = False, choices: tuple[str, ...] = ()) -> Any:
    """A setting; one with ``choices`` takes only those (in any case) and keeps the lower-case spelling."""
    return field(default=default, metadata={"help": help, "secret": secret, "choices": choices})


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = _setting(
        "sqlite:///var/sirena.db",
        "Where alerts, events and accounts are stored: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, "
        "or `postgresql://user@host:5432/database` for several nodes sharing one database (extra `postgres`).",
    )
    postgis: str = _setting(
        "auto",
        "PostGIS on a PostgreSQL database: `auto` creates and uses the `postgis` extension when the server offers "
        "it (nearest shelters and alert → places matching answered by the database), else answers them in memory; "
        "`on` requires it (start-up fails without); `off` never creates or uses it. SQLite always answers in memory.",
    )
    bus_url: str = _setting(
        "memory://",
        "Event bus between the store and live channels: `memory://` (one process) or `nats://host:4222` "
        "(NATS JetStream, several nodes; extra `nats`).",
    )
    ready_requires_bus: bool = _setting(
        False,
        "`/readyz` answers 503 while the bus is down too (not only the database). Off: a bus outage shows as "
        '`"status": "degraded"` and the node stays in service, delivering from the event log.',
    )
    regions: str = _setting(
        "",
        "Region set: a built-in country code (`ua`) or a region file path. Empty: the set loaded with "
        "`sirena regions load`, or else the built-in Ukrainian set.",
    )
    host: str = _setting("127.0.0.1", "Address `sirena serve` listens on.")
    port: int = _setting(8000, "Port `sirena serve` listens on.")
    workers: int = _setting(
        1,
        "Processes `sirena serve` runs on its port (`SO_REUSEPORT`: the kernel spreads connections over them), "
        "each serving the whole API and fanning every event out to its own live clients; one per core spreads the "
        "fan-out over the cores. They share the database; see docs/performance.md.",
    )
    demo: bool = _setting(
        False,
        "Replay a real day of history, marked as exercise, so the first screen shows something; and import the "
        "shipped alert record in the background (once per database) so the history pages have data.",
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
    stream_client_buffer_bytes: int = _setting(
        262_144, "Unsent bytes a live-stream client may fall behind by before it is disconnected to resume."
    )
    stream_slice_ms: float = _setting(
        2.0,
        "Longest time one piece of a live-stream fan-out keeps the event loop; a larger fan-out goes on at the "
        "next turn, so nothing else waits longer. 0: write to every client at once.",
    )
    stream_gc_hold: bool = _setting(
        True,
        "Hold automatic garbage collection while a live-stream fan-out is being written; it runs as soon as the "
        "fan-out is done. With many clients connected a collection of the older generations takes tens of "
        "milliseconds, which would otherwise pause a fan-out in the middle.",
    )
    loop_lag_probe_ms: float = _setting(
        0.0,
        "Measure how late the event loop wakes up, every this many milliseconds, and show it in `/metrics` "
        "(`sirena_event_loop_lag_seconds`). 0: off.",
    )
    gc_freeze: bool = _setting(
        True, "After start-up, move long-lived objects out of the garbage collector's reach (shorter pauses)."
    )
    time_to_shelter_file: str = _setting(
        "",
        "Time-to-shelter table (TOML, see docs/targeting.md) that fills `time_to_shelter_s` for alerts issued "
        "without one. Empty: the table shipped for the region set's country (Ukraine); `off`: none.",
    )
    place_border_margin_m: float = _setting(
        3000.0,
        "A registered point is resolved to every region whose outline passes within this many metres, so "
        "simplified outlines never leave it out of its own region's alerts.",
    )
    relay_poll_s: float = _setting(
        1.0, "How often the server looks for events committed by other processes (CLI, other writers)."
    )
    bus_stream: str = _setting(
        "sirena",
        "JetStream stream (and subject prefix) of a NATS bus; deployments sharing a NATS server use different names.",
    )
    node_id: str = _setting(
        "", "This node's name in a cluster (work leases, logs, health); unique per node. Empty: host name and port."
    )
    lease_ttl_s: float = _setting(
        15.0,
        "How long a node's claim on shared work (a webhook queue, Web Push, MQTT, a CAP feed, a history import) "
        "lasts without renewal: how soon another node or command takes over from a dead one.",
    )
    shutdown_grace_s: float = _setting(
        10.0, "On SIGTERM: how long to wait for requests to finish after live clients were told to reconnect."
    )
    log_level: str = _setting(
        "info",
        "Log level: trace, debug, info, warning, error, critical.",
        choices=("trace", "debug", "info", "warning", "error", "critical"),
    )
    webhooks: bool = _setting(True, "Deliver events to webhook subscriptions (`/api/v1/webhooks`).")
    webhook_allow_private: bool = _setting(
        False, "Allow webhook URLs that resolve to private, loopback or link-local addresses (tests, closed networks)."
    )
    webhook_timeout_s: float = _setting(10.0, "Seconds a webhook receiver has to answer before the attempt fails.")
    webhook_concurrency: int = _setting(
        64, "Webhook requests in flight at once, over all endpoints (each endpoint has at most one)."
    )
    webhook_retry_base_s: float = _setting(
        2.0, "First retry delay after a failed webhook attempt; it doubles with each failure, with jitter."
    )
    webhook_retry_max_s: float = _setting(3600.0, "Longest delay between two attempts of one webhook message.")
    webhook_max_age_s: float = _setting(
        86_400.0, "How long a webhook message is retried before it is dead-lettered (seconds from when it was queued)."
    )
    webhook_log_days: float = _setting(
        30.0, "Days delivered, dead-lettered and cancelled webhook messages and their attempts are kept."
    )
    delivery_poll_s: float = _setting(
        1.0, "How often delivery channels check the event log when nothing wakes them (writes by other processes)."
    )
    ws_hello_s: float = _setting(
        0.5, "Seconds a new WebSocket client has to send its filter message before the query string's filters apply."
    )
    mqtt_url: str = _setting(
        "", "MQTT broker for the bridge, `mqtt://[user:password@]host[:port]` or `mqtts://…`. Empty: no bridge."
    )
    mqtt_topic_prefix: str = _setting("sirena", "First level of every topic the MQTT bridge publishes.")
    mqtt_client_id: str = _setting("", "MQTT client identifier. Empty: `sirena-` and a random suffix.")
    mqtt_statuses: str = _setting(
        "actual", "Alert statuses the MQTT bridge publishes, comma-separated (`actual`, `exercise`, `test`)."
    )
    mqtt_ha_regions: str = _setting(
        "", "Region ids (comma-separated) announced to Home Assistant by MQTT discovery, one binary sensor each."
    )
    mqtt_ha_prefix: str = _setting("homeassistant", "Home Assistant's MQTT discovery prefix.")
    mqtt_ha_language: str = _setting("uk", "Language of the sensor names announced to Home Assistant (`uk`, `en`).")
    mqtt_reconnect_max_s: float = _setting(
        60.0, "Longest wait between attempts to reconnect to the MQTT broker (backoff with jitter up to this)."
    )
    push: bool = _setting(False, "Send Web Push notifications to subscribed browsers (needs the `push` extra).")
    push_contact: str = _setting(
        "mailto:sirena@example.org", "Contact sent to push services in the VAPID claim (`mailto:` or `https:` URL)."
    )
    push_ttl_s: int = _setting(3600, "Seconds a push service keeps a notification for a browser that is offline.")
    push_timeout_s: float = _setting(10.0, "Seconds a push service has to answer.")
    push_concurrency: int = _setting(32, "Web Push requests in flight at once.")
    push_retries: int = _setting(3, "Retries of a push message the push service failed to take (5xx, 429, timeout).")
    push_allow_private: bool = _setting(
        False, "Allow push endpoints that resolve to private or loopback addresses (tests, closed networks)."
    )
    metrics_token: Secret = _setting(  # noqa: RUF009
        Secret(""), "Bearer token `/metrics` requires. Empty: `/metrics` is open.", secret=True
    )
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
    approval_policy: str = _setting(
        "multi_oblast,nationwide,nuclear,chemical",
        "Alerts that wait for a second person (two-person rule), comma-separated: `multi_oblast` (actual, more "
        "than one oblast), `nationwide`, `nuclear`, `chemical`, `all_actual`. Empty: none. Ending and "
        "cancelling never wait.",
    )
    approval_ttl_s: float = _setting(900.0, "Seconds a request waiting for a second person stays open.")
    approval_builtin_exempt: bool = _setting(
        True,
        "Let tokens of the built-in administrator (`sirena token create` without `--user`) skip the two-person "
        "rule, as the command line does. Turn off once named accounts exist.",
    )
    session_ttl_s: float = _setting(43_200.0, "Lifetime of a browser console session (seconds).")
    login_lockout_after: int = _setting(
        5, "Failed logins in a row before an account locks; each further failure doubles the lock (0: never)."
    )
    login_lockout_s: float = _setting(30.0, "First account lock after repeated failed logins (seconds, max 1 h).")
    rate_limit_writes: int = _setting(
        600, "Writes per minute each token or session may make (0: no limit). Reads and streams are never limited."
    )
    rate_limit_writes_ip: int = _setting(
        1200, "Writes per minute each client address may make (0: no limit); keep it high behind a proxy."
    )
    rate_limit_logins: int = _setting(20, "Login attempts per minute each client address may make (0: no limit).")
    cors_origins: str = _setting(
        "", "Origins allowed to call the API from a browser (comma-separated, `*` for any). Empty: CORS off."
    )
    cap_sender: str = _setting(
        "",
        "`sender` of the CAP Sirena writes, and part of every CAP identifier (`sirena@alerts.example.org`). "
        "Empty: `sirena@` and this machine's host name.",
    )
    cap_signing_key: Secret = _setting(  # noqa: RUF009 - a Secret is an immutable str
        Secret(""), "Path of the PEM private key (RSA or EC) that signs emitted CAP. Empty: unsigned.", secret=True
    )
    cap_signing_cert: str = _setting("", "Path of the PEM certificate of the CAP signing key, carried in signatures.")
    cap_trust_anchors: str = _setting(
        "",
        "Paths of certificates or public keys (PEM or DER), comma-separated, whose CAP signatures count as `verified`.",
    )
    cap_feeds: str = _setting(
        "", "External CAP feeds to follow: Atom or RSS URLs (or single CAP documents), comma-separated."
    )
    cap_poll_s: float = _setting(60.0, "Seconds between polls of each CAP feed; failures back off up to an hour.")
    all_clear_on_end: bool = _setting(
        True,
        "Send an all-clear (`alert.all_clear`, on every outlet and channel) whenever an alert ends: through the API, "
        '`sirena end`, CAP ingest, replays and the demo feed. A request may still say `{"all_clear": false}` '
        "(`sirena end --no-all-clear`); `false` here sends one only when a request asks for it.",
    )
    all_clear_show_s: float = _setting(
        3600.0, "How long an all-clear stays in the CAP feeds and on the map after the alert ended (seconds)."
    )
    coordination_escalate_s: float = _setting(
        300.0,
        "Seconds after which an unacknowledged coordination message goes to the addressee's colleagues (users "
        "sharing a region scope or channel); 0: never escalate.",
    )
    coordination_escalate_admins_s: float = _setting(
        900.0, "Seconds after sending at which a still unacknowledged coordination message goes to administrators."
    )
    coordination_poll_s: float = _setting(
        5.0, "Longest wait between two looks for coordination messages to escalate and advisories that expired."
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
        for f in dataclasses.fields(cls):
            choices = f.metadata["choices"]
            if choices and f.name in values:
                values[f.name] = _choice(f.name, choices, values[f.name])
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, Any]:
        """Every setting and its value, secrets shown as ``**********``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = "**********" if f.metadata.get("secret") and value else _hide_password(value)
        return out


def _hide_password(value: Any) -> Any:
    """``scheme://user:password@host/…`` with the password masked (database and bus URLs may carry one)."""
    if isinstance(value, str) and "://" in value:
        scheme, _, rest = value.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if at and ":" in userinfo:
            return f"{scheme}://{userinfo.split(':', 1)[0]}:**********@{host}"
    return value


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


def _choice(name: str, choices: tuple[str, ...], value: str) -> str:
    if value.strip().lower() not in choices:
        raise ConfigurationError("error.bad_choice", field=PREFIX + name.upper(), value=value, choices=list(choices))
    return value.strip().lower()


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
