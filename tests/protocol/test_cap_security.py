"""Hostile and broken input is refused cleanly: DTDs, entities, size, syntax, encodings, network access."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sirena.errors import BadRequest, PayloadTooLarge, SirenaError
from sirena.protocol.cap import (
    DEFAULT_MAX_BYTES,
    DocumentTooLarge,
    Format,
    MalformedDocument,
    NotCap,
    UndecodableDocument,
    UnsafeDocument,
    detect,
    ingest,
)
from sirena.protocol.cap.document import hardened_parser

NS = "urn:oasis:names:tc:emergency:cap:1.2"

XXE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="{NS}"><identifier>&xxe;</identifier></alert>""".encode()

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="{NS}"><identifier>&lol9;</identifier></alert>""".encode()

EXTERNAL_DTD = f"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">
<alert xmlns="{NS}"><identifier>x</identifier></alert>""".encode()

PARAMETER_ENTITY = f"""<?xml version="1.0"?>
<!-- a comment first -->
<?processing instruction?>
<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<alert xmlns="{NS}"/>""".encode()


@pytest.mark.parametrize(
    "data",
    [XXE, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY, b"<!doctype alert><alert/>"],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity", "lower-case-doctype"],
)
def test_dtds_and_entities_are_refused_before_parsing(data: bytes) -> None:
    with pytest.raises(UnsafeDocument) as caught:
        ingest(data)
    assert isinstance(caught.value, BadRequest)
    assert "DOCTYPE" in caught.value.detail()
    assert "рядок" in caught.value.detail("uk")


def test_the_parser_itself_expands_no_entities() -> None:
    """Belt and braces: even without the DOCTYPE check, the parser would not read the file or expand."""
    root = etree.fromstring(XXE, hardened_parser())
    assert "root:" not in "".join(str(t) for t in root.itertext())
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(BILLION_LAUGHS, hardened_parser())


def test_an_undeclared_entity_is_malformed() -> None:
    with pytest.raises(MalformedDocument):
        ingest(f'<alert xmlns="{NS}"><identifier>&xxe;</identifier></alert>'.encode())


def test_xinclude_is_not_processed(alert_text: str) -> None:
    data = alert_text.replace(
        "<scope>Public</scope>",
        '<scope>Public</scope><note><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        'href="file:///etc/passwd" parse="text"/></note>',
    )
    report = ingest(data.encode())
    assert report.messages[0].note is None


def test_oversized_input_is_refused(alert_text: str) -> None:
    data = alert_text.encode()
    with pytest.raises(DocumentTooLarge) as caught:
        ingest(data, max_bytes=len(data) - 1)
    assert isinstance(caught.value, PayloadTooLarge)
    assert ingest(data, max_bytes=len(data)).messages
    padded = data.replace(b"</alert>", b"<!--" + b"x" * DEFAULT_MAX_BYTES + b"--></alert>")
    with pytest.raises(DocumentTooLarge):
        ingest(padded)
    with pytest.raises(DocumentTooLarge):
        detect(padded)


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"hello, world", b"%PDF-1.7\n", bytes(range(256)), b"\x00\x01\x02"],
    ids=["empty", "blank", "text", "pdf", "binary", "nul"],
)
def test_non_xml_non_json_input_is_not_cap(data: bytes) -> None:
    with pytest.raises(NotCap):
        ingest(data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"<alert", MalformedDocument),
        (f'<alert xmlns="{NS}"><identifier>x</alert>'.encode(), MalformedDocument),
        (b'{"identifier": ', MalformedDocument),
        (b"[" * 100_000 + b"]" * 100_000, MalformedDocument),
        (b'{"identifier": NaN}', MalformedDocument),
        (b"<a>" * 5_000 + b"</a>" * 5_000, MalformedDocument),
        (b"<html><body>Not found</body></html>", NotCap),
        (b'<alert xmlns="urn:example:not-cap"/>', NotCap),
        (b"<alert/>", NotCap),
    ],
    ids=["truncated", "mismatched-tags", "truncated-json", "deep-json", "nan", "deep-xml", "html", "ns", "no-ns"],
)
def test_broken_or_foreign_input_is_refused_with_a_reason(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        ingest(data)
    assert str(caught.value)


def test_declared_utf8_with_latin1_bytes_is_undecodable(alert_text: str) -> None:
    data = alert_text.replace("Повітряна тривога в м. Київ", "Alerte à Genève").encode("latin-1", "replace")
    with pytest.raises(UndecodableDocument) as caught:
        ingest(data)
    assert caught.value.data["line"] == 18
    assert "UTF-8" in caught.value.detail() or "utf-8" in caught.value.detail()


def test_declared_latin1_with_utf8_bytes_is_reported(alert_text: str) -> None:
    text = alert_text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    report = ingest(text.encode("utf-8"))
    assert "encoding_suspect" in [w.code for w in report.warnings]
    assert report.messages[0].infos[0].headline != "Повітряна тривога в м. Київ"


def test_a_legacy_encoding_that_matches_its_bytes_is_read(alert_text: str) -> None:
    text = alert_text.replace('encoding="UTF-8"', 'encoding="windows-1251"')
    report = ingest(text.encode("cp1251"))
    assert report.warnings == ()
    assert report.messages[0].infos[0].headline == "Повітряна тривога в м. Київ"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_read(alert_text: str, codec: str) -> None:
    """``utf-16``/``utf-32`` write a byte-order mark; ``-le``/``-be`` do not and are recognised by their bytes."""
    text = alert_text.replace('encoding="UTF-8"', f'encoding="{codec.upper()}"')
    report = ingest(text.encode(codec))
    assert report.schema_valid is True
    assert report.messages[0].infos[0].areas[0].area_desc == "м. Київ"


def test_byte_order_mark_against_declaration_is_reported(alert_text: str) -> None:
    text = alert_text.replace('encoding="UTF-8"', 'encoding="ISO-8859-5"')
    report = ingest(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [w.code for w in report.warnings] == ["encoding_mismatch"]
    assert report.messages[0].infos[0].event == "Повітряна тривога"


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="no-such-charset"?><alert/>',
        b'<?xml version="1.0" encoding="rot13"?><alert/>',
        b'<?xml version="1.0" encoding="UTF-16"?><alert/>',
    ],
    ids=["unknown", "not-a-text-encoding", "utf16-declared-ascii-bytes"],
)
def test_unusable_encodings_are_refused(data: bytes) -> None:
    with pytest.raises(UndecodableDocument):
        ingest(data)


def test_invalid_utf8_json_is_undecodable() -> None:
    with pytest.raises(UndecodableDocument):
        ingest(b'{"identifier": "\xff"}')


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port that records whether anything connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def test_schema_locations_and_includes_are_never_fetched(alert_text: str, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = alert_text.replace(
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">',
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:oasis:names:tc:emergency:cap:1.2 http://127.0.0.1:{port}/CAP-v1.2.xsd">',
    ).replace(
        "<scope>Public</scope>",
        f'<scope>Public</scope><note><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        f'href="http://127.0.0.1:{port}/x"/></note>',
    )
    report = ingest(data.encode())
    assert report.format is Format.CAP_XML
    with pytest.raises(BlockingIOError):
        listener.accept()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.binary(max_size=600))
def test_arbitrary_bytes_give_a_report_or_a_sirena_error(noise: bytes) -> None:
    try:
        report = ingest(noise)
    except SirenaError:
        return
    json.dumps(report.to_json())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_alerts_give_a_report_or_a_sirena_error(alert_text: str, data: st.DataObject) -> None:
    """Cut, duplicate or overwrite parts of a valid alert: never a crash, never an unexpected exception."""
    raw = bytearray(alert_text.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(raw) - 1))
        end = data.draw(st.integers(start, min(len(raw), start + 40)))
        action = data.draw(st.sampled_from(["cut", "repeat", "overwrite"]))
        if action == "cut":
            del raw[start:end]
        elif action == "repeat":
            raw[start:start] = raw[start:end]
        else:
            raw[start:end] = data.draw(st.binary(min_size=end - start, max_size=end - start))
        if not raw:
            raw = bytearray(b"<")
    try:
        report = ingest(bytes(raw))
    except SirenaError:
        return
    json.dumps(report.to_json())
