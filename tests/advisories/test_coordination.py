"""The coordination line: a message acknowledged by its addressee with a CAP Ack, one left unacknowledged that
escalates to the addressee's colleague and then to administrators on time, and none of it ever public."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisories_support import Site, next_event, receiver, site, until

from sirena import testing
from sirena.advisories.cap import ack_to_cap
from sirena.protocol.cap import ingest
from sirena.protocol.cap.emit import to_xml

TEXT = "Lviv: our air defence reports a group of drones crossing into your oblast from the north-east. Confirm?"


async def events_until(reader: testing.StreamReader, stop: Any, within: float = 20.0) -> list[dict[str, Any]]:
    """Events (not the snapshot) up to and including the first for which ``stop(event)`` holds."""
    seen: list[dict[str, Any]] = []
    while True:
        event = await next_event(reader, within)
        seen.append(event)
        if stop(event):
            return seen


async def message(s: Site, headers: dict[str, str], message_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await s.get(f"/api/v1/coordination/{message_id}", headers)
    return result


async def test_acknowledged_with_cap_ack_and_an_unacknowledged_one_escalates(tmp_path: Path, database_url: str) -> None:
    settings = {
        "coordination_escalate_s": 0.5,
        "coordination_escalate_admins_s": 1.5,
        "coordination_poll_s": 0.05,
        "database_url": database_url,
    }
    async with site(tmp_path, **settings) as s, receiver() as hook:
        kyiv = await s.user("kyiv-ops", "operator", scopes=("14",))
        lviv = await s.user("lviv-ops", "operator", scopes=("27",))
        colleague = await s.user("lviv-duty", "operator", scopes=("27",))
        chief = await s.user("chief", "admin", scopes=("UA",))
        outsider = await s.user("odesa-ops", "operator", scopes=("18",))
        everything = await s.post("/api/v1/webhooks", {"url": hook.url, "statuses": ["all"]})
        async with (
            testing.stream(s.base, "/api/v1/coordination/stream", lviv) as lviv_line,
            testing.stream(s.base, "/api/v1/coordination/stream", colleague) as colleague_line,
            testing.stream(s.base, "/api/v1/coordination/stream", chief) as chief_line,
            testing.stream(s.base, "/api/v1/stream?statuses=all") as public,
        ):
            assert (await public.next())["event"] == "snapshot"

            # 1. sent, delivered on the addressee's line, acknowledged with a CAP Ack
            first = await s.post("/api/v1/coordination", {"to": ["lviv-ops"], "text": TEXT}, kyiv)
            assert (first["state"], first["receipts"][0]["to"]) == ("sent", "lviv-ops")
            sent = await next_event(lviv_line)
            assert (sent["event"], sent["data"]["message"]["id"]) == ("coordination.sent", first["id"])
            delivered = await next_event(lviv_line)
            assert (delivered["event"], delivered["data"]["message"]["state"]) == (
                "coordination.delivered",
                "delivered",
            )

            xml = (await s.client.get(f"/api/v1/coordination/{first['id']}.cap", headers=lviv)).content
            cap = ingest(xml)
            assert cap.schema_valid is True, cap.to_json()
            (original,) = cap.messages
            assert (original.scope, original.addresses, original.source) == ("Private", ("lviv-ops",), "kyiv-ops")
            for stranger in (outsider, {}):
                hidden = await s.client.get(f"/api/v1/coordination/{first['id']}", headers=stranger)
                assert hidden.status_code in {401, 404}, hidden.text

            current = await message(s, lviv, first["id"])
            ack = ack_to_cap(
                current,
                sender=s.runtime.cap.config.sender,
                by="lviv-ops",
                at=datetime.now(UTC),
                note="Confirmed, our crews are on it.",
            )
            answered = await s.client.post(
                "/api/v1/coordination/cap",
                content=to_xml(ack),
                headers={**lviv, "Content-Type": "application/cap+xml"},
            )
            assert answered.status_code == 200, answered.text
            receipt = answered.json()["receipts"][0]
            assert answered.json()["state"] == "acknowledged"
            assert (receipt["acknowledged_by"], receipt["note"]) == ("lviv-ops", "Confirmed, our crews are on it.")
            acknowledged = await next_event(lviv_line)
            assert acknowledged["event"] == "coordination.acknowledged"
            seen_by_sender = (await message(s, kyiv, first["id"]))["receipts"][0]
            assert seen_by_sender["delivered_at"] <= seen_by_sender["read_at"] <= seen_by_sender["acknowledged_at"]
            assert seen_by_sender["escalates_at"] is None
            not_for_them = await s.client.post(f"/api/v1/coordination/{first['id']}/ack", headers=kyiv)
            assert (not_for_them.status_code, not_for_them.json()["type"]) == (403, "/problems/not-addressed")

            # 2. nobody acknowledges: the colleague hears of it, then the administrators
            second = await s.post("/api/v1/coordination", {"to": ["lviv-ops"], "text": "Second call."}, kyiv)

            def escalated(level: int) -> Any:
                def check(event: dict[str, Any]) -> bool:
                    body = event["data"]["message"]
                    return bool(
                        event["event"] == "coordination.escalated"
                        and body["id"] == second["id"]
                        and body["receipts"][0]["level"] == level
                    )

                return check

            heard = await events_until(colleague_line, escalated(1))
            assert heard[-1]["data"]["message"]["receipts"][0]["notified"] == ["lviv-duty"]
            assert all(e["data"]["message"]["id"] == second["id"] for e in heard)  # not the first message
            reached = await events_until(chief_line, escalated(2))
            notified = reached[-1]["data"]["message"]["receipts"][0]["notified"]
            assert notified[0] == "lviv-duty" and {"chief", "admin"} <= set(notified)
            assert (await message(s, kyiv, first["id"]))["receipts"][0]["level"] == 0  # acknowledged in time

            on_behalf = await s.post(f"/api/v1/coordination/{second['id']}/ack", {"note": "Seen"}, colleague, 200)
            assert (on_behalf["receipts"][0]["acknowledged_by"], on_behalf["state"]) == ("lviv-duty", "acknowledged")
            inbox = await s.get("/api/v1/coordination", colleague)
            assert [m["id"] for m in inbox["messages"]] == [second["id"]]
            everyone = await s.get("/api/v1/coordination", chief, box="all")
            assert {m["id"] for m in everyone["messages"]} == {first["id"], second["id"]}

            # 3. never public: the public stream's next event is the next alert, the webhook never had a message
            alert = await s.post("/api/v1/alerts", {"regions": ["31"]})
            shown = await next_event(public)
            assert (shown["event"], shown["data"]["alert"]["id"]) == ("alert.issued", alert["id"])
            await until(lambda: len(hook.bodies) >= 1)
            assert [b["type"] for b in hook.verified(everything["secret"])] == ["alert.issued"]
            feed = (await s.client.get("/cap/feed.atom")).text
            assert "Second call" not in feed and "coordination" not in feed

        audit = await s.get("/api/v1/audit", s.admin, action="coordination.escalate")
        assert [e["details"]["level"] for e in audit["entries"]] == [1, 2]
