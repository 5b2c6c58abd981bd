"""Emitted CAP: valid against the OASIS CAP 1.2 schema every time, and read back into the same alert.

The property tests generate alerts of every kind, threat, level, status and state, for regions, polygons and
circles, with texts in several languages full of XML-special characters, write them as CAP 1.2 XML and CAP-JSON,
read them with ingest (which validates against the shipped XSD and runs every semantic check) and map them back.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from alert_strategies import alerts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sirena.cap import convention as c
from sirena.cap.areas import RegionAreas
from sirena.cap.inbound import Action, read_message
from sirena.cap.outbound import alert_to_cap
from sirena.domain.model import Alert, AlertState, Circle, Kind, Level, Source, Status, Target, Threat, ThreatType
from sirena.protocol.cap import Format, Report, ingest
from sirena.protocol.cap.emit import EmitError, clean_text, number, to_xml
from sirena.protocol.cap.emit_json import to_json, to_json_dict
from sirena.protocol.cap.model import CapArea, CapInfo, CapMessage, Reference
from sirena.protocol.cap.schema import compiled
from sirena.service import AlertService

SENDER = "sirena@alerts.example.org"
T0 = datetime(2026, 3, 1, 8, 15, 0, 123000, tzinfo=UTC)


def assert_clean(report: Report, fmt: Format = Format.CAP_XML) -> None:
    assert report.format is fmt
    if fmt is Format.CAP_XML:
        assert report.version == "1.2"
        assert report.schema_valid is True
    assert report.errors == () and report.warnings == () and report.repairs == (), report.to_json()


def assert_xsd_valid(xml: bytes) -> None:
    """Independently of ingest: the document validates against the shipped OASIS CAP 1.2 XSD."""
    schema = compiled("1.2")
    assert schema is not None
    validator, lock = schema
    with lock:
        assert validator.validate(etree.fromstring(xml)), validator.error_log


def alert(**changes: object) -> Alert:
    base = Alert(
        id="01JD4Z6Q7T8G9H0J1K2M3N4P5Q",
        version=1,
        state=AlertState.ACTIVE,
        target=Target(regions=("31",)),
        regions=("31",),
        partial_regions=(),
        kind=Kind.AIR_RAID,
        level=Level.RED,
        status=Status.ACTUAL,
        threats=(Threat(ThreatType.BALLISTIC_MISSILES),),
        issuer="token:ops",
        started_at=T0,
        updated_at=T0,
        headline={"uk": "Ракетна небезпека", "en": "Missile danger"},
        instruction={"uk": "Негайно пройдіть в укриття", "en": "Go to a shelter now"},
        time_to_shelter_s=90,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# -- the properties ------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_alert_is_schema_valid_cap_and_reads_back_unchanged(
    data: st.DataObject, resolver: AlertService, areas: RegionAreas, anchors: list[tuple[float, float]]
) -> None:
    original, earlier = data.draw(alerts(resolver, anchors))
    message = alert_to_cap(original, sender=SENDER, areas=areas, earlier=earlier)
    xml = to_xml(message)
    assert_xsd_valid(xml)
    report = ingest(xml)
    assert_clean(report)
    (read,) = report.messages
    assert read.identifier == c.identifier(SENDER, original.id, original.version)
    expected_type = {AlertState.CANCELLED: "Cancel"}.get(original.state, "Alert" if original.version == 1 else "Update")
    assert read.msg_type == expected_type
    assert read.status == {"actual": "Actual", "exercise": "Exercise", "test": "Test"}[original.status.value]
    assert [r.key for r in read.references] == [
        (SENDER, c.identifier(SENDER, original.id, v), t.replace(microsecond=0).isoformat()) for v, t in earlier
    ]
    assert len({i.language for i in read.infos}) == len(read.infos)
    assert read_message(read, areas).as_alert(resolver.resolve) == original

    json_report = ingest(to_json(message))
    assert_clean(json_report, Format.CAP_JSON)
    assert read_message(json_report.messages[0], areas).as_alert(resolver.resolve) == original


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_at_all_still_gives_valid_cap(text: str, areas: RegionAreas) -> None:
    """Control characters, lone surrogates and U+FFFE cannot be written in XML: they are dropped, never fatal."""
    original = alert(headline={"en": text or "x"}, instruction={"uk": text}, issuer=text or "x")
    xml = to_xml(alert_to_cap(original, sender=SENDER, areas=areas))
    assert_xsd_valid(xml)
    report = ingest(xml)
    assert_clean(report)
    headlines = [i.headline for i in report.messages[0].infos if i.language == "en"]
    assert headlines == [clean_text(text or "x").strip() or None]


# -- the mapping, case by case --------------------------------------------------------------------------------


def read_back(original: Alert, areas: RegionAreas, earlier: list[tuple[int, datetime]] | None = None) -> CapMessage:
    report = ingest(to_xml(alert_to_cap(original, sender=SENDER, areas=areas, earlier=earlier or [])))
    assert_clean(report)
    return report.messages[0]


def params(info: CapInfo) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in info.parameters:
        out.setdefault(name, []).append(value)
    return out


def test_region_alert_carries_geocodes_polygons_and_parameters(areas: RegionAreas) -> None:
    msg = read_back(alert(target=Target(regions=("31", "14")), regions=("31", "14")), areas)
    assert (msg.msg_type, msg.status, msg.scope, msg.references) == ("Alert", "Actual", "Public", ())
    assert msg.incidents == (c.incident(SENDER, "01JD4Z6Q7T8G9H0J1K2M3N4P5Q"),)
    assert [i.language for i in msg.infos] == ["uk", "en"]
    uk, en = msg.infos
    assert (uk.event, en.event) == ("Повітряна тривога", "Air-raid alert")
    assert (en.category, en.response_type, en.urgency, en.severity, en.certainty) == (
        ("Security",),
        ("Shelter",),
        "Immediate",
        "Extreme",
        "Observed",
    )
    assert en.event_code == (("sirena:kind", "air_raid"),)
    p = params(en)
    assert p["sirena:level"] == ["red"]
    assert p["sirena:threat"] == ["ballistic_missiles:red"]
    assert p["sirena:time_to_shelter_s"] == ["90"]
    assert p["sirena:target"] == ["regions"]
    assert p["sirena:started_at"] == ["2026-03-01T08:15:00.123Z"]
    kyiv, oblast = en.areas
    assert kyiv.area_desc == "Kyiv" and uk.areas[0].area_desc == "м. Київ"
    assert ("SIRENA", "31") in kyiv.geocodes and ("KATOTTG", "UA80000000000093317") in kyiv.geocodes
    assert ("ISO3166-2", "UA-30") in kyiv.geocodes
    assert not any(name == "OSM-RELATION" for name, _ in kyiv.geocodes)
    assert kyiv.polygons and oblast.polygons
    assert all(len(ring) >= 4 and ring[0] == ring[-1] for ring in oblast.polygons)
    assert en.onset == T0.replace(microsecond=0)


def test_whole_country_gets_the_union_of_its_regions_as_polygons(areas: RegionAreas, registry: object) -> None:
    msg = read_back(alert(target=Target(regions=("UA",)), regions=("UA",)), areas)
    (area,) = msg.infos[0].areas
    assert ("SIRENA", "UA") in area.geocodes
    assert area.polygons, "the country has no outline of its own: the oblasts' union stands in"
    assert all(len(ring) <= 400 for ring in area.polygons)


def test_hromada_without_outline_is_written_by_geocode_alone(areas: RegionAreas, registry: object) -> None:
    hromada = next(r for r in areas.registry if r.level == "hromada")
    msg = read_back(alert(target=Target(regions=(hromada.id,)), regions=(hromada.id,)), areas)
    (area,) = msg.infos[0].areas
    assert area.polygons == () and area.geocodes[0] == ("SIRENA", hromada.id)


def test_update_end_and_cancel_reference_every_earlier_version(areas: RegionAreas) -> None:
    t1, t2 = T0.replace(minute=20), T0.replace(minute=30)
    earlier = [(1, T0), (2, t1)]
    updated = read_back(alert(version=3, updated_at=t2), areas, earlier)
    assert updated.msg_type == "Update"
    assert [r.identifier for r in updated.references] == [
        c.identifier(SENDER, "01JD4Z6Q7T8G9H0J1K2M3N4P5Q", 1),
        c.identifier(SENDER, "01JD4Z6Q7T8G9H0J1K2M3N4P5Q", 2),
    ]
    assert [r.sent for r in updated.references] == ["2026-03-01T08:15:00+00:00", "2026-03-01T08:20:00+00:00"]

    ended = read_back(alert(version=3, state=AlertState.ENDED, updated_at=t2, ended_at=t2), areas, earlier)
    info = ended.infos[0]
    assert (ended.msg_type, info.response_type, info.urgency) == ("Update", ("AllClear",), "Past")
    assert read_message(ended, areas).action is Action.END

    cancelled = read_back(alert(version=2, state=AlertState.CANCELLED, updated_at=t2, ended_at=t2), areas, [(1, T0)])
    assert cancelled.msg_type == "Cancel"
    assert (cancelled.infos[0].response_type, cancelled.infos[0].certainty) == (("None",), "Unlikely")
    assert read_message(cancelled, areas).action is Action.CANCEL


def test_a_version_whose_predecessors_are_unknown_stands_alone(areas: RegionAreas) -> None:
    msg = read_back(alert(version=4), areas, [])
    assert (msg.msg_type, msg.references) == ("Alert", ())


@pytest.mark.parametrize(("status", "cap"), [(Status.EXERCISE, "Exercise"), (Status.TEST, "Test")])
def test_exercises_and_tests_carry_their_cap_status(areas: RegionAreas, status: Status, cap: str) -> None:
    msg = read_back(alert(status=status), areas)
    assert msg.status == cap
    assert read_message(msg, areas).status is status


def test_yellow_alert_asks_to_prepare(areas: RegionAreas) -> None:
    info = read_back(alert(level=Level.YELLOW), areas).infos[0]
    assert (info.response_type, info.urgency, info.severity, info.certainty) == (
        ("Prepare",),
        "Expected",
        "Severe",
        "Likely",
    )


def test_chemical_and_nuclear_are_cbrne(areas: RegionAreas) -> None:
    for kind in (Kind.CHEMICAL, Kind.NUCLEAR):
        assert read_back(alert(kind=kind), areas).infos[0].category == ("CBRNE",)


def test_polygon_and_circle_targets(areas: RegionAreas, resolver: AlertService) -> None:
    ring = [[30.3, 50.3], [30.7, 50.3], [30.7, 50.6], [30.3, 50.6], [30.3, 50.3]]
    area = {"type": "Polygon", "coordinates": [ring]}
    regions, partial = resolver.resolve(Target(area=area))
    msg = read_back(alert(target=Target(area=area), regions=regions, partial_regions=partial), areas)
    (cap_area,) = msg.infos[0].areas
    assert cap_area.polygons == (tuple((lat, lon) for lon, lat in ring),)
    assert params(msg.infos[0])["sirena:target"] == ["Polygon"]

    circle = Circle(50.45, 30.52, 25.0)
    regions, partial = resolver.resolve(Target(circle=circle))
    msg = read_back(alert(target=Target(circle=circle), regions=regions, partial_regions=partial), areas)
    (cap_area,) = msg.infos[0].areas
    assert cap_area.circles == ((50.45, 30.52, 25.0),)
    assert cap_area.polygons == ()


def test_cap_json_has_the_nina_shape(areas: RegionAreas) -> None:
    doc = to_json_dict(alert_to_cap(alert(version=2), sender=SENDER, areas=areas, earlier=[(1, T0)]))
    assert doc["msgType"] == "Update" and isinstance(doc["references"], str)
    assert isinstance(doc["info"], list) and isinstance(doc["info"][0]["category"], list)
    info = doc["info"][0]
    assert isinstance(info["responseType"], list) and isinstance(info["parameter"], list)
    assert info["parameter"][0] == {"valueName": "sirena:level", "value": "red"}
    assert isinstance(info["area"][0]["polygon"], list) and isinstance(info["area"][0]["geocode"], list)
    assert info["eventCode"] == [{"valueName": "sirena:kind", "value": "air_raid"}]


def test_numbers_are_written_positionally_and_exactly() -> None:
    for value in (0.0, -0.0, 1e-7, 30.523400000000002, 50.0, -179.99999999999997, 12345.678):
        text = number(value)
        assert "e" not in text.lower()
        assert float(text) == value


# -- strictness: emit refuses what would not be valid CAP -----------------------------------------------------


def _message(**changes: object) -> CapMessage:
    info = CapInfo(
        language="en", category=("Safety",), event="Test", urgency="Unknown", severity="Unknown", certainty="Unknown"
    )
    base = CapMessage(
        identifier="x-1",
        sender="me@example.org",
        sent=T0,
        status="Test",
        msg_type="Alert",
        scope="Public",
        infos=(info,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "actual"},
        {"msg_type": "Update"},
        {"identifier": "has space"},
        {"sender": "a,b"},
        {"sent": None},
        {"sent": datetime(2026, 1, 1)},
        {"scope": "Restricted"},
        {"references": (Reference("me@example.org", "x-0", "2026-01-01T00:00:00Z"),)},
    ],
)
def test_emit_refuses_an_invalid_message(changes: dict[str, object]) -> None:
    with pytest.raises(EmitError):
        to_xml(_message(**changes))


@pytest.mark.parametrize(
    "info_changes",
    [
        {"language": "not a tag"},
        {"category": ()},
        {"urgency": ""},
        {"event": "  "},
        {"areas": (CapArea("a", polygons=(((1.0, 2.0), (3.0, 4.0), (1.0, 2.0)),)),)},
        {"areas": (CapArea("a", polygons=(((1.0, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0)),)),)},
        {"areas": (CapArea("a", circles=((91.0, 0.0, 1.0),)),)},
        {"areas": (CapArea("a", circles=((1.0, 0.0, -1.0),)),)},
        {"areas": (CapArea("a", ceiling=3.0),)},
    ],
)
def test_emit_refuses_an_invalid_info(info_changes: dict[str, object]) -> None:
    info = dataclasses.replace(_message().infos[0], **info_changes)  # type: ignore[arg-type]
    with pytest.raises(EmitError):
        to_xml(_message(infos=(info,)))


def test_sirena_facts_are_not_guessed_for_other_senders(areas: RegionAreas) -> None:
    msg = dataclasses.replace(read_back(alert(), areas), infos=())
    with pytest.raises(ValueError, match="not a message written by Sirena"):
        read_message(msg, areas).as_alert(lambda target: ((), ()))


def test_source_and_issuer_travel(areas: RegionAreas, resolver: AlertService) -> None:
    original = alert(source=Source.OFFICIAL, issuer="Kyiv City Civil Protection")
    assert read_message(read_back(original, areas), areas).as_alert(resolver.resolve) == original
