"""CAP settings are checked when Sirena starts: a mistake stops start-up with a clear configuration error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cap_keys import signing_files
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sirena.cap.config import CapConfig, default_sender
from sirena.errors import ConfigurationError
from sirena.settings import Settings


def config(**values: object) -> CapConfig:
    return CapConfig.from_settings(Settings.from_env({}, **values))


def test_defaults() -> None:
    cap = config()
    assert cap.sender == default_sender() and cap.sender.startswith("sirena@")
    assert (cap.signs, cap.feeds, cap.trust_anchors, cap.poll_s) == (False, (), (), 60.0)


def test_feeds_and_anchors_are_lists(tmp_path: Path) -> None:
    _, cert, _ = signing_files(tmp_path)
    cap = config(cap_feeds=" https://a.example/feed.atom, http://b.example/rss ,", cap_trust_anchors=f"{cert},")
    assert cap.feeds == ("https://a.example/feed.atom", "http://b.example/rss")
    assert cap.trust_anchors == (cert.read_bytes(),)


@pytest.mark.parametrize(
    "values",
    [
        {"cap_sender": "sirena at example.org"},
        {"cap_sender": "a,b"},
        {"cap_feeds": "ftp://example.org/feed"},
        {"cap_poll_s": 0.0},
        {"cap_trust_anchors": "/nonexistent/anchor.pem"},
        {"cap_signing_key": "/nonexistent/key.pem", "cap_signing_cert": "/nonexistent/cert.pem"},
    ],
)
def test_bad_settings_stop_start_up(values: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        config(**values)


def test_signing_key_and_certificate_must_match_and_come_together(tmp_path: Path) -> None:
    key, cert, _ = signing_files(tmp_path)
    assert config(cap_signing_key=str(key), cap_signing_cert=str(cert)).signs
    with pytest.raises(ConfigurationError):
        config(cap_signing_key=str(key))
    with pytest.raises(ConfigurationError):
        config(cap_signing_cert=str(cert))
    other = tmp_path / "other.key"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigurationError):
        config(cap_signing_key=str(other), cap_signing_cert=str(cert))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigurationError):
        config(cap_signing_key=str(garbage), cap_signing_cert=str(cert))
