"""CAP-JSON as Germany's NINA/MoWaS API publishes it: CAP keys, arrays for the repeatable elements."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sirena.errors import SirenaError
from sirena.protocol.cap import Format, NotCap, Reference, SignatureVerdict, detect, ingest, message_key

CET = timezone(timedelta(hours=1))

#: Written by hand after the NINA ``/api31/warnings/{id}.json`` layout; the warning itself is invented.
NINA: dict[str, Any] = {
    "identifier": "mow.DE-BY-M-W001-20250310-001",
    "sender": "DE-BY-M-W001",
    "sent": "2025-03-10T14:02:11+01:00",
    "status": "Actual",
    "msgType": "Update",
    "scope": "Public",
    "code": ["DVN:2", "medien_ueberregional"],
    "references": "DE-BY-M-W001,mow.DE-BY-M-W001-20250310-000,2025-03-10T13:40:00+01:00",
    "info": [
        {
            "language": "DE",
            "category": ["Safety", "Fire"],
            "event": "Gefahrenmitteilung",
            "responseType": ["Monitor"],
            "urgency": "Immediate",
            "severity": "Severe",
            "certainty": "Observed",
            "eventCode": [{"valueName": "profile:DE-BBK-EVENTCODE", "value": "BBK-EVC-040"}],
            "expires": "2025-03-10T20:02:11+01:00",
            "senderName": "Integrierte Leitstelle München",
            "headline": "Großbrand mit starker Rauchentwicklung",
            "description": "In Moosach brennt eine Lagerhalle. Es kommt zu starker Rauchentwicklung.",
            "instruction": "Halten Sie Fenster und Türen geschlossen.<br/>Schalten Sie Lüftungsanlagen ab.",
            "web": "https://warnung.bund.de",
            "contact": "Integrierte Leitstelle München",
            "parameter": [
                {"valueName": "warnVerwaltungsbereiche", "value": "091620000000"},
                {"valueName": "instructionCode", "value": "BBK-ISC-082 BBK-ISC-085"},
                {"valueName": "sender_langname", "value": "Integrierte Leitstelle München"},
            ],
            "area": [
                {
                    "areaDesc": "Stadt München, Bezirk Moosach",
                    "polygon": ["48.19,11.49 48.19,11.53 48.17,11.53 48.17,11.49 48.19,11.49"],
                    "geocode": [
                        {"valueName": "AreaId", "value": "0"},
                        {"valueName": "ARS", "value": "091620000000"},
                    ],
                }
            ],
        },
        {
            "language": "EN",
            "category": ["Safety", "Fire"],
            "event": "Hazard information",
            "urgency": "Immediate",
            "severity": "Severe",
            "certainty": "Observed",
            "headline": "Major fire with heavy smoke",
            "instruction": "Keep windows and doors closed.",
            "area": [{"areaDesc": "City of Munich, Moosach district"}],
        },
    ],
}


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _variant(**changes: Any) -> dict[str, Any]:
    value = copy.deepcopy(NINA)
    value.update(changes)
    return value


def test_nina_cap_json_is_read_in_full() -> None:
    report = ingest(_json(NINA))
    assert (report.format, report.version, report.schema_valid) == (Format.CAP_JSON, None, None)
    assert (report.errors, report.warnings, report.repairs) == ((), (), ())
    assert report.signature is SignatureVerdict.ABSENT
    (msg,) = report.messages
    assert msg.sent == datetime(2025, 3, 10, 14, 2, 11, tzinfo=CET)
    assert (msg.status, msg.msg_type, msg.scope) == ("Actual", "Update", "Public")
    assert msg.code == ("DVN:2", "medien_ueberregional")
    german, english = msg.infos
    assert german.language == "DE"
    assert german.category == ("Safety", "Fire")
    assert german.response_type == ("Monitor",)
    assert german.event_code == (("profile:DE-BBK-EVENTCODE", "BBK-EVC-040"),)
    assert german.expires == datetime(2025, 3, 10, 19, 2, 11, tzinfo=UTC)
    assert dict(german.parameters)["warnVerwaltungsbereiche"] == "091620000000"
    (area,) = german.areas
    assert area.geocodes == (("AreaId", "0"), ("ARS", "091620000000"))
    assert area.polygons == (((48.19, 11.49), (48.19, 11.53), (48.17, 11.53), (48.17, 11.49), (48.19, 11.49)),)
    assert english.headline == "Major fire with heavy smoke"
    assert english.areas[0].polygons == ()
    assert report.to_json()["alerts"] == 1


def test_references_name_the_earlier_message_by_its_key() -> None:
    earlier = ingest(
        _json(
            _variant(
                identifier="mow.DE-BY-M-W001-20250310-000",
                sent="2025-03-10T13:40:00+01:00",
                msgType="Alert",
                references=None,
            )
        )
    ).messages[0]
    (reference,) = ingest(_json(NINA)).messages[0].references
    assert reference == Reference(
        "DE-BY-M-W001",
        "mow.DE-BY-M-W001-20250310-000",
        "2025-03-10T13:40:00+01:00",
        datetime(2025, 3, 10, 13, 40, tzinfo=CET),
    )
    assert reference.key == message_key(earlier)


def test_detect_recognises_cap_json_and_refuses_other_json() -> None:
    assert detect(_json(NINA)) is Format.CAP_JSON
    geojson = {"type": "FeatureCollection", "features": []}
    for other in (geojson, [NINA], {"identifier": "x", "sender": "y", "sent": "z", "title": "no CAP body"}):
        with pytest.raises(NotCap):
            detect(json.dumps(other).encode())


def test_missing_required_keys_are_reported_with_their_parent() -> None:
    value = _variant()
    del value["status"]
    del value["info"][0]["urgency"]
    del value["info"][0]["area"][0]["areaDesc"]
    report = ingest(_json(value))
    missing = {(e.path, e.message) for e in report.errors if e.code == "required_missing"}
    assert missing == {
        ("/alert", "Required element status is missing."),
        ("/alert/info[1]", "Required element urgency is missing."),
        ("/alert/info[1]/area[1]", "Required element areaDesc is missing."),
    }
    assert all(e.line is None for e in report.errors)


def test_single_values_where_arrays_belong_are_accepted_and_reported() -> None:
    info = copy.deepcopy(NINA["info"][1])
    info["category"] = "Met"
    report = ingest(_json(_variant(info=info)))
    assert report.errors == ()
    assert {(r.code, r.path) for r in report.repairs} == {
        ("json_single_value", "/alert/info[1]"),
        ("json_single_value", "/alert/info[1]/category[1]"),
    }
    assert report.messages[0].infos[0].category == ("Met",)


def test_values_of_the_wrong_json_type_are_ignored_and_reported() -> None:
    report = ingest(_json(_variant(info=["not an object"], note={"text": "an object"})))
    assert [(e.code, e.path) for e in report.errors] == [
        ("json_type", "/alert/note"),
        ("json_type", "/alert/info[1]"),
    ]
    assert report.messages[0].infos == ()


def test_enum_case_is_normalised_in_json_too() -> None:
    report = ingest(_json(_variant(status="actual", scope="PUBLIC")))
    assert [(r.code, r.path) for r in report.repairs] == [("enum_case", "/alert/status"), ("enum_case", "/alert/scope")]
    msg = report.messages[0]
    assert (msg.status, msg.scope) == ("Actual", "Public")


def test_cancel_without_references_is_an_error() -> None:
    report = ingest(_json(_variant(msgType="Cancel", references=None)))
    assert [(e.code, e.path) for e in report.errors] == [("references_missing", "/alert")]


def test_mowas_sample_from_the_corpus(cap_data: Path) -> None:
    data = (cap_data / "fpas" / "mow.DE-HE-KS-SE106-20250313-106-001.json").read_bytes()
    report = ingest(data)
    msg = report.messages[0]
    assert report.errors == ()
    assert msg.msg_type == "Cancel"
    assert [i.language for i in msg.infos] == ["DE", "DE-LS", "EN", "AR", "ES", "FR", "PL", "RU", "TR"]
    (reference,) = msg.references
    assert reference.key == (
        "DE-HE-KS-SE106",
        "mow.DE-HE-KS-SE106-20250313-106-000",
        "2025-03-13T09:15:06+00:00",
    )
    assert msg.infos[0].areas[0].geocodes == (("AreaId", "0"),)


_KEYS = st.sampled_from(
    [
        "identifier",
        "sent",
        "msgType",
        "info",
        "category",
        "area",
        "polygon",
        "circle",
        "geocode",
        "valueName",
        "value",
        "references",
        "code",
        "resource",
        "size",
        "altitude",
        "ceiling",
        "urgency",
        "expires",
        "other",
    ]
)
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5))


@settings(max_examples=150, deadline=None)
@given(body=st.dictionaries(_KEYS, _JSON, max_size=8))
def test_any_json_shape_gives_a_report_or_a_sirena_error(body: dict[str, Any]) -> None:
    alert = {"identifier": "a", "sender": "b", "sent": "2025-01-01T00:00:00+00:00", "status": "Actual", **body}
    try:
        report = ingest(_json(alert))
    except SirenaError:
        return
    json.dumps(report.to_json())
