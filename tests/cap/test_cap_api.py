"""``POST /api/v1/cap``: CAP applied to stored alerts along its chain; unusable input refused with nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cap_samples import KYIV_BOX, KYIV_CIRCLE, KYIV_OBLAST_ID, NEVADA, SENDER, cap, ref

from sirena.cap.storage import sql
from sirena.store import cap as sql_cap
from sirena.testing import Api

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
REPORT_KEYS = {"format", "version", "schema_valid", "errors", "warnings", "repairs", "signature", "alerts"}


async def post(api: Api, body: bytes, status: int = 200, content_type: str = "application/cap+xml") -> dict[str, Any]:
    response = await api.client.post("/api/v1/cap", content=body, headers={**api.auth, "Content-Type": content_type})
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS and body["type"] == f"/problems/{slug}"
    return body


async def get_alert(api: Api, alert_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/api/v1/alerts/{alert_id}")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def recorded(api: Api, key: tuple[str, str, str]) -> sql_cap.StoredMessage | None:
    return await sql(api.runtime.store).read(lambda conn: sql_cap.find_message(conn, key))


async def nothing_stored(api: Api) -> bool:
    count = await sql(api.runtime.store).read(lambda conn: conn.execute("SELECT count(*) FROM cap_messages").fetchone())
    return bool(await api.runtime.store.last_seq() == 0 and count[0] == 0)


async def test_ingest_needs_a_token(api: Api) -> None:
    response = await api.client.post("/api/v1/cap", content=cap("A-1"))
    problem(response, 401, "unauthorized")
    assert await nothing_stored(api)


async def test_alert_creates_an_alert_and_answers_with_the_report(api: Api) -> None:
    result = await post(api, cap("A-1"))
    assert result.keys() >= REPORT_KEYS | {"alert_ids", "messages"}
    assert (result["format"], result["version"], result["schema_valid"], result["signature"]) == (
        "cap-xml",
        "1.2",
        True,
        "absent",
    )
    (alert_id,) = result["alert_ids"]
    assert result["messages"] == [
        {
            "sender": SENDER,
            "identifier": "A-1",
            "sent": "2025-03-01T08:15:00+02:00",
            "msg_type": "Alert",
            "result": "issued",
            "alert_id": alert_id,
            "detail": None,
            "unknown_references": [],
        }
    ]
    alert = await get_alert(api, alert_id)
    assert alert["regions"] == ["31"] and alert["targets_regions"] == ["31"]
    assert (alert["status"], alert["state"], alert["source"], alert["level"]) == ("actual", "active", "cap", "red")
    assert alert["issuer"] == f"cap:{SENDER}"
    assert alert["headline"] == {"uk": "Повітряна тривога в м. Київ"}
    assert alert["instruction"] == {"uk": "Пройдіть в укриття"}
    assert alert["started_at"] == "2025-03-01T06:15:00.000Z"
    assert alert["expires_at"] == "2025-03-01T08:15:00.000Z"
    stored = await recorded(api, (SENDER, "A-1", "2025-03-01T08:15:00+02:00"))
    assert stored is not None and (stored.alert_id, stored.outcome) == (alert_id, "issued")


async def test_update_and_cancel_change_the_stored_alert(api: Api) -> None:
    (alert_id,) = (await post(api, cap("A-1")))["alert_ids"]
    update = cap(
        "A-2",
        "2025-03-01T08:30:00+02:00",
        msg_type="Update",
        references=ref("A-1", "2025-03-01T08:15:00+02:00"),
        area=KYIV_OBLAST_ID,
        headline="Тривога поширилась на область",
        urgency="Expected",
    )
    result = await post(api, update)
    assert result["alert_ids"] == [alert_id]
    assert result["messages"][0]["result"] == "updated"
    alert = await get_alert(api, alert_id)
    assert (alert["version"], alert["regions"], alert["headline"]["uk"]) == (2, ["14"], "Тривога поширилась на область")
    cancel = cap(
        "A-3",
        "2025-03-01T08:40:00+02:00",
        msg_type="Cancel",
        references=f"{ref('A-1', '2025-03-01T08:15:00+02:00')} {ref('A-2', '2025-03-01T08:30:00+02:00')}",
    )
    result = await post(api, cancel)
    assert (result["alert_ids"], result["messages"][0]["result"]) == ([alert_id], "cancelled")
    alert = await get_alert(api, alert_id)
    assert (alert["state"], alert["version"]) == ("cancelled", 3)


async def test_update_with_all_clear_ends_the_alert(api: Api) -> None:
    (alert_id,) = (await post(api, cap("A-1")))["alert_ids"]
    clear = cap(
        "A-2",
        "2025-03-01T09:00:00+02:00",
        msg_type="Update",
        references=ref("A-1", "2025-03-01T08:15:00+02:00"),
        response="AllClear",
        urgency="Past",
    )
    assert (await post(api, clear))["messages"][0]["result"] == "ended"
    assert (await get_alert(api, alert_id))["state"] == "ended"
    again = cap(
        "A-3",
        "2025-03-01T09:05:00+02:00",
        msg_type="Update",
        references=ref("A-2", "2025-03-01T09:00:00+02:00"),
    )
    result = await post(api, again)
    assert (result["messages"][0]["result"], result["alert_ids"]) == ("alert_closed", [])


async def test_the_same_message_twice_is_applied_once(api: Api) -> None:
    first = await post(api, cap("A-1"))
    seq = await api.runtime.store.last_seq()
    second = await post(api, cap("A-1"))
    assert second["messages"][0]["result"] == "duplicate"
    assert second["messages"][0]["alert_id"] == first["alert_ids"][0]
    assert second["alert_ids"] == []
    assert await api.runtime.store.last_seq() == seq


async def test_a_reference_to_an_unknown_message_is_kept_and_reported(api: Api) -> None:
    cancel = cap(
        "A-9", "2025-03-01T08:40:00+02:00", msg_type="Cancel", references=ref("A-1", "2025-03-01T08:15:00+02:00")
    )
    result = await post(api, cancel)
    (outcome,) = result["messages"]
    assert outcome["result"] == "unknown_reference"
    assert outcome["unknown_references"] == [[SENDER, "A-1", "2025-03-01T08:15:00+02:00"]]
    assert result["alert_ids"] == [] and await api.runtime.store.last_seq() == 0
    stored = await recorded(api, (SENDER, "A-9", "2025-03-01T08:40:00+02:00"))
    assert stored is not None and stored.references == ((SENDER, "A-1", "2025-03-01T08:15:00+02:00"),)
    # the cancelled message arrives late: it is recorded as superseded and issues nothing
    late = await post(api, cap("A-1"))
    assert late["messages"][0]["result"] == "superseded" and late["alert_ids"] == []
    assert await api.runtime.store.last_seq() == 0


async def test_an_update_of_an_alert_never_seen_issues_it(api: Api) -> None:
    update = cap(
        "A-2", "2025-03-01T08:30:00+02:00", msg_type="Update", references=ref("A-1", "2025-03-01T08:15:00+02:00")
    )
    result = await post(api, update)
    (outcome,) = result["messages"]
    assert outcome["result"] == "issued" and len(result["alert_ids"]) == 1
    assert outcome["unknown_references"] == [[SENDER, "A-1", "2025-03-01T08:15:00+02:00"]]


async def test_another_sender_cannot_change_an_alert(api: Api) -> None:
    (alert_id,) = (await post(api, cap("A-1")))["alert_ids"]
    hijack = cap(
        "X-1",
        "2025-03-01T08:30:00+02:00",
        msg_type="Cancel",
        sender="someone@else.example",
        references=ref("A-1", "2025-03-01T08:15:00+02:00"),
    )
    assert (await post(api, hijack))["messages"][0]["result"] == "other_sender"
    assert (await get_alert(api, alert_id))["state"] == "active"


@pytest.mark.parametrize(("cap_status", "status"), [("Exercise", "exercise"), ("Test", "test")])
async def test_exercise_and_test_cap_stay_exercise_and_test(api: Api, cap_status: str, status: str) -> None:
    (alert_id,) = (await post(api, cap("A-1", status=cap_status)))["alert_ids"]
    assert (await get_alert(api, alert_id))["status"] == status
    listed = (await api.client.get("/api/v1/alerts")).json()["alerts"]
    assert listed == []


async def test_polygons_and_circles_are_resolved_to_regions(api: Api) -> None:
    (alert_id,) = (await post(api, cap("P-1", area=KYIV_BOX)))["alert_ids"]
    alert = await get_alert(api, alert_id)
    assert alert["area"]["type"] == "Polygon" and alert["targets_regions"] == []
    assert "31" in alert["regions"] + alert["partial_regions"]
    (alert_id,) = (await post(api, cap("C-1", area=KYIV_CIRCLE)))["alert_ids"]
    alert = await get_alert(api, alert_id)
    assert alert["circle"] == {"lat": 50.45, "lon": 30.52, "radius_km": 12.0}
    assert "31" in alert["regions"] + alert["partial_regions"]


async def test_cap_json_is_ingested_too(api: Api) -> None:
    body = b"""{"identifier":"J-1","sender":"nina@example.de","sent":"2025-03-13T10:15:06+01:00","status":"Test",
    "msgType":"Alert","scope":"Public","info":[{"language":"DE","category":["Safety"],"event":"Probealarm",
    "urgency":"Immediate","severity":"Minor","certainty":"Observed","headline":"Probealarm",
    "area":[{"areaDesc":"Kyjiw","geocode":[{"valueName":"KATOTTG","value":"UA80000000000093317"}]}]}]}"""
    result = await post(api, body, content_type="application/json")
    assert (result["format"], result["schema_valid"]) == ("cap-json", None)
    alert = await get_alert(api, result["alert_ids"][0])
    assert (alert["status"], alert["regions"], alert["level"], alert["headline"]) == (
        "test",
        ["31"],
        "yellow",
        {"DE": "TEST: Probealarm"},  # a test says so in its headline, whoever wrote it
    )


XXE = b"""<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol2;</alert>"""


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (XXE, 400, "unsafe-xml"),
        (LAUGHS, 400, "unsafe-xml"),
        (b"<html><body>hello</body></html>", 400, "not-cap"),
        (b"not xml at all", 400, "not-cap"),
        (b'{"type": "FeatureCollection", "features": []}', 400, "not-cap"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>", 400, "malformed-cap"),
        (cap("N-1", area=NEVADA), 422, "validation-failed"),
        (cap("N-2", status="Draft"), 422, "cap-not-usable"),
        (cap("N-3", msg_type="Ack", references=ref("A-1", "2025-03-01T08:15:00+02:00")), 422, "cap-not-usable"),
    ],
)
async def test_unusable_input_is_refused_and_nothing_is_stored(api: Api, body: bytes, status: int, slug: str) -> None:
    response = await api.client.post("/api/v1/cap", content=body, headers=api.auth)
    problem(response, status, slug)
    assert await nothing_stored(api)


async def test_oversized_input_is_refused(tmp_path: Any) -> None:
    from sirena import testing

    async with testing.api(tmp_path, max_body_bytes=4096) as small:
        padding = b"<!-- " + b"x" * 8000 + b" -->"
        response = await small.client.post("/api/v1/cap", content=cap("A-1") + padding, headers=small.auth)
        assert response.status_code == 413
        assert await nothing_stored(small)


async def test_references_to_cap_sirena_wrote_name_that_alert(api: Api) -> None:
    issued = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=api.auth)
    alert = issued.json()
    emitted = await api.client.get(f"/api/v1/alerts/{alert['id']}.cap")
    sender = api.runtime.cap.config.sender
    identifier = f"urn:sirena:{sender}:{alert['id']}:1"
    assert f"<identifier>{identifier}</identifier>".encode() in emitted.content
    sent = alert["updated_at"][:19] + "+00:00"
    cancel = cap(
        "ops-cancel-1",
        "2026-01-01T00:00:00+00:00",
        msg_type="Cancel",
        sender=sender,
        references=ref(identifier, sent, sender=sender),
    )
    result = await post(api, cancel)
    assert (result["messages"][0]["result"], result["alert_ids"]) == ("cancelled", [alert["id"]])
    assert (await get_alert(api, alert["id"]))["state"] == "cancelled"


async def test_the_two_person_rule_holds_cap_back(tmp_path: Any) -> None:
    from sirena import testing

    two_oblasts = (
        "<geocode><valueName>SIRENA</valueName><value>14</value></geocode>"
        "<geocode><valueName>SIRENA</valueName><value>27</value></geocode>"
    )
    async with testing.api(tmp_path, approval_builtin_exempt=False) as strict:
        result = await post(strict, cap("A-1", area=two_oblasts))
        (outcome,) = result["messages"]
        assert (outcome["result"], result["alert_ids"]) == ("approval_needed", [])
        assert "multi_oblast" in outcome["detail"]
        assert await nothing_stored(strict)
        one = await post(strict, cap("A-2"))
        assert one["messages"][0]["result"] == "issued"
