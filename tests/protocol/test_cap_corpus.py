"""Every sample of the shared CAP corpus gets the verdict its ``index.json`` records.

Compared per file: format and version, schema validity (and the element the schema complains about), status,
message type and scope, references, infos and their languages, areas, polygons and circles (counting the ones
ingest drops as repairs), geocode kinds, codes, the signature verdict, and the semantic findings.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sirena.protocol.cap import CapMessage, Format, NotCap, Report, SignatureVerdict, ingest

#: The index labels these "CAP-as-JSON" by shape, but its provenance notes say "Alertswiss native API JSON (not
#: CAP)": they carry identifier, sender and sent but no status, msgType, scope or info. Ingest refuses them.
NOT_CAP_DESPITE_LABEL = frozenset({"fpas/alertswiss-POA-1222963954-5.json", "fpas/alertswiss-TEST-1163.json"})

VERSIONS = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
}
DROPPED_POLYGON = {"polygon_empty_dropped", "polygon_unparsable", "polygon_too_few_points"}
SCHEMA_ALSO_REPORTS = {"value_empty", "enum_unknown", "required_missing"}


def _codes(issues: tuple[Any, ...]) -> list[str]:
    return [i.code for i in issues]


def _semantic_codes(finding: str) -> set[str]:
    """Our issue codes that account for one finding of the index's own semantic checks."""
    if finding.startswith("polygon <4 points"):
        return {"polygon_empty_dropped", "polygon_too_few_points"}
    if finding.startswith("polygon coord out of range"):
        return {"polygon_out_of_range", "polygon_swapped"}
    if finding.startswith("polygon unparsable"):
        return {"polygon_unparsable", "coordinate_stray_comma"}
    raise AssertionError(f"no mapping for index finding {finding!r}")


def _expected_signature(facts: dict[str, Any]) -> SignatureVerdict:
    if not facts.get("signature"):
        return SignatureVerdict.ABSENT
    if any(check.endswith("OK") for check in facts.get("signature_check", [])):
        return SignatureVerdict.UNTRUSTED
    return SignatureVerdict.INVALID


def _areas(msg: CapMessage) -> list[Any]:
    return [area for info in msg.infos for area in info.areas]


def _check_alert(report: Report, facts: dict[str, Any]) -> None:
    assert report.format is Format.CAP_XML
    version = VERSIONS[facts["ns"]]
    assert report.version == version
    expected_valid = facts["xsd12"] if version == "1.2" else facts["xsd11"]
    assert report.schema_valid is expected_valid
    schema_errors = [e for e in report.errors if e.code == "schema"]
    assert bool(schema_errors) is not expected_valid
    for text in facts.get("xsd_errors", []):
        element = re.match(r"Element '(?:\{[^}]*\})?([^']+)'", text)
        assert element is not None
        assert any(f"Element '{element.group(1)}'" in e.message for e in schema_errors), text
    assert all(e.line is not None and e.path for e in schema_errors)

    (msg,) = report.messages
    assert (msg.status, msg.msg_type, msg.scope) == (facts["status"], facts["msgType"], facts.get("scope", ""))
    assert len(msg.references) == facts["refs"]
    assert len(msg.infos) == facts["infos"]
    languages = ["en-US" if lang == "(default en-US)" else lang for lang in facts.get("langs", [])]
    assert sorted({info.language for info in msg.infos}) == sorted(set(languages))
    areas = _areas(msg)
    assert len(areas) == facts["areas"]
    dropped = sum(1 for issue in report.errors + report.repairs if issue.code in DROPPED_POLYGON)
    assert sum(len(a.polygons) for a in areas) + dropped == facts["polygons"]
    assert sum(len(a.circles) for a in areas) == facts["circles"]
    assert sorted({name for a in areas for name, _ in a.geocodes}) == sorted(facts.get("geocodes", []))
    assert list(msg.code) == facts.get("codes", [])

    assert report.signature is _expected_signature(facts)

    explained: set[str] = set()
    for finding in facts.get("semantic", []):
        codes = _semantic_codes(finding)
        found = set(_codes(report.errors + report.repairs))
        assert codes & found, f"index finding {finding!r} not reported"
        explained |= codes
    if not expected_valid:
        explained |= SCHEMA_ALSO_REPORTS
    unexplained = set(_codes(report.errors)) - {"schema", "signature_invalid"} - explained
    assert not unexplained, [e for e in report.errors if e.code in unexplained]


def test_sample_gets_the_indexed_verdict(cap_sample: tuple[dict[str, Any], bytes]) -> None:
    record, data = cap_sample
    facts = record["facts"]
    if facts.get("jsonkind") == "GeoJSON FeatureCollection" or record["file"] in NOT_CAP_DESPITE_LABEL:
        with pytest.raises(NotCap):
            ingest(data)
        return
    report = ingest(data)
    summary = report.to_json()
    json.dumps(summary)
    assert set(summary) >= {"format", "version", "schema_valid", "errors", "warnings", "repairs", "signature"}
    assert summary["alerts"] == len(report.messages)
    if facts.get("kind") == "json":
        assert report.format is Format.CAP_JSON
        assert report.schema_valid is None
        (msg,) = report.messages
        assert len(msg.infos) == facts["infos"]
        assert msg.msg_type == facts["msgType"]
        assert report.signature is SignatureVerdict.ABSENT
    elif facts["root"] in ("rss", "feed"):
        assert report.format is (Format.RSS if facts["root"] == "rss" else Format.ATOM)
        assert len(report.messages) == facts["embedded_alerts"]
        assert report.links
        assert all(link.startswith("http") for link in report.links)
    else:
        _check_alert(report, facts)


def test_signed_samples_verify_against_their_certificate_as_trust_anchor(cap_signed_sample: bytes) -> None:
    """Pinning the certificate a valid sample carries turns ``untrusted`` into ``verified``."""
    data = cap_signed_sample
    assert ingest(data).signature is SignatureVerdict.UNTRUSTED
    found = re.search(rb"<(?:\w+:)?X509Certificate>([^<]+)<", data)
    assert found is not None
    body = b"\n".join(found.group(1).split())
    pem = b"-----BEGIN CERTIFICATE-----\n" + body + b"\n-----END CERTIFICATE-----\n"
    report = ingest(data, trust_anchors=[pem])
    assert report.signature is SignatureVerdict.VERIFIED
    assert "signature_untrusted" not in _codes(report.warnings)
