"""Alerts out as CAP over HTTP: ``/api/v1/alerts/{id}.cap``, ``.cap.json`` and the Atom feed ``/cap/feed.atom``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from cap_keys import signing_files

from sirena import testing
from sirena.protocol.cap import Format, SignatureVerdict, ingest
from sirena.testing import Api

FEED = "/cap/feed.atom"


async def issue(api: Api, **body: Any) -> dict[str, Any]:
    body.setdefault("regions", ["31"])
    response = await api.client.post("/api/v1/alerts", json=body, headers=api.auth)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def clean(report: Any) -> None:
    assert report.schema_valid is True and report.version == "1.2", report.to_json()
    assert not report.errors and not report.warnings and not report.repairs, report.to_json()


async def test_every_version_of_an_alert_is_valid_cap(api: Api) -> None:
    alert = await issue(
        api,
        threats=[{"type": "drones"}],
        time_to_shelter_s=120,
        headline={"uk": "Загроза БпЛА <&>", "en": "Drone threat"},
    )
    await api.client.patch(f"/api/v1/alerts/{alert['id']}", json={"regions": ["31", "14"]}, headers=api.auth)
    await api.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=api.auth)
    types = []
    for version in (1, 2, 3):
        response = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap?version={version}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/cap+xml")
        report = ingest(response.content)
        clean(report)
        (msg,) = report.messages
        types.append(msg.msg_type)
        assert len(msg.references) == version - 1
    assert types == ["Alert", "Update", "Update"]
    current = ingest((await api.client.get(f"/api/v1/alerts/{alert['id']}.cap")).content).messages[0]
    assert current.infos[0].response_type == ("AllClear",)


async def test_cap_json_and_conditional_get(api: Api) -> None:
    alert = await issue(api)
    response = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    report = ingest(response.content)
    assert report.format is Format.CAP_JSON and not report.errors
    etag = response.headers["etag"]
    again = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    xml = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap")
    assert xml.headers["etag"] != etag


async def test_unknown_alert_or_version_is_404(api: Api) -> None:
    for path in ("/api/v1/alerts/nope.cap", "/api/v1/alerts/nope.cap.json"):
        response = await api.client.get(path)
        assert response.status_code == 404 and response.json()["type"] == "/problems/alert-not-found"
    alert = await issue(api)
    response = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap?version=7")
    assert response.status_code == 404


async def test_emitted_cap_is_signed_when_a_key_is_configured(tmp_path: Path) -> None:
    key_path, cert_path, cert_pem = signing_files(tmp_path)
    async with testing.api(
        tmp_path, cap_signing_key=str(key_path), cap_signing_cert=str(cert_path), cap_sender="sirena@signing.example"
    ) as api:
        alert = await issue(api)
        body = (await api.client.get(f"/api/v1/alerts/{alert['id']}.cap")).content
        report = ingest(body, trust_anchors=[cert_pem])
        assert report.signature is SignatureVerdict.VERIFIED
        clean(report)
        assert report.messages[0].sender == "sirena@signing.example"
        assert ingest(body).signature is SignatureVerdict.UNTRUSTED


async def test_feed_lists_active_alerts_with_cap_links(api: Api) -> None:
    kyiv = await issue(api, headline={"uk": "Київ", "en": "Kyiv"})
    lviv = await issue(api, regions=["27"])
    drill = await issue(api, regions=["31"], status="exercise")
    response = await api.client.get(FEED, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    text = response.text
    assert f"/api/v1/alerts/{kyiv['id']}.cap" in text and f"/api/v1/alerts/{lviv['id']}.cap" in text
    assert drill["id"] not in text
    assert "<title>Kyiv</title>" in text
    report = ingest(response.content)
    assert report.format is Format.ATOM
    assert f"http://sirena.test/api/v1/alerts/{kyiv['id']}.cap" in report.links
    only_kyiv = (await api.client.get(f"{FEED}?region=31")).text
    assert kyiv["id"] in only_kyiv and lviv["id"] not in only_kyiv
    hromada = api.runtime.registry.children(api.runtime.registry.children("27")[0].id)[0].id
    assert lviv["id"] in (await api.client.get(f"{FEED}?region={hromada}")).text
    drills = (await api.client.get(f"{FEED}?statuses=exercise")).text
    assert drill["id"] in drills and kyiv["id"] not in drills
    assert (await api.client.get(f"{FEED}?region=99999")).status_code == 422


async def test_feed_supports_etag_last_modified_and_304(api: Api) -> None:
    alert = await issue(api)
    first = await api.client.get(FEED)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (await api.client.get(FEED, headers={"If-None-Match": etag})).status_code == 304
    assert (await api.client.get(FEED, headers={"If-None-Match": f'W/{etag}, "other"'})).status_code == 304
    assert (await api.client.get(FEED, headers={"If-Modified-Since": modified})).status_code == 304
    earlier = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert (await api.client.get(FEED, headers={"If-Modified-Since": earlier})).status_code == 200
    assert (await api.client.get(FEED, headers={"If-None-Match": '"stale"'})).status_code == 200
    await api.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=api.auth)
    changed = await api.client.get(FEED, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    entries = re.findall(r"<entry>\s*<id>([^<]+)</id>", changed.text)
    assert [e.rsplit(":", 2)[-2:] for e in entries] == [["all-clear", alert["id"]]]  # the all-clear took its place
    assert changed.headers["etag"] != etag
