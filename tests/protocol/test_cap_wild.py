"""CAP from sources outside the shared corpus: every version, namespace style, encoding, line end and prelude;
EDXL-DE, Atom and RSS wrappers; and the quirks of real feeds (fixtures in ``tests/cap/wild``)."""

from __future__ import annotations

import codecs
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sirena.protocol.cap import Format, MalformedDocument, NotCap, SignatureVerdict, UndecodableDocument, detect, ingest
from sirena.protocol.cap import vocabulary as v

WILD = Path(__file__).resolve().parents[1] / "cap" / "wild"
NAMESPACES = {"1.0": v.NS_CAP_1_0, "1.1": v.NS_CAP_1_1, "1.2": v.NS_CAP_1_2}
RING = ((50.35, 30.4), (50.35, 30.65), (50.52, 30.65), (50.52, 30.4), (50.35, 30.4))


def wild(name: str) -> bytes:
    return (WILD / name).read_bytes()


def _alert(version: str, prefix: str) -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns{':' + prefix if prefix else ''}"
    body = [
        ("identifier", "WILD-1"),
        ("sender", "alertes@securite.example.ca"),
        ("sent", "2025-03-01T08:15:00+02:00"),
        ("status", "Actual"),
        ("msgType", "Alert"),
        ("scope", "Public"),
    ]
    info = [
        ("language", "fr-CA"),
        ("category", "Safety"),
        ("event", "Alerte aérienne"),
        ("urgency", "Immediate"),
        ("severity", "Extreme"),
        ("certainty", "Observed"),
        ("headline", "Alerte aérienne à Kyiv"),
    ]

    def element(name: str, text: str) -> str:
        return f"  <{p}{name}>{text}</{p}{name}>\n"

    polygon = " ".join(f"{lat},{lon}" for lat, lon in RING)
    area = element("areaDesc", "Kyiv") + element("polygon", polygon)
    return (
        f'<{p}alert {xmlns}="{NAMESPACES[version]}">\n'
        + "".join(element(n, t) for n, t in body)
        + f"  <{p}info>\n"
        + "".join(element(n, t) for n, t in info)
        + f"  <{p}area>\n{area}  </{p}area>\n  </{p}info>\n</{p}alert>\n"
    )


#: name → (declared encoding, codec used for the bytes, byte-order mark)
ENCODINGS = {
    "utf-8": ("UTF-8", "utf-8", b""),
    "utf-8-bom": ("UTF-8", "utf-8", codecs.BOM_UTF8),
    "iso-8859-1": ("ISO-8859-1", "iso-8859-1", b""),
    "windows-1252": ("windows-1252", "cp1252", b""),
    "utf-16-bom": ("UTF-16", "utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16be-no-bom": ("UTF-16", "utf-16-be", b""),
}
PRELUDES = {
    "none": ("", ""),
    "comment-and-pi": ("", "<!-- generated -->\n<?xml-stylesheet type='text/xsl' href='cap.xsl'?>\n"),
    "blank-before-declaration": ("\n\n  ", ""),
}
VARIANTS = [
    pytest.param(*combo, id="-".join(combo))
    for combo in itertools.product(NAMESPACES, ("", "cap"), ENCODINGS, ("\n", "\r\n"), PRELUDES)
    # UTF-16 without a byte-order mark is recognised by its first character, which must then be "<"
    if not (combo[2] == "utf-16be-no-bom" and combo[4] == "blank-before-declaration")
]


@pytest.mark.parametrize(("version", "prefix", "encoding", "newline", "prelude"), VARIANTS)
def test_every_version_style_encoding_line_end_and_prelude_reads_the_same(
    version: str, prefix: str, encoding: str, newline: str, prelude: str
) -> None:
    declared, codec, bom = ENCODINGS[encoding]
    before, after = PRELUDES[prelude]
    text = f'{before}<?xml version="1.0" encoding="{declared}"?>\n{after}{_alert(version, prefix)}'
    report = ingest(bom + text.replace("\n", newline).encode(codec))
    assert (report.format, report.version, report.errors, report.repairs) == (Format.CAP_XML, version, (), ())
    expected = {"schema_unavailable"} if version == "1.0" else set()
    if prelude == "blank-before-declaration":
        expected.add("declaration_not_first")
    assert {w.code for w in report.warnings} == expected
    assert report.schema_valid is (None if version == "1.0" else True)
    (message,) = report.messages
    assert (message.identifier, message.sent) == ("WILD-1", datetime(2025, 3, 1, 6, 15, tzinfo=UTC))
    (info,) = message.infos
    assert (info.language, info.event, info.headline) == ("fr-CA", "Alerte aérienne", "Alerte aérienne à Kyiv")
    assert info.areas[0].polygons == (RING,)
    if version != "1.0":  # schema errors keep their path and source line
        p = f"{prefix}:" if prefix else ""
        broken = text.replace(f"<{p}sender>", f"<{p}bogus/><{p}sender>")
        line = broken.count("\n", 0, broken.index("bogus")) + 1
        errors = ingest(bom + broken.replace("\n", newline).encode(codec)).errors
        assert [(e.code, e.path, e.line) for e in errors] == [("schema", "/alert/bogus", line)]


def test_blank_lines_before_a_latin1_declaration_with_crlf_and_loose_polygon() -> None:
    report = ingest(wild("blank_before_latin1_declaration.xml"))
    assert (report.format, report.version, report.schema_valid, report.errors) == (Format.CAP_XML, "1.1", True, ())
    assert [(w.code, w.line) for w in report.warnings] == [("declaration_not_first", 3)]
    assert [(r.code, r.path, r.line) for r in report.repairs] == [
        ("coordinate_separators", "/alert/info[1]/area[1]/polygon[1]", 22),
        ("polygon_closed", "/alert/info[1]/area[1]/polygon[1]", 22),
    ]
    (message,) = report.messages
    assert message.sent == datetime(2025, 3, 1, 6, 15, tzinfo=UTC) and message.sent_text.endswith("-00:00")
    info = message.infos[0]
    assert (info.headline, info.areas[0].polygons) == ("Alerte aérienne à Kyiv", (RING,))


def test_edxl_de_distribution_is_read_like_a_feed() -> None:
    data = wild("edxl_de.xml")
    assert detect(data) is Format.EDXL_DE
    report = ingest(data)
    assert (report.format, report.version, report.schema_valid, report.errors) == (Format.EDXL_DE, "1.2", True, ())
    (message,) = report.messages
    assert (message.identifier, message.sender) == ("EDXL-CAP-0001", "civil-protection@alerts.example.org")
    assert message.infos[0].areas[0].polygons == (RING,)
    assert report.links == ()  # the map is an attachment, not CAP to fetch
    assert [(w.code, w.path, w.line) for w in report.warnings] == [
        ("edxl_content_not_read", "/EDXLDistribution/contentObject[3]", 44)
    ]
    damaged = ingest(data.replace(b"<severity>Extreme", b"<severity>extreme"))
    assert [(r.code, r.path) for r in damaged.repairs] == [
        ("enum_case", "/EDXLDistribution/contentObject[1]/xmlContent/embeddedXMLContent/alert/info[1]/severity")
    ]


def test_edxl_de_and_atom_that_only_link_to_cap_give_their_links() -> None:
    edxl = ingest(wild("edxl_de_links_only.xml"))
    assert (edxl.format, edxl.messages, edxl.version) == (Format.EDXL_DE, (), None)
    assert edxl.links == ("https://alerts.example.org/cap/EDXL-CAP-0002.xml",)
    atom = ingest(wild("atom_links_only.xml"))  # NWS style: cap:* summary elements beside the link
    assert (atom.format, atom.messages, atom.errors) == (Format.ATOM, (), ())
    assert atom.links == ("https://alerts.example.org/cap/ATOM-0001.xml",)


def test_quirks_of_real_feeds_are_read_and_reported() -> None:
    report = ingest(wild("quirks_update.xml"))
    assert report.signature is SignatureVerdict.INVALID
    assert [(e.code, e.path) for e in report.errors] == [
        ("schema", "/alert/sent"),  # Z is not CAP
        ("schema", "/alert/vendorNote"),  # an extension element: not in the schema, ignored
        ("signature_invalid", "/alert/Signature"),
    ]
    assert [w.code for w in report.warnings] == ["timestamp_format"]
    (message,) = report.messages
    assert message.sent == datetime(2025, 3, 1, 6, 45, tzinfo=UTC)
    assert [r.key for r in message.references] == [
        ("civil-protection@alerts.example.org", "QUIRKS-0001", "2025-03-01T08:15:00+02:00"),
        ("civil-protection@alerts.example.org", "QUIRKS-0002", "2025-03-01T06:30:00+00:00"),
    ]
    en, fr = message.infos
    assert (en.language, fr.language, fr.headline) == ("en-CA", "fr-CA", "Alerte aérienne prolongée")
    assert en.event_code == (("profile:CAP-CP:Event:0.4", "airRaid"), ("SAME", "CEM"))
    assert en.parameters == (("layer:SOREM:1.0:Broadcast_Immediately", "Yes"), ("EAS-ORG", ""))
    (resource,) = en.resources
    assert (resource.mime_type, resource.size, resource.deref_uri) == (
        "image/png",
        16,
        "iVBORw0KGgoAAAAN\n        SUhEUg==",
    )
    named, point = en.areas
    assert (named.geocodes, named.polygons, named.circles) == ((("KATOTTG", "UA80000000000093317"),), (), ())
    assert point.circles == ((50.45, 30.52, 0.0),)


@pytest.mark.parametrize(
    "polygon",
    [
        "50.35, 30.40 50.35, 30.65 50.52, 30.65 50.52, 30.40 50.35, 30.40",
        "50.35,30.40,50.35,30.65,50.52,30.65,50.52,30.40,50.35,30.40",
        "50.35 30.40 50.35 30.65 50.52 30.65 50.52 30.40 50.35 30.40",
        "50.35 , 30.40\n 50.35 ,30.65 50.52, 30.65 ,50.52,30.40, 50.35,30.40",
    ],
    ids=["space-after-comma", "commas-only", "spaces-only", "mixed"],
)
def test_polygons_with_other_separators_are_read_in_pairs(alert_text: str, polygon: str) -> None:
    report = ingest(_with_polygon(alert_text, polygon))
    assert [r.code for r in report.repairs] == ["coordinate_separators"]
    assert report.messages[0].infos[0].areas[0].polygons == (RING,)


@pytest.mark.parametrize(
    "polygon",
    ["50.35,30.40 50.35,abc 50.52,30.65 50.35,30.40", "50.35,30.40,50.35,30.65,50.52", "nan,30.40 50.35,30.65"],
    ids=["word", "odd-count", "nan"],
)
def test_polygons_that_cannot_pair_up_are_still_dropped(alert_text: str, polygon: str) -> None:
    report = ingest(_with_polygon(alert_text, polygon))
    assert [e.code for e in report.errors] == ["polygon_unparsable"]
    assert report.messages[0].infos[0].areas[0].polygons == ()


def _with_polygon(alert_text: str, polygon: str) -> bytes:
    start = alert_text.index("<polygon>") + len("<polygon>")
    end = alert_text.index("</polygon>")
    return (alert_text[:start] + polygon + alert_text[end:]).encode()


def test_a_prefixed_alert_with_unprefixed_children_is_read_and_repaired(alert_text: str) -> None:
    body = (
        alert_text.split("?>", 1)[1]
        .replace("<alert xmlns=", "<cap:alert xmlns:cap=")
        .replace("</alert>", "</cap:alert>")
    )
    report = ingest(body.encode())
    assert report.schema_valid is False
    assert [(r.code, r.path) for r in report.repairs] == [("namespace_missing", "/alert/identifier")]
    (message,) = report.messages
    reference = ingest(alert_text.encode()).messages[0]
    assert message == reference


def test_a_flood_of_one_issue_is_listed_a_hundred_times_and_counted(alert_text: str) -> None:
    polygons = "<polygon>95,30 95,31 96,31 95,30</polygon>" * 250  # each one out of range
    start, end = alert_text.index("<polygon>"), alert_text.index("</area>")
    report = ingest((alert_text[:start] + polygons + alert_text[end:]).encode())
    assert [e.code for e in report.errors] == ["polygon_swapped"] * 100
    (more,) = report.warnings
    assert (more.code, more.message) == (
        "issues_not_listed",
        "150 more polygon_swapped issues were found but are not listed.",
    )


def test_lower_case_t_and_z_are_read_as_rfc3339_allows(alert_text: str) -> None:
    sent = alert_text[alert_text.index("<sent>") + 6 : alert_text.index("</sent>")]
    report = ingest(alert_text.replace(sent, "2025-03-01t06:15:00z").encode())
    assert report.messages[0].sent == datetime(2025, 3, 1, 6, 15, tzinfo=UTC)
    assert [w.code for w in report.warnings] == ["timestamp_format"]


@pytest.mark.parametrize("encoding", ["idna", "punycode", "unicode_escape", "raw_unicode_escape"])
def test_python_codecs_that_are_not_character_sets_are_refused(alert_text: str, encoding: str) -> None:
    body = alert_text.split("?>", 1)[1]
    with pytest.raises(UndecodableDocument, match=encoding):
        ingest(f'<?xml version="1.0" encoding="{encoding}"?>{body}'.encode())


def test_json_nested_too_deeply_says_so_without_a_missing_line() -> None:
    with pytest.raises(MalformedDocument) as caught:
        ingest(b"[" * 100_000 + b"]" * 100_000)
    assert caught.value.detail() == "The JSON cannot be read: nested too deeply."


def test_escaped_cap_with_a_prefix_is_recognised_in_a_feed(alert_text: str) -> None:
    body = alert_text.split("?>", 1)[1].replace("<alert xmlns=", "<cap:alert xmlns:cap=")
    escaped = body.replace("&", "&amp;").replace("<", "&lt;")
    feed = (
        f'<rss version="2.0"><channel><item><title>t</title><description>{escaped}</description></item></channel></rss>'
    )
    report = ingest(feed.encode())
    assert [(w.code, w.path) for w in report.warnings] == [("feed_escaped_content", "/rss/channel/item/description")]


@pytest.mark.parametrize(
    "data",
    [
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"/>',
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
        b'<EDXLDistribution xmlns="urn:example:not-edxl"/>',
    ],
    ids=["rss-1.0", "soap", "edxl-in-another-namespace"],
)
def test_other_wrappers_are_not_cap(data: bytes) -> None:
    with pytest.raises(NotCap):
        ingest(data)
