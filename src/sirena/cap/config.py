"""CAP settings made usable: the sender, the signing key and certificate, trust anchors and feeds, read once.

Everything is checked when the runtime starts (a key that does not match its certificate, an unreadable trust
anchor, a sender CAP cannot carry), so a mistake stops start-up instead of surfacing on the first request.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from sirena.cap.convention import check_sender
from sirena.errors import ConfigurationError
from sirena.protocol.cap import DEFAULT_MAX_BYTES, sign
from sirena.protocol.cap.signature import load_trust_anchors
from sirena.settings import Settings


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            "error.bad_setting", name=setting, value=path, type=f"a readable file ({exc.strerror})"
        ) from None


def _check_signing(key: bytes, cert: bytes) -> None:
    """Sign a throw-away alert: a wrong key, a certificate of another key or a missing extra fails here."""
    probe = (
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>probe</identifier><sender>probe</sender>'
        b"<sent>2026-01-01T00:00:00+00:00</sent><status>System</status><msgType>Alert</msgType>"
        b"<scope>Private</scope></alert>"
    )
    sign(probe, key, cert)


def split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def default_sender() -> str:
    host = socket.gethostname().strip() or "localhost"
    return f"sirena@{host}"


@dataclass(frozen=True, slots=True)
class CapConfig:
    sender: str
    signing_key: bytes | None = None
    signing_cert: bytes | None = None
    trust_anchors: tuple[bytes, ...] = ()
    feeds: tuple[str, ...] = ()
    poll_s: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def signs(self) -> bool:
        return self.signing_key is not None and self.signing_cert is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> CapConfig:
        sender = check_sender(settings.cap_sender or default_sender())
        key = _read(settings.cap_signing_key, "SIRENA_CAP_SIGNING_KEY") if settings.cap_signing_key else None
        cert = _read(settings.cap_signing_cert, "SIRENA_CAP_SIGNING_CERT") if settings.cap_signing_cert else None
        if (key is None) != (cert is None):
            raise ConfigurationError(
                "error.bad_setting",
                name="SIRENA_CAP_SIGNING_CERT" if cert is None else "SIRENA_CAP_SIGNING_KEY",
                value="",
                type="set together with the other of SIRENA_CAP_SIGNING_KEY and SIRENA_CAP_SIGNING_CERT",
            )
        if key is not None and cert is not None:
            _check_signing(key, cert)
        anchors = tuple(_read(p, "SIRENA_CAP_TRUST_ANCHORS") for p in split_list(settings.cap_trust_anchors))
        load_trust_anchors(anchors)
        for url in split_list(settings.cap_feeds):
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError("error.bad_setting", name="SIRENA_CAP_FEEDS", value=url, type="http(s) URL")
        if settings.cap_poll_s <= 0:
            raise ConfigurationError(
                "error.bad_setting", name="SIRENA_CAP_POLL_S", value=str(settings.cap_poll_s), type="seconds > 0"
            )
        return cls(
            sender=sender,
            signing_key=key,
            signing_cert=cert,
            trust_anchors=anchors,
            feeds=split_list(settings.cap_feeds),
            poll_s=settings.cap_poll_s,
            max_bytes=max(settings.max_body_bytes, DEFAULT_MAX_BYTES),
        )
