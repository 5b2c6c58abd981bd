"""CAP versions, CAP in Atom and RSS, format detection, the public API and the message catalogue."""

from __future__ import annotations

import re
from importlib import resources

import pytest

import sirena.protocol.cap as cap
from sirena import messages
from sirena.protocol.cap import Format, SignatureVerdict, detect, ingest
from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.issues import issue_codes

CAP_1_0 = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="http://www.incident.com/cap/1.0">
  <identifier>KV-2004-0117</identifier>
  <sender>civil-defence@kyiv.example</sender>
  <sent>2004-11-17T09:30:00+02:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Ожеледиця</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Very Likely</certainty>
    <headline>Ожеледиця на дорогах Києва</headline>
    <area>
      <areaDesc>м. Київ</areaDesc>
      <circle>50.45,30.52 20</circle>
    </area>
  </info>
</alert>
"""


def _embedded(alert_text: str) -> str:
    return alert_text.split("?>", 1)[1]


def test_cap_1_0_is_read_without_a_schema_and_checked_by_hand() -> None:
    report = ingest(CAP_1_0.encode())
    assert (report.format, report.version, report.schema_valid) == (Format.CAP_XML, "1.0", None)
    assert [w.code for w in report.warnings] == ["schema_unavailable"]
    assert report.errors == ()
    info = report.messages[0].infos[0]
    assert info.certainty == "Very Likely"
    assert info.areas[0].circles == ((50.45, 30.52, 20.0),)
    broken = ingest(CAP_1_0.replace("<scope>Public</scope>", "").encode())
    assert [(e.code, e.path) for e in broken.errors] == [("required_missing", "/alert")]


def test_cap_1_1_uses_its_own_schema_and_values(alert_text: str) -> None:
    text = alert_text.replace("cap:1.2", "cap:1.1")
    report = ingest(text.encode())
    assert (report.version, report.schema_valid, report.errors) == ("1.1", True, ())
    newer = ingest(text.replace("<responseType>Shelter", "<responseType>AllClear").encode())
    assert newer.schema_valid is False
    assert ("enum_unknown", "/alert/info[1]/responseType[1]") in [(e.code, e.path) for e in newer.errors]


def test_cap_embedded_in_atom_entries_and_links_to_fetch(alert_text: str) -> None:
    unclosed = alert_text.replace(" 50.59,30.24</polygon>", "</polygon>")
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Sirena</title>
  <entry>
    <title>Embedded</title>
    <content type="{v.MIME_CAP_XML}">{_embedded(unclosed)}</content>
  </entry>
  <entry>
    <title>Linked</title>
    <link rel="related" href="https://sirena.example/page"/>
    <link rel="alternate" type="{v.MIME_CAP_XML}" href="https://sirena.example/cap/2.xml"/>
  </entry>
  <entry>
    <title>Escaped</title>
    <content type="text">&lt;alert xmlns="{v.NS_CAP_1_2}"&gt;&lt;/alert&gt;</content>
    <link href="https://sirena.example/cap/3.xml"/>
  </entry>
</feed>
"""
    report = ingest(feed.encode())
    assert (report.format, report.version, report.schema_valid) == (Format.ATOM, "1.2", True)
    assert len(report.messages) == 1
    assert report.links == ("https://sirena.example/cap/2.xml", "https://sirena.example/cap/3.xml")
    (repair,) = report.repairs
    assert repair.path == "/feed/entry[1]/content/alert/info[1]/area[1]/polygon[1]"
    assert repair.line == 26
    assert [(w.code, w.path) for w in report.warnings] == [("feed_escaped_content", "/feed/entry[3]/content")]
    assert report.signature is SignatureVerdict.ABSENT
    assert report.to_json()["alerts"] == 1


def test_cap_embedded_in_rss_items(alert_text: str) -> None:
    rss = f"""<rss version="2.0"><channel><title>Sirena</title>
<item><title>Linked</title><link> https://sirena.example/cap/1.xml </link></item>
<item><title>Embedded</title>{_embedded(alert_text.replace("<status>Actual", "<status>Exercise"))}</item>
<item><title>Enclosure</title><link>https://sirena.example/page</link>
<enclosure url="https://sirena.example/cap/3.xml" type="{v.MIME_CAP_XML}" length="1"/></item>
</channel></rss>"""
    report = ingest(rss.encode())
    assert report.format is Format.RSS
    assert [m.status for m in report.messages] == ["Exercise"]
    assert report.links == ("https://sirena.example/cap/1.xml", "https://sirena.example/cap/3.xml")


def test_a_feed_without_cap_has_no_schema_verdict() -> None:
    report = ingest(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>empty</title></feed>')
    assert (report.format, report.version, report.schema_valid, report.messages) == (Format.ATOM, None, None, ())


def test_detect(alert_text: str) -> None:
    assert detect(alert_text.encode()) is Format.CAP_XML
    assert detect(b'<feed xmlns="http://www.w3.org/2005/Atom"/>') is Format.ATOM
    assert detect(b'<entry xmlns="http://www.w3.org/2005/Atom"/>') is Format.ATOM
    assert detect(b'<rss version="2.0"/>') is Format.RSS
    assert detect(b'{"identifier": "a", "sender": "b", "sent": "c", "msgType": "Alert"}') is Format.CAP_JSON
    with pytest.raises(cap.NotCap) as caught:
        detect(b'<kml xmlns="http://www.opengis.net/kml/2.2"/>')
    assert "kml" in caught.value.detail()


def test_report_json_shape(alert_text: str) -> None:
    summary = ingest(alert_text.encode()).to_json()
    assert summary == {
        "format": "cap-xml",
        "version": "1.2",
        "schema_valid": True,
        "errors": [],
        "warnings": [],
        "repairs": [],
        "signature": "absent",
        "alerts": 1,
        "links": [],
    }


def test_public_api() -> None:
    assert cap.__all__ == [
        "DEFAULT_MAX_BYTES",
        "CapArea",
        "CapInfo",
        "CapMessage",
        "CapResource",
        "DocumentTooLarge",
        "Format",
        "Issue",
        "MalformedDocument",
        "NotCap",
        "Reference",
        "Report",
        "SignatureVerdict",
        "SigningKeyError",
        "UndecodableDocument",
        "UnsafeDocument",
        "detect",
        "ingest",
        "message_key",
        "sign",
    ]
    assert cap.DEFAULT_MAX_BYTES == 1 << 20


def test_every_issue_code_and_error_has_english_and_ukrainian_text() -> None:
    catalogue = messages.catalogue()
    keys = [f"cap.issue.{code}" for code in issue_codes()]
    source = "".join(
        f.read_text(encoding="utf-8")
        for f in (resources.files("sirena") / "protocol" / "cap").iterdir()
        if f.name.endswith(".py")
    )
    keys += re.findall(r'"(cap\.[a-z_]+)"', source)
    for error in (
        cap.NotCap,
        cap.UnsafeDocument,
        cap.MalformedDocument,
        cap.UndecodableDocument,
        cap.DocumentTooLarge,
        cap.SigningKeyError,
    ):
        keys += [error.key, error.key + ".title"]
    for key in keys:
        assert set(catalogue.get(key, {})) >= {"en", "uk"}, key


def test_vocabulary_follows_the_version() -> None:
    assert "Very Likely" in v.allowed("certainty", v.CAP_1_0)
    assert "Very Likely" not in v.allowed("certainty", v.CAP_1_2)
    assert "AllClear" not in v.allowed("responseType", v.CAP_1_1)
    assert "CBRNE" not in v.allowed("category", v.CAP_1_0)
    assert v.allowed("status") == v.STATUS
    assert v.version_of(v.NS_CAP_1_1) == "1.1"
    assert v.namespace_of("1.0") == v.NS_CAP_1_0
