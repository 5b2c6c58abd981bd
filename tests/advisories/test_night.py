"""One night, end to end: a pre-alert, then an alert, two situation reports, then the end with an all-clear.
Each reaches an SSE client, a webhook receiver and the CAP feed, in order; the day's statistics show the counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from advisories_support import Site, next_event, receiver, site, until
from lxml import etree

from sirena import testing
from sirena.protocol.cap import ingest

ATOM = "{http://www.w3.org/2005/Atom}"


async def feed_ids(s: Site) -> list[str]:
    """The Atom feed's entry ids, in feed order."""
    root = etree.fromstring((await s.client.get("/cap/feed.atom")).content)
    return [str(e.findtext(f"{ATOM}id")) for e in root.iter(f"{ATOM}entry")]


def urn(s: Site, kind: str, record_id: str) -> str:
    sender = s.runtime.cap.config.sender
    return f"urn:sirena:{sender}:{record_id}" if kind == "alert" else f"urn:sirena:{sender}:{kind}:{record_id}"


async def test_pre_alert_alert_two_reports_and_the_end_everywhere_in_order(tmp_path: Path, database_url: str) -> None:
    async with site(tmp_path, database_url=database_url) as s, receiver() as hook:
        subscription = await s.post("/api/v1/webhooks", {"url": hook.url})
        air_force = await s.user("air-force", "operator", scopes=("UA",))
        async with testing.stream(s.base) as reader:
            assert (await reader.next())["event"] == "snapshot"
            steps: list[tuple[str, dict[str, Any]]] = []

            async def step(expected: list[str], entry: str | None) -> list[dict[str, Any]]:
                got = [await next_event(reader) for _ in expected]
                assert [g["event"] for g in got] == expected
                steps.extend((g["event"], g["data"]) for g in got)
                if entry is not None:
                    assert entry in await feed_ids(s)
                return got

            pre = await s.post(
                "/api/v1/advisories",
                {
                    "type": "pre_alert",
                    "regions": ["UA"],
                    "headline": {
                        "uk": "Очікується масована комбінована атака в найближчі години",
                        "en": "A massive combined attack is expected in the next hours",
                    },
                    "text": {"uk": "Зарядіть телефони, підготуйте укриття.", "en": "Charge phones, prepare a shelter."},
                },
                air_force,
            )
            await step(["advisory.issued"], urn(s, "advisory", pre["id"]))

            alert = await s.post(
                "/api/v1/alerts", {"regions": ["14"], "threats": [{"type": "drones"}, {"type": "cruise_missiles"}]}
            )
            await step(["alert.issued"], urn(s, "alert", alert["id"]))

            movement = await s.post(
                "/api/v1/reports",
                {
                    "alert_id": alert["id"],
                    "kind": "movement",
                    "threat": "drones",
                    "count": 12,
                    "region": "14",
                    "target_region": "31",
                    "text": {"uk": "Група БпЛА з півночі", "en": "A group of drones from the north"},
                },
                air_force,
            )
            assert movement["arrow"] is not None and movement["status"] == "actual"
            await step(["report.added"], urn(s, "report", movement["id"]))
            interception = await s.post(
                "/api/v1/reports",
                {"alert_id": alert["id"], "kind": "interception", "threat": "drones", "count": 9, "region": "14"},
                air_force,
            )
            await step(["report.added"], urn(s, "report", interception["id"]))

            ended = await s.post(
                f"/api/v1/alerts/{alert['id']}/end",
                {"all_clear": {"uk": "Відбій тривоги на Київщині.", "en": "All clear in Kyiv oblast."}},
                status=200,
            )
            assert ended["state"] == "ended"
            got = await step(["alert.ended", "alert.all_clear"], urn(s, "all-clear", alert["id"]))
            clear = got[1]["data"]["all_clear"]
            assert clear["text"] == {"uk": "Відбій тривоги на Київщині.", "en": "All clear in Kyiv oblast."}
            assert clear["headline"]["en"] == "All clear: Air-raid alert" and clear["regions"] == ["14"]
            assert int(got[1]["id"]) == int(got[0]["id"]) + 1  # committed together, next in the sequence
            after = await feed_ids(s)
            assert urn(s, "alert", alert["id"]) not in after and urn(s, "report", movement["id"]) not in after

        # the webhook receiver got exactly the stream's events, in the same order
        await until(lambda: len(hook.bodies) == len(steps))
        delivered = hook.verified(subscription["secret"])
        assert [(d["type"], d) for d in delivered] == steps
        assert [d["seq"] for d in delivered] == sorted(d["seq"] for d in delivered)

        # CAP of each
        report_cap = ingest((await s.client.get(f"/api/v1/reports/{movement['id']}.cap")).content)
        assert report_cap.schema_valid is True, report_cap.to_json()
        (msg,) = report_cap.messages
        assert (msg.msg_type, msg.scope) == ("Alert", "Public")
        assert msg.incidents == (urn(s, "alert", alert["id"]),)
        assert msg.references[0].identifier == urn(s, "alert", alert["id"]) + ":1"
        clear_cap = ingest((await s.client.get(f"/api/v1/alerts/{alert['id']}/all-clear.cap")).content)
        assert clear_cap.schema_valid is True, clear_cap.to_json()
        (msg,) = clear_cap.messages
        assert msg.msg_type == "Update" and [len(msg.references), msg.infos[0].response_type] == [2, ("AllClear",)]
        assert (await s.get(f"/api/v1/alerts/{alert['id']}/all-clear"))["text"] == clear["text"]

        # the day's statistics
        kyiv = ZoneInfo("Europe/Kyiv")
        today = datetime.now(kyiv).date()
        span = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat(), "group": "day"}
        stats = await s.get("/api/v1/stats", region="14", **span)
        assert stats["reports"]["total"] == {"reported": {"drones": 12}, "intercepted": {"drones": 9}, "impacts": {}}
        assert stats["reports"]["buckets"][0]["start"] == stats["buckets"][0]["start"]
        assert stats["total"]["alerts"] == 1
        elsewhere = await s.get("/api/v1/stats", region="31", **span)
        assert elsewhere["reports"]["total"]["reported"] == {}
        country = await s.get("/api/v1/stats", region="UA", descendants="true", **span)
        assert country["reports"]["total"]["intercepted"] == {"drones": 9}

        # history of reports, and a report on an ended alert is refused
        listed = await s.get("/api/v1/reports", alert=alert["id"])
        assert [r["id"] for r in listed["reports"]] == [interception["id"], movement["id"]]
        late = await s.client.post(
            "/api/v1/reports",
            json={"alert_id": alert["id"], "kind": "impact", "threat": "drones", "region": "14"},
            headers=air_force,
        )
        assert (late.status_code, late.json()["type"]) == (409, "/problems/alert-not-active")
