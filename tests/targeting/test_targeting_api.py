"""The places and shelters endpoints, in process, with problem+json for every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sirena import testing
from sirena.auth.accounts import add_user
from sirena.auth.tokens import create_for

OSM = Path(__file__).parent / "data" / "osm_shelters.geojson"
KYIV_BOX = {
    "type": "Polygon",
    "coordinates": [[[30.40, 50.40], [30.65, 50.40], [30.65, 50.52], [30.40, 50.52], [30.40, 50.40]]],
}
PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


async def test_register_list_read_and_delete_places(api: testing.Api) -> None:
    c = api.client
    created = await c.post("/api/v1/places", json={"lat": 50.4501, "lon": 30.5234, "label": "home"})
    assert created.status_code == 201, created.text
    home = created.json()
    assert home["kind"] == "point" and home["regions"] == ["31"] and home["resolution"] == "oblast"
    assert home["within"] == {"oblast": "31", "country": "UA"}
    assert home["time_to_shelter_s"] == 120
    assert home["names"] == ["Kyiv"]
    subscriber = home["subscriber"]
    region = await c.post(
        "/api/v1/places", json={"subscriber": subscriber, "region": "22"}, headers={"Accept-Language": "uk"}
    )
    assert region.status_code == 201
    assert region.json()["names"] == ["Харківська область"]
    assert region.json()["time_to_shelter_s"] == 60

    listed = (await c.get("/api/v1/places", params={"subscriber": subscriber})).json()
    assert [p["id"] for p in listed["places"]] == [home["id"], region.json()["id"]]
    assert (await c.get(f"/api/v1/places/{home['id']}")).json()["label"] == "home"
    assert (await c.delete(f"/api/v1/places/{home['id']}")).status_code == 204
    problem(await c.get(f"/api/v1/places/{home['id']}"), 404, "place-not-found")
    problem(await c.delete(f"/api/v1/places/{home['id']}"), 404, "place-not-found")


@pytest.mark.parametrize(
    ("body", "slug", "field"),
    [
        ({"lat": 100, "lon": 30}, "validation-failed", "lat"),
        ({"lat": 50}, "validation-failed", "lon"),
        ({"lat": 50.45, "lon": 30.52, "region": "31"}, "validation-failed", "region"),
        ({"region": "nowhere"}, "validation-failed", "region"),
        ({"lat": 52.23, "lon": 21.01}, "validation-failed", "lat"),
        ({"lat": 50.45, "lon": 30.52, "subscriber": "bad id!"}, "validation-failed", "subscriber"),
        ({"lat": 50.45, "lon": 30.52, "colour": "red"}, "validation-failed", "colour"),
    ],
)
async def test_bad_places_are_refused_with_a_problem(
    api: testing.Api, body: dict[str, Any], slug: str, field: str
) -> None:
    found = problem(await api.client.post("/api/v1/places", json=body), 422, slug)
    assert found["field"] == field


async def test_listing_needs_a_subscriber(api: testing.Api) -> None:
    problem(await api.client.get("/api/v1/places"), 422, "validation-failed")


async def test_a_place_lists_only_the_alerts_that_reach_it(api: testing.Api) -> None:
    c = api.client
    inside = (await c.post("/api/v1/places", json={"lat": 50.45, "lon": 30.52})).json()
    outside = (await c.post("/api/v1/places", json={"lat": 50.38, "lon": 30.52})).json()  # south of the box
    assert inside["regions"] == outside["regions"] == ["31"]
    polygon = await c.post("/api/v1/alerts", json={"area": KYIV_BOX, "status": "test"}, headers=api.auth)
    assert polygon.status_code == 201, polygon.text
    oblast = await c.post("/api/v1/alerts", json={"regions": ["31"], "status": "test"}, headers=api.auth)
    assert oblast.status_code == 201

    def ids(response: httpx.Response) -> list[str]:
        return [a["id"] for a in response.json()["alerts"]]

    found = await c.get(f"/api/v1/places/{inside['id']}/alerts", params={"statuses": "test"})
    assert sorted(ids(found)) == sorted([polygon.json()["id"], oblast.json()["id"]])
    assert found.json()["time_to_shelter_s"] == 90  # the box also touches Kyiv Oblast (90 s)
    found = await c.get(f"/api/v1/places/{outside['id']}/alerts", params={"statuses": "test"})
    assert ids(found) == [oblast.json()["id"]]
    assert ids(await c.get(f"/api/v1/places/{outside['id']}/alerts")) == []  # actual alerts only, by default
    found = await c.get(f"/api/v1/places/{outside['id']}/alerts", params={"statuses": "all"})
    assert ids(found) == [oblast.json()["id"]]

    problem(await c.get(f"/api/v1/places/reach/{polygon.json()['id']}"), 401, "unauthorized")
    reach = (await c.get(f"/api/v1/places/reach/{polygon.json()['id']}", headers=api.auth)).json()
    assert (reach["subscribers"], reach["places"]) == (1, 1)
    reach = (await c.get(f"/api/v1/places/reach/{oblast.json()['id']}", headers=api.auth)).json()
    assert (reach["subscribers"], reach["places"]) == (2, 2)
    problem(await c.get("/api/v1/places/reach/nope", headers=api.auth), 404, "alert-not-found")


async def test_importing_shelters_needs_an_operator(api: testing.Api) -> None:
    c = api.client
    body = b"id,lat,lon\na,50.45,30.52\n"
    problem(await c.post("/api/v1/shelters/import", content=body), 401, "unauthorized")
    problem(
        await c.post("/api/v1/shelters/import", content=body, headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )
    rt = api.runtime
    await add_user(rt.store, rt.registry, "watcher", "viewer")
    token, _ = await create_for(rt.store, "watch", user="watcher")
    refused = await c.post("/api/v1/shelters/import", content=body, headers={"Authorization": f"Bearer {token}"})
    assert problem(refused, 403, "scope-missing")["missing_scope"] == "role:operator"
    assert (await c.get("/api/v1/shelters/nearest", params={"lat": 50.45, "lon": 30.52})).json() == {"shelters": []}


async def test_import_then_nearest_and_the_map(api: testing.Api) -> None:
    c = api.client
    headers = {**api.auth, "Content-Type": "application/geo+json"}
    refused = await c.post(
        "/api/v1/shelters/import", params={"source": "osm"}, content=OSM.read_bytes(), headers=headers
    )
    body = problem(refused, 422, "shelter-import-refused")
    assert [(e["line"], e["reason"]) for e in body["errors"]] == [(163, "no_location")]
    assert body["errors_total"] == 1

    imported = await c.post(
        "/api/v1/shelters/import",
        params={"source": "osm", "partial": "true"},
        content=OSM.read_bytes(),
        headers=headers,
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert (report["imported"], report["errors_total"], report["skipped_total"]) == (5, 1, 2)
    assert report["skipped"][0]["line"] == 50

    nearest = await c.get("/api/v1/shelters/nearest", params={"lat": 50.4480, "lon": 30.5220, "limit": 2})
    first, second = nearest.json()["shelters"]
    assert first["id"] == "osm:node/10001" and first["name"] == "Укриття у підземному переході"
    assert {"id", "name", "lat", "lon", "distance_m", "capacity", "accessibility", "hours"} <= first.keys()
    assert first["distance_m"] < second["distance_m"]

    csv = await c.post(
        "/api/v1/shelters/import",
        params={"source": "city"},
        content="id;lat;lon;name\n9;50,4481;30,5221;Поруч\n".encode(),
        headers={**api.auth, "Content-Type": "text/csv"},
    )
    assert csv.status_code == 200 and csv.json()["imported"] == 1
    nearest = await c.get("/api/v1/shelters/nearest", params={"lat": 50.4480, "lon": 30.5220, "limit": 1})
    assert nearest.json()["shelters"][0]["id"] == "city:9"

    place = (await c.post("/api/v1/places", json={"lat": 50.4480, "lon": 30.5220})).json()
    near_place = (await c.get(f"/api/v1/places/{place['id']}/shelters", params={"limit": 3})).json()
    assert [s["id"] for s in near_place["shelters"]][:2] == ["city:9", "osm:node/10001"]
    region = (await c.post("/api/v1/places", json={"region": "31"})).json()
    refused = problem(await c.get(f"/api/v1/places/{region['id']}/shelters"), 422, "validation-failed")
    assert refused["field"] == "place" and refused["region"] == "31"
    assert "whole region (31), not a point" in refused["detail"] and "/api/v1/shelters/nearest" in refused["detail"]

    geojson = await c.get("/api/v1/shelters", params={"bbox": "30.50,50.44,30.53,50.45"})
    assert geojson.headers["content-type"].startswith("application/geo+json")
    features = geojson.json()["features"]
    assert {f["id"] for f in features} == {"osm:node/10001", "osm:node/10006", "city:9"}
    assert features[0]["geometry"]["type"] == "Point"
    assert len((await c.get("/api/v1/shelters")).json()["features"]) == 6
    problem(await c.get("/api/v1/shelters", params={"bbox": "1,2,3"}), 422, "validation-failed")

    imports = (await c.get("/api/v1/shelters/imports", headers=api.auth)).json()["imports"]
    assert [(i["source"], i["imported"], i["rejected"]) for i in imports] == [("city", 1, 0), ("osm", 5, 1)]


@pytest.mark.parametrize(
    "params",
    [{"lat": 91, "lon": 30}, {"lat": 50}, {"lat": "north", "lon": 30}, {"lat": 50, "lon": 30, "limit": 0}],
)
async def test_nearest_refuses_bad_points(api: testing.Api, params: dict[str, Any]) -> None:
    problem(await api.client.get("/api/v1/shelters/nearest", params=params), 422, "validation-failed")


async def test_unreadable_uploads_are_problems(api: testing.Api) -> None:
    c = api.client
    bad = await c.post(
        "/api/v1/shelters/import", content=b"{not json", headers={**api.auth, "Content-Type": "application/json"}
    )
    assert "line 1" in problem(bad, 422, "data-error")["detail"]
    bad_source = await c.post(
        "/api/v1/shelters/import", params={"source": "a/b"}, content=b"lat,lon\n50,30\n", headers=api.auth
    )
    problem(bad_source, 422, "validation-failed")
