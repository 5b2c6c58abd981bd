"""Each semantic check and each repair, with the path (and line) of the element it is about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sirena.protocol.cap import Issue, Report, ingest, message_key

POLYGON = "50.59,30.24 50.59,30.83 50.21,30.83 50.21,30.24 50.59,30.24"
AREA_PATH = "/alert/info[1]/area[1]"


def _with(alert_text: str, old: str, new: str) -> Report:
    assert old in alert_text
    return ingest(alert_text.replace(old, new).encode())


def _found(issues: tuple[Issue, ...]) -> list[tuple[str, str | None]]:
    return [(i.code, i.path) for i in issues]


def test_the_base_alert_is_clean(alert_text: str) -> None:
    report = ingest(alert_text.encode())
    assert report.schema_valid is True
    assert (report.errors, report.warnings, report.repairs) == ((), (), ())
    msg = report.messages[0]
    assert message_key(msg) == ("alerts@sirena.example", "UA-80-2025-0301-0001", "2025-03-01T08:15:00+02:00")


@pytest.mark.parametrize("msg_type", ["Update", "Cancel", "Ack", "Error"])
def test_referencing_message_types_need_references(alert_text: str, msg_type: str) -> None:
    report = _with(alert_text, "<msgType>Alert</msgType>", f"<msgType>{msg_type}</msgType>")
    assert _found(report.errors) == [("references_missing", "/alert")]
    assert report.errors[0].line == 2
    assert report.schema_valid is True


def test_references_become_triples(alert_text: str) -> None:
    refs = (
        "alerts@sirena.example,UA-80-2025-0301-0000,2025-03-01T08:00:00+02:00 "
        "alerts@sirena.example,UA-80-2025-0228-0042,2025-02-28T23:59:59-00:00"
    )
    report = _with(
        alert_text.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "<scope>Public</scope>",
        f"<scope>Public</scope><references>{refs}</references>",
    )
    assert report.errors == ()
    first, second = report.messages[0].references
    assert first.key == ("alerts@sirena.example", "UA-80-2025-0301-0000", "2025-03-01T08:00:00+02:00")
    assert second.key == ("alerts@sirena.example", "UA-80-2025-0228-0042", "2025-02-28T23:59:59+00:00")
    assert second.sent_at == datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC)


def test_a_reference_that_is_not_a_triple_is_an_error(alert_text: str) -> None:
    report = _with(
        alert_text.replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
        "<scope>Public</scope>",
        "<scope>Public</scope><references>UA-80-2025-0301-0000 a,b,not-a-time</references>",
    )
    assert _found(report.errors) == [("reference_malformed", "/alert/references")] * 2
    assert [r.identifier for r in report.messages[0].references] == ["b"]


def test_an_unclosed_polygon_is_closed(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "50.59,30.24 50.59,30.83 50.21,30.83 50.21,30.24")
    assert _found(report.repairs) == [("polygon_closed", f"{AREA_PATH}/polygon[1]")]
    assert report.repairs[0].line == 21
    (ring,) = report.messages[0].infos[0].areas[0].polygons
    assert len(ring) == 5
    assert ring[0] == ring[-1] == (50.59, 30.24)
    assert report.errors == ()


def test_a_polygon_under_four_points_is_dropped(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "50.59,30.24 50.59,30.83 50.59,30.24")
    assert _found(report.errors) == [("polygon_too_few_points", f"{AREA_PATH}/polygon[1]")]
    assert report.messages[0].infos[0].areas[0].polygons == ()


def test_an_empty_polygon_is_dropped(alert_text: str) -> None:
    report = _with(alert_text, f"<polygon>{POLYGON}</polygon>", f"<polygon/><polygon>{POLYGON}</polygon>")
    assert _found(report.repairs) == [("polygon_empty_dropped", f"{AREA_PATH}/polygon[1]")]
    assert len(report.messages[0].infos[0].areas[0].polygons) == 1


def test_stray_commas_are_removed(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "+50.59,+30.24, 50.59,30.83, 50.21,30.83 50.21,30.24 50.59,30.24")
    assert _found(report.repairs) == [("coordinate_stray_comma", f"{AREA_PATH}/polygon[1]")]
    assert report.messages[0].infos[0].areas[0].polygons[0][0] == (50.59, 30.24)


def test_an_unreadable_polygon_is_dropped(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "50.59;30.24 50.59;30.83 50.21;30.83 50.59;30.24")
    assert _found(report.errors) == [("polygon_unparsable", f"{AREA_PATH}/polygon[1]")]
    assert report.messages[0].infos[0].areas[0].polygons == ()


def test_out_of_range_coordinates_are_errors(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "50.59,30.24 50.59,190.83 50.21,30.83 50.59,30.24")
    assert _found(report.errors) == [("polygon_out_of_range", f"{AREA_PATH}/polygon[1]")]
    assert "50.59,190.83" in report.errors[0].message


def test_swapped_latitude_and_longitude_are_recognised(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "-97.52,35.47 -97.40,35.47 -97.40,35.39 -97.52,35.39 -97.52,35.47")
    assert _found(report.errors) == [("polygon_swapped", f"{AREA_PATH}/polygon[1]")]


def test_crossing_the_antimeridian_is_a_warning(alert_text: str) -> None:
    report = _with(alert_text, POLYGON, "-17.0,179.5 -17.0,-179.5 -18.0,-179.5 -18.0,179.5 -17.0,179.5")
    assert _found(report.warnings) == [("polygon_crosses_antimeridian", f"{AREA_PATH}/polygon[1]")]
    assert report.errors == ()


def test_circles(alert_text: str) -> None:
    circles = "<circle>50.45,30.52 25</circle><circle>50.45,30.52</circle><circle>130.5,50.4 3</circle>"
    report = _with(alert_text, "<geocode>", f"{circles}<geocode>")
    assert _found(report.errors) == [
        ("circle_malformed", f"{AREA_PATH}/circle[2]"),
        ("circle_swapped", f"{AREA_PATH}/circle[3]"),
    ]
    assert report.messages[0].infos[0].areas[0].circles == ((50.45, 30.52, 25.0), (130.5, 50.4, 3.0))


def test_empty_urgency_severity_and_certainty(alert_text: str) -> None:
    text = alert_text
    for name, value in (("urgency", "Immediate"), ("severity", "Extreme"), ("certainty", "Observed")):
        text = text.replace(f"<{name}>{value}</{name}>", f"<{name}></{name}>")
    report = ingest(text.encode())
    assert report.schema_valid is False
    assert [(e.code, e.path) for e in report.errors if e.code != "schema"] == [
        ("value_empty", "/alert/info[1]/urgency"),
        ("value_empty", "/alert/info[1]/severity"),
        ("value_empty", "/alert/info[1]/certainty"),
    ]
    assert [e.line for e in report.errors if e.code == "schema"] == [14, 15, 16]


def test_enum_case_is_normalised(alert_text: str) -> None:
    report = _with(alert_text, "<status>Actual</status>", "<status>actual</status>")
    assert _found(report.repairs) == [("enum_case", "/alert/status")]
    assert report.messages[0].status == "Actual"
    assert report.schema_valid is False


def test_unknown_enum_values_are_errors(alert_text: str) -> None:
    report = _with(alert_text, "<category>Safety</category>", "<category>Air raid</category>")
    assert ("enum_unknown", "/alert/info[1]/category[1]") in _found(report.errors)
    assert report.messages[0].infos[0].category == ("Air raid",)


def test_a_timestamp_without_offset_is_read_as_utc_and_reported(alert_text: str) -> None:
    report = _with(alert_text, "2025-03-01T10:15:00+02:00", "2025-03-01T10:15:00")
    assert ("timestamp_no_offset", "/alert/info[1]/expires") in _found(report.errors)
    assert _found(report.repairs) == [("timestamp_assumed_utc", "/alert/info[1]/expires")]
    assert report.messages[0].infos[0].expires == datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def test_other_timestamp_forms(alert_text: str) -> None:
    zulu = _with(alert_text, "2025-03-01T10:15:00+02:00", "2025-03-01T08:15:00Z")
    assert _found(zulu.warnings) == [("timestamp_format", "/alert/info[1]/expires")]
    assert zulu.messages[0].infos[0].expires == datetime(2025, 3, 1, 8, 15, tzinfo=UTC)
    garbage = _with(alert_text, "<sent>2025-03-01T08:15:00+02:00</sent>", "<sent>yesterday</sent>")
    assert ("timestamp_invalid", "/alert/sent") in _found(garbage.errors)
    msg = garbage.messages[0]
    assert msg.sent is None
    assert message_key(msg) == ("alerts@sirena.example", "UA-80-2025-0301-0001", "yesterday")


def test_identifier_with_forbidden_characters(alert_text: str) -> None:
    report = _with(alert_text, "<identifier>UA-80-2025-0301-0001</identifier>", "<identifier>UA 80, 1</identifier>")
    assert _found(report.warnings) == [("identifier_characters", "/alert/identifier")]


def test_numbers_and_ceiling(alert_text: str) -> None:
    report = _with(alert_text, "</geocode>", "</geocode><ceiling>high</ceiling>")
    assert ("number_invalid", f"{AREA_PATH}/ceiling") in _found(report.errors)
    report = _with(alert_text, "</geocode>", "</geocode><ceiling>3000</ceiling>")
    assert _found(report.warnings) == [("ceiling_without_altitude", AREA_PATH)]
    assert report.messages[0].infos[0].areas[0].ceiling == 3000.0


def test_addresses_and_incidents_are_lists(alert_text: str) -> None:
    report = _with(
        alert_text.replace("<scope>Public</scope>", "<scope>Private</scope>"),
        "<scope>Private</scope>",
        '<scope>Private</scope><addresses>kyiv-ops "Kyiv city administration"</addresses>'
        "<code>test-code</code><incidents>INC-1 INC-2</incidents>",
    )
    msg = report.messages[0]
    assert msg.addresses == ("kyiv-ops", "Kyiv city administration")
    assert msg.incidents == ("INC-1", "INC-2")
    assert msg.code == ("test-code",)


def test_resources_are_read(alert_text: str) -> None:
    resource = (
        "<resource><resourceDesc>Map</resourceDesc><mimeType>image/png</mimeType><size>2048</size>"
        "<uri>https://sirena.example/map.png</uri><digest>da39a3ee5e6b4b0d3255bfef95601890afd80709</digest>"
        "</resource>"
    )
    report = _with(alert_text, "<area>", f"{resource}<area>")
    assert report.schema_valid is True
    (res,) = report.messages[0].infos[0].resources
    assert (res.resource_desc, res.mime_type, res.size, res.uri) == (
        "Map",
        "image/png",
        2048,
        "https://sirena.example/map.png",
    )


def test_schema_errors_carry_line_and_path(alert_text: str) -> None:
    report = _with(alert_text, "<headline>", "<audience>everyone</audience><headline>")
    (error,) = report.errors
    assert (error.code, error.path, error.line) == ("schema", "/alert/info[1]/audience", 18)
    assert error.message.startswith("Schema: Element 'audience': This element is not expected.")
    assert error.text("uk").startswith("Схема: ")
