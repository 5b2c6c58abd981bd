"""Fixtures for the CAP tests: the shared CAP corpus (``../shared/data/cap``) and its ``index.json``.

Tests that need the corpus fail when it is missing and ``CI=true``, and are skipped elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

CAP_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cap"


def _require_corpus() -> Path:
    if not (CAP_DATA / "index.json").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared CAP corpus is missing: {CAP_DATA}")
        pytest.skip(f"the shared CAP corpus is missing: {CAP_DATA}")
    return CAP_DATA


@pytest.fixture
def cap_data() -> Path:
    return _require_corpus()


def _signature_verifies(record: dict[str, Any]) -> bool:
    """The index found that the sample's signature verifies against the certificate it carries."""
    return any(check.endswith("OK") for check in record["facts"].get("signature_check", []))


def _samples(only_verifying: bool) -> list[Any]:
    index = CAP_DATA / "index.json"
    if not index.is_file():
        return [pytest.param(None, id="corpus-missing")]
    records = json.loads(index.read_text(encoding="utf-8"))
    return [
        pytest.param(r, id=r["file"])
        for r in records
        if r["facts"].get("kind") != "xsd" and (not only_verifying or _signature_verifies(r))
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``cap_record`` runs a test once per sample listed in the corpus index (schemas excluded);
    ``cap_signed_record`` once per sample whose signature the index found to verify."""
    if "cap_record" in metafunc.fixturenames:
        metafunc.parametrize("cap_record", _samples(only_verifying=False))
    if "cap_signed_record" in metafunc.fixturenames:
        metafunc.parametrize("cap_signed_record", _samples(only_verifying=True))


@pytest.fixture
def cap_sample(cap_record: dict[str, Any] | None) -> tuple[dict[str, Any], bytes]:
    """The index record and the bytes of one corpus sample."""
    base = _require_corpus()
    assert cap_record is not None
    return cap_record, (base / cap_record["file"]).read_bytes()


@pytest.fixture
def cap_signed_sample(cap_signed_record: dict[str, Any] | None) -> bytes:
    """The bytes of one corpus sample whose signature verifies against the certificate it carries."""
    base = _require_corpus()
    assert cap_signed_record is not None
    path: Path = base / str(cap_signed_record["file"])
    return path.read_bytes()


ALERT_1_2 = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>UA-80-2025-0301-0001</identifier>
  <sender>alerts@sirena.example</sender>
  <sent>2025-03-01T08:15:00+02:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>uk-UA</language>
    <category>Safety</category>
    <event>Повітряна тривога</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <expires>2025-03-01T10:15:00+02:00</expires>
    <headline>Повітряна тривога в м. Київ</headline>
    <area>
      <areaDesc>м. Київ</areaDesc>
      <polygon>50.59,30.24 50.59,30.83 50.21,30.83 50.21,30.24 50.59,30.24</polygon>
      <geocode>
        <valueName>KATOTTG</valueName>
        <value>UA80000000000093317</value>
      </geocode>
    </area>
  </info>
</alert>
"""


@pytest.fixture
def alert_text() -> str:
    """A schema-valid CAP 1.2 alert; tests edit the text with ``str.replace``."""
    return ALERT_1_2
