"""docs/advisories.md is tested: every request on the page is sent, in order, to a real server by the users it
names, and the JSON shapes it shows are the shapes the server answers with; its CAP Ack acknowledges a message."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisories_support import Site, site

from sirena import testing
from sirena.cap.outbound import sent_of
from sirena.protocol.cap.timestamps import format_timestamp

PAGE = Path(__file__).resolve().parents[2] / "docs" / "advisories.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def request_of(block: str, ids: dict[str, str]) -> tuple[str, str, str, Any]:
    """(method, path, token variable, body) of an ``http`` block, with ``{…_id}`` filled in."""
    head, _, body = block.partition("\n\n")
    lines = head.splitlines()
    method, path = lines[0].split(" ", 1)
    token = next(line.split("$", 1)[1] for line in lines[1:] if line.startswith("Authorization:"))
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
        body = body.replace("{" + name + "}", value)
    return method, path, token, json.loads(body) if body.strip() else None


def same_shape(shown: Any, got: Any, where: str = "") -> None:
    """The same keys all the way down (values may differ: ids, times)."""
    if isinstance(shown, dict):
        assert isinstance(got, dict), where
        assert set(shown) == set(got), f"{where}: page {sorted(shown)} != server {sorted(got)}"
        for key in shown:
            same_shape(shown[key], got[key], f"{where}.{key}")
    elif isinstance(shown, list) and shown and isinstance(shown[0], dict):
        assert isinstance(got, list) and got, where
        same_shape(shown[0], got[0], f"{where}[0]")


async def users(s: Site) -> dict[str, dict[str, str]]:
    return {
        "ADMIN": s.admin,
        "EMBASSY": await s.user("embassy-ca", "operator", channels=("embassy-ca-kyiv",)),
        "CIVIL": await s.user("civil-protection", "operator", scopes=("UA",)),
        "AIR_FORCE": await s.user("air-force", "operator", scopes=("UA",)),
        "KYIV": await s.user("kyiv-ops", "operator", scopes=("14",)),
        "LVIV": await s.user("lviv-ops", "operator", scopes=("27",)),
    }


async def test_every_request_on_the_page_works_and_the_shapes_match(tmp_path: Path) -> None:
    shown = [json.loads(b) for b in blocks("json")]
    channel_shown, advisory_shown, report_shown, stats_shown, clear_shown, message_shown = shown
    async with site(tmp_path) as s:
        tokens = await users(s)
        ids: dict[str, str] = {}
        answers: dict[str, Any] = {}
        for block in blocks("http"):
            if "{alert_id}" in block and "alert_id" not in ids:  # the alert the reports and the end are about
                alert = await s.post("/api/v1/alerts", {"regions": ["14"], "threats": [{"type": "drones"}]})
                ids["alert_id"] = alert["id"]
            method, path, who, body = request_of(block, ids)
            response = await s.client.request(method, path, json=body, headers=tokens[who])
            assert response.status_code in {200, 201}, f"{method} {path}: {response.text}"
            answer = response.json()
            answers.setdefault(f"{method} {path.split('/')[3]}", answer)
            if method == "POST" and path == "/api/v1/advisories" and "advisory_id" not in ids:
                ids["advisory_id"] = answer["id"]
            if method == "POST" and path == "/api/v1/coordination":
                ids["message_id"] = answer["id"]

        same_shape(channel_shown, answers["POST channels"], "channel")
        same_shape(advisory_shown, answers["POST advisories"], "advisory")
        assert answers["POST advisories"]["headline"] == advisory_shown["headline"]
        same_shape(report_shown, answers["POST reports"], "report")
        assert answers["POST reports"]["arrow"] == report_shown["arrow"]
        assert answers["POST reports"]["summary"] == report_shown["summary"]
        same_shape(message_shown, answers["POST coordination"], "message")

        clear = await s.get(f"/api/v1/alerts/{ids['alert_id']}/all-clear")
        same_shape(clear_shown, clear, "all_clear")
        assert (clear["text"], clear["headline"]) == (clear_shown["text"], clear_shown["headline"])

        today = datetime.now(UTC).date().isoformat()
        stats = await s.get("/api/v1/stats", region="14", **{"from": today, "to": "2100-01-01", "tz": "UTC"})
        assert stats["reports"]["total"] == stats_shown["total"]

        # the live frame shown for the embassy's advisory
        frame = blocks("text")[0]
        advisory = answers["POST advisories"]
        async with testing.stream(s.base, "/api/v1/stream?channels=embassy-ca-kyiv", {"Last-Event-ID": "0"}) as reader:
            event = await reader.next()
            while event["event"] != "advisory.issued":
                event = await reader.next()
        assert "event: advisory.issued" in frame and "id: " in frame
        assert (
            set(event["data"]) == {"seq", "type", "at", "advisory"}
            and event["data"]["advisory"]["id"] == advisory["id"]
        )

        # the CAP Ack on the page, for a second message
        again = await s.post("/api/v1/coordination", {"to": ["lviv-ops"], "text": "Ще раз."}, tokens["KYIV"])
        sender = s.runtime.cap.config.sender
        xml = (
            blocks("xml")[0]
            .replace("{ack_sent}", format_timestamp(sent_of(datetime.now(UTC))))
            .replace("{sender}", sender)
            .replace("{message_id}", again["id"])
            .replace(
                "{sent}", format_timestamp(sent_of(datetime.fromisoformat(again["sent_at"].replace("Z", "+00:00"))))
            )
        )
        acked = await s.client.post(
            "/api/v1/coordination/cap",
            content=xml.encode(),
            headers={**tokens["LVIV"], "Content-Type": "application/cap+xml"},
        )
        assert acked.status_code == 200, acked.text
        assert acked.json()["receipts"][0]["note"] == "Підтверджуємо: наша ППО їх супроводжує."

        # the prepared all-clear text quoted on the page
        other = await s.post("/api/v1/alerts", {"regions": ["14"]})
        await s.post(f"/api/v1/alerts/{other['id']}/end", {"all_clear": True}, status=200)
        prepared = (await s.get(f"/api/v1/alerts/{other['id']}/all-clear"))["text"]
        page = PAGE.read_text()
        assert f'("{prepared["en"]}" /\n"{prepared["uk"]}")' in page
