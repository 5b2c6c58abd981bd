"""The native REST API, every endpoint and every error case, with the problem+json shape checked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sirena.testing import Api

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    if slug is not None:
        assert body["type"] == f"/problems/{slug}"
    return body


async def issue(api: Api, **body: Any) -> dict[str, Any]:
    body.setdefault("regions", ["31"])
    response = await api.client.post("/api/v1/alerts", json=body, headers=api.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def alert_count(api: Api) -> int:
    return await api.runtime.store.last_seq()


async def test_issue_returns_the_full_alert(api: Api) -> None:
    alert = await issue(
        api,
        regions=["31", "14"],
        kind="air_raid",
        threats=[{"type": "ballistic_missiles", "level": "red"}, {"type": "drones", "level": "yellow"}],
        level="red",
        headline={"uk": "Ракетна небезпека", "en": "Missile danger"},
        instruction={"uk": "Негайно в укриття", "en": "Go to a shelter now"},
        time_to_shelter_s=90,
    )
    assert alert["state"] == "active"
    assert alert["status"] == "actual"
    assert alert["regions"] == ["31", "14"]
    assert alert["threats"] == [{"type": "ballistic_missiles", "level": "red"}, {"type": "drones", "level": "yellow"}]
    assert alert["instruction"]["en"] == "Go to a shelter now"
    assert alert["time_to_shelter_s"] == 90
    assert alert["started_at"].endswith("Z")
    got = await api.client.get(f"/api/v1/alerts/{alert['id']}")
    assert got.json() == alert


async def test_issue_by_polygon_and_circle_resolves_regions(api: Api) -> None:
    # a small square around central Kyiv
    square = {
        "type": "Polygon",
        "coordinates": [[[30.45, 50.40], [30.60, 50.40], [30.60, 50.48], [30.45, 50.48], [30.45, 50.40]]],
    }
    by_area = await issue(api, regions=None, area=square)
    assert by_area["regions"] == []
    assert by_area["partial_regions"] == ["31"]
    assert by_area["area"] == square
    by_circle = await issue(api, regions=None, circle={"lat": 49.84, "lon": 24.03, "radius_km": 10})
    assert "27" in by_circle["partial_regions"]  # Lviv oblast
    region = (await api.client.get("/api/v1/regions/27")).json()
    assert region["state"] == "partly"


async def test_list_filters_by_state_region_status_and_since(api: Api) -> None:
    kyiv = await issue(api, regions=["31"])
    lviv = await issue(api, regions=["27"])
    drill = await issue(api, regions=["27"], status="exercise")
    await api.client.post(f"/api/v1/alerts/{lviv['id']}/end", headers=api.auth)

    async def ids(query: str) -> set[str]:
        response = await api.client.get(f"/api/v1/alerts?{query}")
        assert response.status_code == 200
        return {a["id"] for a in response.json()["alerts"]}

    assert await ids("state=active") == {kyiv["id"]}
    assert await ids("state=ended") == {lviv["id"]}
    assert await ids("state=all") == {kyiv["id"], lviv["id"]}
    assert await ids("state=all&statuses=all") == {kyiv["id"], lviv["id"], drill["id"]}
    assert await ids("state=active&statuses=exercise") == {drill["id"]}
    assert await ids("state=all&region=27") == {lviv["id"]}
    hromada = api.runtime.registry.children(api.runtime.registry.children("27")[0].id)[0].id
    assert await ids(f"state=all&region={hromada}") == {lviv["id"]}  # ancestors count
    assert await ids("state=all&since=2999-01-01T00:00:00Z") == set()


async def test_update_end_and_cancel(api: Api) -> None:
    alert = await issue(api)
    patched = await api.client.patch(
        f"/api/v1/alerts/{alert['id']}", json={"level": "yellow", "regions": ["31", "10"]}, headers=api.auth
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2
    assert patched.json()["level"] == "yellow"
    assert patched.json()["regions"] == ["31", "10"]
    ended = await api.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=api.auth)
    assert ended.json()["state"] == "ended"
    assert ended.json()["ended_at"] is not None
    other = await issue(api)
    cancelled = await api.client.post(f"/api/v1/alerts/{other['id']}/cancel", headers=api.auth)
    assert cancelled.json()["state"] == "cancelled"


async def test_idempotency_key_makes_retries_safe(api: Api) -> None:
    headers = {**api.auth, "Idempotency-Key": "retry-1"}
    first = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=headers)
    second = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await alert_count(api) == 1
    reused = await api.client.post("/api/v1/alerts", json={"regions": ["14"]}, headers=headers)
    assert_problem(reused, 409, "idempotency-key-reused")
    assert await alert_count(api) == 1


async def test_regions_tree_and_detail(api: Api) -> None:
    tree = (await api.client.get("/api/v1/regions")).json()
    assert tree["root"]["id"] == "UA"
    assert {c["id"] for c in tree["root"]["children"]} >= {"31", "29", "30", "14"}
    calm = (await api.client.get("/api/v1/regions/31")).json()
    assert calm["state"] == "calm"
    assert calm["names"]["uk"] == "м. Київ"
    alert = await issue(api, regions=["14"], threats=[{"type": "drones"}])
    detail = (await api.client.get("/api/v1/regions/14")).json()
    assert detail["state"] == "alert"
    assert detail["threats"] == ["drones"]
    assert [a["id"] for a in detail["alerts"]] == [alert["id"]]
    assert (await api.client.get("/api/v1/regions/UA")).json()["state"] == "partly"
    states = (await api.client.get("/api/v1/regions/states")).json()["states"]
    assert states["14"]["state"] == "alert"
    assert states["UA"]["state"] == "partly"


async def test_region_states_take_statuses_all_like_every_list(api: Api) -> None:
    drill = await issue(api, regions=["31"], status="exercise")
    assert "31" not in (await api.client.get("/api/v1/regions/states")).json()["states"]
    for statuses in ("all", "exercise", "actual,exercise"):
        states = await api.client.get("/api/v1/regions/states", params={"statuses": statuses})
        assert states.status_code == 200, states.text
        assert states.json()["states"]["31"]["alerts"] == [drill["id"]]
        detail = (await api.client.get("/api/v1/regions/31", params={"statuses": statuses})).json()
        assert (detail["state"], [a["id"] for a in detail["alerts"]]) == ("alert", [drill["id"]])
    assert (await api.client.get("/api/v1/regions/31")).json()["state"] == "calm"
    refused = await api.client.get("/api/v1/regions/states", params={"statuses": "maybe"})
    assert_problem(refused, 422, "validation-failed")


async def test_the_all_clear_of_an_unknown_alert_is_alert_not_found(api: Api) -> None:
    assert_problem(await api.client.get("/api/v1/alerts/nope/all-clear"), 404, "alert-not-found")
    alert = await issue(api, regions=["14"])
    waiting = assert_problem(await api.client.get(f"/api/v1/alerts/{alert['id']}/all-clear"), 404, "not-found")
    assert "has no all-clear" in waiting["detail"]
    ended = await api.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=api.auth)
    assert ended.status_code == 200, ended.text
    clear = (await api.client.get(f"/api/v1/alerts/{alert['id']}/all-clear")).json()
    assert (clear["alert_id"], clear["regions"]) == (alert["id"], ["14"])


async def test_index_serves_json_and_html(api: Api) -> None:
    await issue(api, regions=["31"])
    index = await api.client.get("/", headers={"Accept": "application/json"})
    body = index.json()
    assert body["links"]["docs"] == "/docs"
    assert body["links"]["stream"] == "/api/v1/stream"
    assert body["state"]["regions_under_alert"] == ["31"]
    page = await api.client.get("/", headers={"Accept": "text/html", "Accept-Language": "uk"})
    assert page.headers["content-type"].startswith("text/html")
    assert "Активні тривоги (1)" in page.text
    assert 'href="/openapi.json"' in page.text
    openapi = (await api.client.get("/openapi.json")).json()
    assert "/api/v1/alerts" in openapi["paths"]
    assert (await api.client.get("/healthz")).json()["status"] == "ok"


# -- errors: every one is problem+json and writes nothing ---------------------------------------------------


async def test_missing_and_bad_tokens_are_401(api: Api) -> None:
    missing = await api.client.post("/api/v1/alerts", json={"regions": ["31"]})
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    bad = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers={"Authorization": "Bearer nope"})
    assert_problem(bad, 401)
    for path in ("/api/v1/alerts/x/end", "/api/v1/alerts/x/cancel"):
        assert_problem(await api.client.post(path), 401)
    assert_problem(await api.client.patch("/api/v1/alerts/x", json={"level": "red"}), 401)
    assert await alert_count(api) == 0


async def test_revoked_token_is_401(api: Api) -> None:
    record = (await api.runtime.store.list_tokens())[0]
    await api.runtime.store.revoke_token(record.id)
    assert_problem(await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=api.auth), 401)


async def test_unknown_region_is_422_naming_field_and_value(api: Api) -> None:
    response = await api.client.post("/api/v1/alerts", json={"regions": ["31", "99999"]}, headers=api.auth)
    body = assert_problem(response, 422, "unknown-region")
    assert body["field"] == "regions"
    assert body["value"] == "99999"
    assert "99999" in body["detail"]
    assert await alert_count(api) == 0
    assert_problem(await api.client.get("/api/v1/alerts?region=nope"), 422, "unknown-region")
    assert_problem(await api.client.get("/api/v1/stream?regions=nope"), 422, "unknown-region")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"regions": ["31"], "circle": {"lat": 50, "lon": 30, "radius_km": 5}}, "body"),
        ({"regions": ["31"], "kind": "meteor"}, "kind"),
        ({"regions": ["31"], "threats": [{"type": "ufo"}]}, "threats.0.type"),
        ({"regions": ["31"], "level": "green"}, "level"),
        ({"regions": ["31"], "status": "maybe"}, "status"),
        ({"regions": ["31"], "time_to_shelter_s": -1}, "time_to_shelter_s"),
        ({"regions": ["31"], "surprise": 1}, "surprise"),
        ({"regions": []}, "regions"),
        ({"circle": {"lat": 95, "lon": 30, "radius_km": 5}}, "circle.lat"),
    ],
)
async def test_invalid_bodies_are_422_with_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = await api.client.post("/api/v1/alerts", json=body, headers=api.auth)
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["field"] == field
    assert await alert_count(api) == 0


async def test_a_body_with_two_targets_is_explained_in_plain_words(api: Api) -> None:
    body = {"regions": ["31"], "circle": {"lat": 50.45, "lon": 30.52, "radius_km": 5}}
    problem = assert_problem(await api.client.post("/api/v1/alerts", json=body, headers=api.auth), 422)
    assert problem["detail"] == "body: give exactly one of regions, area or circle"
    (error,) = problem["errors"]
    assert error["reason"] == "give exactly one of regions, area or circle"
    assert json.loads(error["value"]) == body  # echoed as the JSON that was sent
    assert await alert_count(api) == 0


async def test_bad_areas_are_422(api: Api) -> None:
    for area in (
        {"type": "Point", "coordinates": [30, 50]},
        {"type": "Polygon", "coordinates": "nonsense"},
        {"type": "Polygon", "coordinates": [[[200, 50], [201, 50], [201, 51], [200, 50]]]},
        {"type": "Polygon", "coordinates": [[[-70, 40], [-69, 40], [-69, 41], [-70, 40]]]},  # nowhere near Ukraine
    ):
        response = await api.client.post("/api/v1/alerts", json={"area": area}, headers=api.auth)
        assert_problem(response, 422)
    assert await alert_count(api) == 0


_SQUARE = "[[[30.4, 50.4], [30.6, 50.4], [30.6, 50.5], [30.4, 50.4]]]"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"regions": ["31"], "headline": {"en": "\\ud800 x"}}', "headline.en"),  # a lone surrogate, echoed escaped
        ('{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "name": "\\udc00"}}', "area"),
        ('{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "n": 100000000000000000000000}}', "area"),
        ('{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "n": 1e400}}', "area"),
        ('{"circle": {"lat": 50.4, "lon": 30.5, "radius_km": NaN}}', "circle.radius_km"),  # echoed as text
        ('{"regions": ["31"], "time_to_shelter_s": Infinity}', "time_to_shelter_s"),
    ],
)
async def test_json_that_cannot_be_stored_as_it_came_is_422_and_writes_nothing(api: Api, raw: str, field: str) -> None:
    response = await api.client.post(
        "/api/v1/alerts", content=raw.encode(), headers={**api.auth, "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["field"] == field
    assert await alert_count(api) == 0


async def test_malformed_json_is_400(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/alerts", content=b'{"regions": ["31"', headers={**api.auth, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")
    assert await alert_count(api) == 0


async def test_body_over_the_limit_is_413(tmp_path: Any) -> None:
    from sirena import testing

    async with testing.api(tmp_path, max_body_bytes=2000) as small:
        big = {"regions": ["31"], "instruction": {"en": "x" * 1900, "uk": "y" * 500}}
        response = await small.client.post("/api/v1/alerts", json=big, headers=small.auth)
        body = assert_problem(response, 413, "payload-too-large")
        assert body["limit"] == 2000
        assert await alert_count(small) == 0
        ok = await small.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=small.auth)
        assert ok.status_code == 201


async def test_ending_an_ended_alert_is_409_and_changes_nothing(api: Api) -> None:
    alert = await issue(api)
    await api.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=api.auth)
    seq = await alert_count(api)
    for action in ("end", "cancel"):
        response = await api.client.post(f"/api/v1/alerts/{alert['id']}/{action}", headers=api.auth)
        assert_problem(response, 409, "invalid-transition")
    patch = await api.client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=api.auth)
    assert_problem(patch, 409)
    assert await alert_count(api) == seq


async def test_unknown_ids_are_404(api: Api) -> None:
    assert_problem(await api.client.get("/api/v1/alerts/nope"), 404, "alert-not-found")
    assert_problem(await api.client.post("/api/v1/alerts/nope/end", headers=api.auth), 404)
    assert_problem(await api.client.post("/api/v1/alerts/nope/cancel", headers=api.auth), 404)
    assert_problem(await api.client.patch("/api/v1/alerts/nope", json={"level": "red"}, headers=api.auth), 404)
    assert_problem(await api.client.get("/api/v1/regions/nope"), 404, "region-not-found")
    assert_problem(await api.client.get("/no/such/page"), 404)
    assert await alert_count(api) == 0


async def test_other_errors_share_the_envelope(api: Api) -> None:
    assert_problem(await api.client.delete("/api/v1/alerts"), 405, "method-not-allowed")
    assert_problem(await api.client.get("/api/v1/alerts?state=sideways"), 422)
    assert_problem(await api.client.get("/api/v1/alerts?statuses=maybe"), 422)
    assert_problem(await api.client.patch("/api/v1/alerts/x", json={}, headers=api.auth), 422)
    ukrainian = await api.client.get("/api/v1/alerts/nope", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
    assert "Тривоги" in ukrainian.json()["detail"]
    described = await api.client.get("/problems/unknown-region")
    assert described.json()["title"] == "Unknown region"
