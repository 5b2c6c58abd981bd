"""Why a domain check refused a request, in the client's language (Accept-Language), through a real server: the
reason is a catalogue phrase said when the problem is written, so one error reads right in Ukrainian and in
English, and the English is the text the API has always given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from advisories_support import Site, site

from sirena.errors import ValidationFailed
from sirena.web.problems import problem_body

ISSUED = {"regions": ["31"], "threats": [{"type": "drones"}]}
EMPTY_FEED = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>no Ack</title></feed>'
RING = [[30.4, 50.4], [30.6, 50.4], [30.6, 50.5], [30.4, 50.4]]

# (name, request, field, detail in uk, en); the request is method, path, JSON body (or bytes) and the caller
CASES = [
    (
        "channel name",
        ("post", "/api/v1/channels", {"id": "night", "name": "  ", "languages": ["uk"]}, "admin"),
        "name",
        "name: Значення не може бути порожнім.",
        "name: empty",
    ),
    (
        "report in the future",
        (
            "post",
            "/api/v1/reports",
            {
                "alert_id": "ALERT",
                "kind": "movement",
                "threat": "drones",
                "region": "31",
                "observed_at": "2999-01-01T00:00:00Z",
            },
            "kyiv",
        ),
        "observed_at",
        "observed_at: Час не може бути в майбутньому.",
        "observed_at: in the future",
    ),
    (
        "message to yourself",
        ("post", "/api/v1/coordination", {"to": ["kyiv-ops"], "text": "Confirm?"}, "kyiv"),
        "to",
        "to: Не можна надсилати повідомлення самому собі.",
        "to: yourself",
    ),
    (
        "advisory already past",
        (
            "post",
            "/api/v1/advisories",
            {
                "type": "pre_alert",
                "regions": ["31"],
                "headline": {"uk": "Увага", "en": "Attention"},
                "expires_at": "2001-01-01T00:00:00Z",
            },
            "kyiv",
        ),
        "expires_at",
        "expires_at: Цей час уже минув.",
        "expires_at: already past",
    ),
    (
        "advisory with nothing to change",
        ("patch", "/api/v1/advisories/ADVISORY", {}, "kyiv"),
        "body",
        "body: Немає чого змінювати.",
        "body: nothing to change",
    ),
    (
        "CAP Ack that is not one message",
        ("post", "/api/v1/coordination/cap", EMPTY_FEED, "kyiv"),
        "body",
        "body: очікувалося одне повідомлення CAP з msgType Ack.",
        "body: expected one CAP message with msgType Ack.",
    ),
    (
        "empty area",
        ("post", "/api/v1/alerts", {"area": {"type": "Polygon", "coordinates": []}}, "admin"),
        "area",
        "area не є придатним полігоном: він порожній.",
        "area is not a usable polygon: empty.",
    ),
    (
        "area out of range",
        (
            "post",
            "/api/v1/alerts",
            {"area": {"type": "Polygon", "coordinates": [[[x + 200, y] for x, y in RING]]}},
            "admin",
        ),
        "area",
        "area не є придатним полігоном: координати поза допустимими межами (lon, lat).",
        "area is not a usable polygon: coordinates out of range (lon, lat).",
    ),
    (
        "shelters bbox",
        ("get", "/api/v1/shelters?bbox=30,50,31", None, "admin"),
        "bbox",
        "bbox: Значення має мати вигляд west,south,east,north (чотири числа через кому).",
        "bbox: west,south,east,north",
    ),
    (
        "stream since_seq",
        ("get", "/api/v1/stream?since_seq=yesterday", None, "admin"),
        "since_seq",
        "since_seq: Значення має бути порядковим номером події (ціле число, не менше за 0).",
        "since_seq: a sequence number",
    ),
]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Site, dict[str, Any]]]:
    async with site(tmp_path) as s:
        callers = {"admin": s.admin, "kyiv": await s.user("kyiv-ops", "operator", scopes=("31",))}
        alert = await s.post("/api/v1/alerts", ISSUED)
        pre = {"type": "pre_alert", "regions": ["31"], "headline": {"uk": "Увага", "en": "Attention"}}
        advisory = await s.post("/api/v1/advisories", pre, callers["kyiv"])
        yield s, {"callers": callers, "ALERT": alert["id"], "ADVISORY": advisory["id"]}


@pytest.mark.parametrize(("name", "call", "field", "uk", "en"), CASES, ids=[c[0] for c in CASES])
async def test_a_domain_check_gives_its_reason_in_the_clients_language(
    desk: tuple[Site, dict[str, Any]], name: str, call: tuple[str, str, Any, str], field: str, uk: str, en: str
) -> None:
    s, known = desk
    method, path, body, caller = call
    path = path.replace("ADVISORY", known["ADVISORY"])
    if isinstance(body, dict) and body.get("alert_id") == "ALERT":
        body = {**body, "alert_id": known["ALERT"]}
    reasons = {}
    for lang, detail in (("uk", uk), ("en", en)):
        headers = {**known["callers"][caller], "Accept-Language": lang}
        sent = {"content": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
        async with httpx.AsyncClient(base_url=s.base) as client:  # a new connection: the stream's front sees it
            response = await client.request(method.upper(), path, headers=headers, **sent)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert (problem["field"], problem["detail"]) == (field, detail)
        assert isinstance(problem["reason"], str) and problem["reason"]
        reasons[lang] = problem["reason"]
    assert reasons["uk"] != reasons["en"]  # the reason member is said in the client's language too


def test_a_refused_place_is_said_in_each_language() -> None:
    """The registry's own check of a point (the API's schema refuses such a point before it): one error, both
    languages, every reason in its ``errors`` said too."""
    from sirena.targeting.registry import _check_point

    with pytest.raises(ValidationFailed) as caught:
        _check_point(91.0, 181.0)
    uk = problem_body(caught.value, "uk", "/api/v1/places")
    en = problem_body(caught.value, "en", "/api/v1/places")
    assert en["detail"] == "lat: a latitude between -90 and 90"
    assert [e["reason"] for e in en["errors"]] == ["a latitude between -90 and 90", "a longitude between -180 and 180"]
    assert uk["detail"] == "lat: Значення має бути широтою від -90 до 90."
    assert [e["reason"] for e in uk["errors"]] == [
        "Значення має бути широтою від -90 до 90.",
        "Значення має бути довготою від -180 до 180.",
    ]
    assert str(caught.value) == en["detail"]
