"""CAP messages as a Ukrainian authority might send them, for the ingest-wiring tests."""

from __future__ import annotations

from xml.sax.saxutils import escape

SENDER = "alerts@dsns.example.gov.ua"
KYIV = "<geocode><valueName>KATOTTG</valueName><value>UA80000000000093317</value></geocode>"
KYIV_OBLAST_ID = "<geocode><valueName>SIRENA</valueName><value>14</value></geocode>"
KYIV_BOX = "<polygon>50.35,30.40 50.35,30.65 50.52,30.65 50.52,30.40 50.35,30.40</polygon>"
KYIV_CIRCLE = "<circle>50.45,30.52 12</circle>"
NEVADA = "<polygon>38.0,-117.0 38.0,-116.0 39.0,-116.0 39.0,-117.0 38.0,-117.0</polygon>"


def ref(identifier: str, sent: str, sender: str = SENDER) -> str:
    return f"{sender},{identifier},{sent}"


def cap(
    identifier: str,
    sent: str = "2025-03-01T08:15:00+02:00",
    *,
    msg_type: str = "Alert",
    status: str = "Actual",
    references: str = "",
    sender: str = SENDER,
    area: str = KYIV,
    headline: str = "Повітряна тривога в м. Київ",
    response: str = "Shelter",
    urgency: str = "Immediate",
    language: str = "uk-UA",
    extra_info: str = "",
) -> bytes:
    refs = f"<references>{escape(references)}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>{language}</language>
    <category>Safety</category>
    <event>Повітряна тривога</event>
    <responseType>{response}</responseType>
    <urgency>{urgency}</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <expires>2025-03-01T10:15:00+02:00</expires>
    <headline>{escape(headline)}</headline>
    <instruction>Пройдіть в укриття</instruction>
    {extra_info}
    <area>
      <areaDesc>Зона</areaDesc>
      {area}
    </area>
  </info>
</alert>
""".encode()
