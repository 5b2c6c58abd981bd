"""An embassy issuer publishes a closure advisory to its channel: the channel's subscribers get it on every
outlet (SSE, WebSocket, webhooks, MQTT channel topic), public subscribers do not, and the same issuer cannot sound
a public air-raid alert. Real server, real SQLite, real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
from advisories_support import next_event, receiver, site, until
from lxml import etree
from websockets.asyncio.client import connect

from sirena import testing
from sirena.protocol.cap import ingest

EMBASSY = "embassy-ca-kyiv"
CLOSURE = {
    "channel": EMBASSY,
    "type": "closure",
    "regions": ["31"],
    "headline": {
        "en": "The Embassy is closed today",
        "uk": "Посольство сьогодні зачинене",
    },
    "text": {
        "en": "Consular services are suspended. Be ready to go to a shelter as soon as the sirens sound.",
        "uk": "Консульські послуги призупинено. Будьте готові піти в укриття, щойно пролунають сирени.",
    },
}


async def ws_frames(url: str, wanted: int, out: list[dict[str, Any]]) -> None:
    async with connect(url) as ws:
        while len(out) < wanted:
            data = json.loads(await ws.recv())
            if data.get("type") not in {"heartbeat"}:
                out.append(data)


async def test_an_embassy_publishes_to_its_channel_only_and_cannot_sound_a_public_alert(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        channel = await s.post(
            "/api/v1/channels",
            {"id": EMBASSY, "name": "Embassy of Canada in Kyiv", "audience": "Canadian citizens", "languages": ["en"]},
        )
        assert channel["languages"] == ["en"] and channel["created_by"] == "admin"
        embassy = await s.user("embassy-ca", "operator", channels=(EMBASSY,))
        async with receiver() as citizens_hook, receiver() as public_hook:
            citizens_sub = await s.post("/api/v1/webhooks", {"url": citizens_hook.url, "channels": [EMBASSY]})
            public_sub = await s.post("/api/v1/webhooks", {"url": public_hook.url})
            assert citizens_sub["channels"] == [EMBASSY] and "channels" not in public_sub
            ws_citizens: list[dict[str, Any]] = []
            ws_public: list[dict[str, Any]] = []
            ws_url = s.base.replace("http://", "ws://") + "/api/v1/ws"
            async with (
                testing.stream(s.base, f"/api/v1/stream?channels={EMBASSY}") as citizens,
                testing.stream(s.base) as public,
            ):
                tasks = [
                    asyncio.create_task(ws_frames(f"{ws_url}?channels={EMBASSY}", 3, ws_citizens)),
                    asyncio.create_task(ws_frames(ws_url, 2, ws_public)),
                ]
                assert (await citizens.next())["event"] == "snapshot"
                assert (await public.next())["event"] == "snapshot"
                await until(lambda: len(ws_citizens) == 1 and len(ws_public) == 1)  # their snapshots

                advisory = await s.post("/api/v1/advisories", CLOSURE, embassy)
                assert (advisory["audience"], advisory["severity"], advisory["version"]) == ("channel", "moderate", 1)
                assert advisory["issuer"] == "embassy-ca"

                # the same issuer holds a channel and no region: no public alert, no public advisory
                refused = await s.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=embassy)
                assert refused.status_code == 403, refused.text
                assert refused.json()["type"] == "/problems/scope-missing"
                assert refused.json()["missing_scope"] == "region:31"
                public_try = {**CLOSURE, "channel": None}
                refused = await s.client.post("/api/v1/advisories", json=public_try, headers=embassy)
                assert (refused.status_code, refused.json()["missing_scope"]) == (403, "region:31")
                other = {**CLOSURE, "channel": "embassy-pl-kyiv"}
                refused = await s.client.post("/api/v1/advisories", json=other, headers=embassy)
                assert (refused.status_code, refused.json()["missing_scope"]) == (403, "channel:embassy-pl-kyiv")

                alert = await s.post("/api/v1/alerts", {"regions": ["31"]})  # a public alert, by the admin

                first = await next_event(citizens)
                assert (first["event"], first["id"]) == ("advisory.issued", str(first["data"]["seq"]))
                assert first["data"]["advisory"] == advisory
                assert (await next_event(citizens))["data"]["alert"] == alert
                seen = await next_event(public)  # the advisory was never sent: the alert comes first
                assert (seen["event"], seen["data"]["alert"]["id"]) == ("alert.issued", alert["id"])
                assert int(seen["id"]) == int(first["id"]) + 1  # one sequence for alerts and notices

                await asyncio.wait_for(asyncio.gather(*tasks), 10)
                assert ws_citizens[1] == first["data"]
                assert ws_citizens[2]["alert"] == alert
                assert ws_public[1]["alert"] == alert

            await until(lambda: len(citizens_hook.bodies) == 2 and len(public_hook.bodies) == 1)
            delivered = citizens_hook.verified(citizens_sub["secret"])
            assert [d["type"] for d in delivered] == ["advisory.issued", "alert.issued"]
            assert delivered[0] == first["data"]  # the stream's data, byte for byte in meaning
            assert [d["type"] for d in public_hook.verified(public_sub["secret"])] == ["alert.issued"]

            # resume from before the advisory: the channel gets it again, the public stream does not
            before = str(int(first["id"]) - 1)
            async with testing.stream(s.base, f"/api/v1/stream?channels={EMBASSY}", {"Last-Event-ID": before}) as again:
                assert (await again.next())["data"]["advisory"]["id"] == advisory["id"]
            async with testing.stream(s.base, "/api/v1/stream", {"Last-Event-ID": before}) as again:
                assert (await again.next())["data"]["alert"]["id"] == alert["id"]

        # lists, feeds and CAP
        assert (await s.get("/api/v1/advisories"))["advisories"] == []
        assert [a["id"] for a in (await s.get("/api/v1/advisories", channels=EMBASSY))["advisories"]] == [
            advisory["id"]
        ]
        assert [a["id"] for a in (await s.get(f"/api/v1/channels/{EMBASSY}/advisories"))["advisories"]] == [
            advisory["id"]
        ]
        public_feed = (await s.client.get("/cap/feed.atom")).text
        assert advisory["id"] not in public_feed and alert["id"] in public_feed
        channel_feed = await s.client.get(f"/api/v1/channels/{EMBASSY}/feed.atom")
        assert channel_feed.status_code == 200 and f"/api/v1/advisories/{advisory['id']}.cap" in channel_feed.text
        cap = await s.client.get(f"/api/v1/advisories/{advisory['id']}.cap")
        report = ingest(cap.content)
        assert report.schema_valid is True, report.to_json()
        (msg,) = report.messages
        assert (msg.msg_type, msg.scope, msg.status) == ("Alert", "Restricted", "Actual")
        assert EMBASSY in (msg.restriction or "")
        assert msg.infos[0].category == ("Safety",) and msg.infos[0].audience == "Canadian citizens"
        assert msg.infos[0].headline == "The Embassy is closed today"

        # the refusals are in the audit log
        audit = await s.get("/api/v1/audit", s.admin, action="refused")
        refused_scopes = {e["details"]["missing_scope"] for e in audit["entries"]}
        assert {"region:31", "channel:embassy-pl-kyiv"} <= refused_scopes


async def test_advisory_lifecycle_checks_and_languages(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await s.post("/api/v1/channels", {"id": EMBASSY, "name": "Embassy", "languages": ["en", "fr"]})
        duplicate = await s.client.post("/api/v1/channels", json={"id": EMBASSY, "name": "x"}, headers=s.admin)
        assert (duplicate.status_code, duplicate.json()["type"]) == (409, "/problems/channel-exists")
        embassy = await s.user("embassy-ca", "operator", channels=(EMBASSY,))
        kyiv = await s.user("kyiv-ops", "operator", scopes=("31",))
        refused = await s.client.post("/api/v1/channels", json={"id": "x", "name": "x"}, headers=embassy)
        assert (refused.status_code, refused.json()["missing_scope"]) == (403, "role:admin")

        missing_fr = await s.client.post("/api/v1/advisories", json=CLOSURE, headers=embassy)
        assert missing_fr.status_code == 422 and missing_fr.json()["value"] == "fr"
        unknown = await s.client.post("/api/v1/advisories", json={**CLOSURE, "channel": "nobody"}, headers=s.admin)
        assert (unknown.status_code, unknown.json()["type"]) == (404, "/problems/channel-not-found")

        both = {**CLOSURE, "headline": {**CLOSURE["headline"], "fr": "L'ambassade est fermée aujourd'hui"}}
        advisory = await s.post("/api/v1/advisories", both, embassy)
        not_theirs = await s.client.patch(
            f"/api/v1/advisories/{advisory['id']}", json={"severity": "minor"}, headers=kyiv
        )
        assert (not_theirs.status_code, not_theirs.json()["missing_scope"]) == (403, f"channel:{EMBASSY}")
        updated = await s.client.patch(
            f"/api/v1/advisories/{advisory['id']}", json={"severity": "severe"}, headers=embassy
        )
        assert (updated.json()["version"], updated.json()["severity"]) == (2, "severe")
        ended = await s.post(f"/api/v1/advisories/{advisory['id']}/end", {"reason": "reopened"}, embassy, status=200)
        assert (ended["state"], ended["end_reason"], ended["version"]) == ("ended", "reopened", 3)
        again = await s.client.post(f"/api/v1/advisories/{advisory['id']}/end", headers=embassy)
        assert (again.status_code, again.json()["type"]) == (409, "/problems/advisory-ended")
        cancel = ingest((await s.client.get(f"/api/v1/advisories/{advisory['id']}.cap")).content).messages[0]
        assert cancel.msg_type == "Cancel" and len(cancel.references) == 2
        first = ingest((await s.client.get(f"/api/v1/advisories/{advisory['id']}.cap?version=1")).content)
        assert first.messages[0].msg_type == "Alert"
        assert (await s.client.get(f"/api/v1/advisories/{advisory['id']}?version=1")).json()["severity"] == "moderate"
        missing = (await s.client.get(f"/api/v1/advisories/{advisory['id']}?version=9")).json()
        assert (missing["status"], missing["type"]) == (404, "/problems/advisory-not-found")
        assert missing["detail"] == f"Advisory {advisory['id']} has no version 9; its latest is version 3."
        assert (missing["version"], missing["latest"]) == (9, 3)

        # a public pre-alert by a city operator: region scope, public CAP, in the public feed
        pre = {
            "type": "pre_alert",
            "regions": ["31"],
            "headline": {"uk": "Ймовірна масована атака", "en": "A massive attack is likely"},
        }
        outside = await s.client.post("/api/v1/advisories", json={**pre, "regions": ["14"]}, headers=kyiv)
        assert (outside.status_code, outside.json()["missing_scope"]) == (403, "region:14")
        pre_alert = await s.post("/api/v1/advisories", pre, kyiv)
        assert (pre_alert["audience"], pre_alert["severity"]) == ("public", "severe")
        xml = (await s.client.get(f"/api/v1/advisories/{pre_alert['id']}.cap")).content
        assert etree.fromstring(xml).findtext("{urn:oasis:names:tc:emergency:cap:1.2}scope") == "Public"
        assert ingest(xml).schema_valid is True
        assert pre_alert["id"] in (await s.client.get("/cap/feed.atom")).text
        listed = await s.get("/api/v1/advisories", region="31")
        assert [a["id"] for a in listed["advisories"]] == [pre_alert["id"]]
        assert (await s.get("/api/v1/advisories", region="27"))["advisories"] == []


async def test_mqtt_channel_topic(tmp_path: Path) -> None:
    prefix = f"sirena-test-{uuid.uuid4().hex[:8]}"
    try:
        async with site(tmp_path, mqtt_url="mqtt://127.0.0.1:1883", mqtt_topic_prefix=prefix) as s:
            mqtt = s.runtime.delivery.mqtt
            assert mqtt is not None
            await asyncio.wait_for(mqtt.connected.wait(), 20)
            await s.post("/api/v1/channels", {"id": EMBASSY, "name": "Embassy", "languages": ["en"]})
            embassy = await s.user("embassy-ca", "operator", channels=(EMBASSY,))
            got: dict[str, list[dict[str, Any]]] = {"channel": [], "events": []}
            async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"watch-{uuid.uuid4().hex[:8]}") as watch:
                await watch.subscribe(f"{prefix}/channels/{EMBASSY}", qos=1)
                await watch.subscribe(f"{prefix}/events", qos=1)
                advisory = await s.post("/api/v1/advisories", CLOSURE, embassy)
                alert = await s.post("/api/v1/alerts", {"regions": ["31"]})
                await s.post(f"/api/v1/alerts/{alert['id']}/end", {"all_clear": True}, status=200)
                async with asyncio.timeout(20):
                    async for message in watch.messages:
                        data = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                        got["events" if str(message.topic).endswith("/events") else "channel"].append(data)
                        if len(got["events"]) == 3 and len(got["channel"]) == 2:
                            break
            assert [m["type"] for m in got["channel"]] == ["advisory.issued", "alert.all_clear"]
            assert got["channel"][0]["advisory"]["id"] == advisory["id"]
            assert [m["type"] for m in got["events"]] == ["alert.issued", "alert.ended", "alert.all_clear"]
    finally:
        await clear(prefix)


async def clear(prefix: str) -> None:
    """Remove the retained messages the bridge left under ``prefix`` on the shared broker."""
    topics: set[str] = set()
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"clean-{uuid.uuid4().hex[:8]}") as client:
        await client.subscribe(f"{prefix}/#")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in client.messages:
                    topics.add(str(message.topic))
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"clean-{uuid.uuid4().hex[:8]}") as client:
        client.pending_calls_threshold = 100_000
        await asyncio.gather(*(client.publish(topic, b"", qos=1, retain=True) for topic in topics))


async def test_bad_input_is_refused_whole_with_a_clear_problem(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        await s.post("/api/v1/channels", {"id": EMBASSY, "name": "Embassy", "languages": ["en", "uk"]})
        embassy = await s.user("embassy-ca", "operator", channels=(EMBASSY,))
        kyiv = await s.user("kyiv-ops", "operator", scopes=("31",))
        await s.user("lviv-ops", "operator", scopes=("13",))

        # an advisory that would expire before it takes effect
        backwards = {**CLOSURE, "effective_at": "2099-01-02T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"}
        refused = await s.client.post("/api/v1/advisories", json=backwards, headers=embassy)
        assert (refused.status_code, refused.json()["field"]) == (422, "expires_at"), refused.text
        assert (await s.get("/api/v1/advisories", state="all", channels=EMBASSY))["advisories"] == []

        # a change may not drop one of the channel's languages, nor move the end before the start
        advisory = await s.post("/api/v1/advisories", {**CLOSURE, "effective_at": "2099-01-01T00:00:00Z"}, embassy)
        path = f"/api/v1/advisories/{advisory['id']}"
        for change in ({"headline": {"en": "Closed"}}, {"expires_at": "2098-01-01T00:00:00Z"}):
            refused = await s.client.patch(path, json=change, headers=embassy)
            assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert (await s.get(path))["version"] == 1

        # subscribing to a channel that does not exist is refused, not a subscription that never hears anything
        hook = {"url": "http://127.0.0.1:9/hook", "channels": [EMBASSY, "embasy-ca-kyiv"]}
        refused = await s.client.post("/api/v1/webhooks", json=hook, headers=s.admin)
        assert (refused.status_code, refused.json()["type"]) == (404, "/problems/channel-not-found")
        assert (await s.get("/api/v1/webhooks", s.admin))["webhooks"] == []

        # a WebSocket message it cannot use: the error says what may be sent, channels included
        async with connect(s.base.replace("http://", "ws://") + "/api/v1/ws") as ws:
            await ws.send("not json")
            frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and '"channels"' in frame["problem"]["detail"], frame

        # a coordination message about an alert that does not exist
        message = {"to": ["lviv-ops"], "text": "Drones heading west", "alert_id": "01NOSUCHALERT"}
        refused = await s.client.post("/api/v1/coordination", json=message, headers=kyiv)
        assert (refused.status_code, refused.json()["type"]) == (404, "/problems/alert-not-found")
        assert (await s.get("/api/v1/coordination", kyiv, box="outbox"))["messages"] == []

        # a wrongly typed all-clear text names the field the client wrote; a huge value is not echoed whole
        alert = await s.post("/api/v1/alerts", {"regions": ["31"]}, kyiv)
        bad = {"all_clear": {"uk": "Відбій", "en": 5}}
        refused = await s.client.post(f"/api/v1/alerts/{alert['id']}/end", json=bad, headers=kyiv)
        assert (refused.status_code, refused.json()["field"]) == (422, "all_clear.en"), refused.text
        assert {e["field"] for e in refused.json()["errors"]} == {"all_clear", "all_clear.en"}
        said_no = await s.client.post(f"/api/v1/alerts/{alert['id']}/end", json={"all_clear": "no"}, headers=kyiv)
        assert (said_no.status_code, said_no.json()["field"]) == (422, "all_clear"), said_no.text
        assert (await s.get(f"/api/v1/alerts/{alert['id']}"))["state"] == "active"
        huge = {**CLOSURE, "text": {"en": "a" * 100_000, "uk": "б"}}
        refused = await s.client.post("/api/v1/advisories", json=huge, headers=embassy)
        assert refused.status_code == 422 and len(refused.content) < 2000
