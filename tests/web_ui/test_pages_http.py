"""The pages' server side without a browser: what / sends to browsers and programs, static files, outlines,
message bundles and the console's preview."""

from __future__ import annotations

import re

import shapely
from shapely.geometry import shape

from sirena import messages
from sirena.testing import Api
from sirena.web.mapview import build_map


async def test_browsers_get_the_map_and_programs_keep_the_json_index(api: Api) -> None:
    await api.client.post("/api/v1/alerts", json={"regions": ["79"]}, headers=api.auth)  # a raion of Kyiv oblast
    await api.client.post("/api/v1/alerts", json={"regions": ["22"], "level": "yellow"}, headers=api.auth)
    page = await api.client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html")
    shapes = re.findall(r'<path class="region"[^>]*>', page.text)
    assert len(shapes) == len(api.runtime.registry.children(api.runtime.registry.root_id)) == 27
    states = {
        re.search(r'data-region="([^"]+)"', s).group(1): (  # type: ignore[union-attr]
            re.search(r'data-state="(\w+)"', s).group(1),  # type: ignore[union-attr]
            re.search(r'data-level="(\w*)"', s).group(1),  # type: ignore[union-attr]
        )
        for s in shapes
    }
    assert states["14"] == ("partly", "red")
    assert states["22"] == ("alert", "yellow")
    assert states["27"] == ("calm", "")
    assert "Active alerts (2)" in page.text
    assert "https://" not in page.text.replace("https://www.w3.org", "")  # nothing to fetch from elsewhere
    index = await api.client.get("/", headers={"Accept": "application/json"})
    assert index.headers["content-type"] == "application/json"
    assert index.json()["state"]["regions_under_alert"] == ["22"]
    assert (await api.client.get("/")).headers["content-type"] == "application/json"


async def test_exercises_are_on_the_page_only_when_asked_for(api: Api) -> None:
    await api.client.post("/api/v1/alerts", json={"regions": ["27"], "status": "exercise"}, headers=api.auth)
    plain = await api.client.get("/", headers={"Accept": "text/html"})
    assert 'data-region="27" data-state="calm"' in plain.text
    asked = await api.client.get("/?exercises=1", headers={"Accept": "text/html"})
    assert 'data-region="27" data-state="alert" data-level="red" data-exercise="true"' in asked.text
    assert '<span id="summary">EXERCISE: Alert in 1 of 27 regions.</span>' in asked.text


async def test_console_and_history_pages_render_in_both_languages(api: Api) -> None:
    for path, title in (("/console", "web.console.title"), ("/history", "web.history.title")):
        for lang in ("uk", "en"):
            page = await api.client.get(path, headers={"Accept-Language": lang})
            assert page.status_code == 200
            assert f'<html lang="{lang}">' in page.text
            assert messages.t(title, lang) in page.text
            assert "{{" not in page.text


async def test_static_files_are_served_with_types_and_revalidation(api: Api) -> None:
    css = await api.client.get("/static/sirena.css")
    assert css.headers["content-type"].startswith("text/css")
    again = await api.client.get("/static/sirena.css", headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    assert (await api.client.get("/static/map.js")).headers["content-type"].startswith("text/javascript")
    for bad in ("/static/nope.js", "/static/index.html", "/static/..%2Fapp.py", "/static/.hidden.css"):
        response = await api.client.get(bad)
        assert response.status_code == 404, bad
        assert response.headers["content-type"] == "application/problem+json"


async def test_outlines_are_geojson_in_lon_lat_for_every_drawn_region(api: Api) -> None:
    response = await api.client.get("/api/v1/regions/outlines.geojson")
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    registry = api.runtime.registry
    assert {f["id"] for f in features} == {r.id for r in registry.children(registry.root_id)}
    for feature in features:
        geom = shape(feature["geometry"])
        original = registry.geometry(feature["id"])
        assert original is not None
        assert shapely.hausdorff_distance(geom, original) < 0.01  # rounded to about 100 m
        assert feature["properties"]["names"]["uk"]
    # The region detail route still answers for real ids.
    assert (await api.client.get("/api/v1/regions/31")).json()["id"] == "31"


async def test_message_bundles_come_from_the_catalogue(api: Api) -> None:
    uk = (await api.client.get("/ui/messages/uk.json")).json()
    assert uk["texts"]["web.map.regions_heading"] == messages.t("web.map.regions_heading", "uk")
    assert uk["texts"]["alert.threat.drones"] == "БпЛА"
    assert set(uk["templates"]["shelter_now"]) == {"uk", "en"}
    assert (await api.client.get("/ui/messages/de.json")).status_code == 404
    rows = (await api.client.get("/ui/regions.json")).json()
    assert rows["root"] == "UA"
    assert len(rows["regions"]) == len(api.runtime.registry)
    assert ["79", "14", "raion", "Броварський район", "Brovarskyi raion"] in rows["regions"]


async def test_preview_resolves_the_target_and_writes_nothing(api: Api) -> None:
    square = [[30.1, 50.2], [30.9, 50.2], [30.9, 50.7], [30.1, 50.7], [30.1, 50.2]]
    body = {"area": {"type": "Polygon", "coordinates": [square]}, "status": "exercise"}
    preview = await api.client.post("/ui/console/preview", json=body)
    assert preview.status_code == 200, preview.text
    alert = preview.json()["alert"]
    assert (alert["regions"], alert["partial_regions"]) == (["31"], ["14"])
    assert alert["headline"]["en"].startswith("EXERCISE")
    assert preview.json()["names"]["14"]["uk"] == "Київська область"
    cap = preview.json()["cap"]
    if cap is not None:  # servers that emit CAP show the message that would be sent
        assert 'xmlns="urn:oasis:names:tc:emergency:cap:1.2"' in cap
        assert "<status>Exercise</status>" in cap
    bad = await api.client.post("/ui/console/preview", json={"regions": ["99999"]})
    assert bad.status_code == 422
    assert (await api.client.get("/api/v1/alerts", params={"statuses": "all"})).json()["alerts"] == []


def test_the_projection_keeps_the_country_in_the_frame_and_enclaves_on_top() -> None:
    from sirena.regions import load_builtin

    view = build_map(load_builtin("ua"))
    order = [d.region.id for d in view.regions]
    assert order.index("31") > order.index("14")  # Kyiv city is drawn over Kyiv oblast
    assert order.index("30") > order.index("29")  # Sevastopol over Crimea
    for drawn in view.regions:
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", drawn.path)]
        xs, ys = numbers[0::2], numbers[1::2]
        assert min(xs) >= 0 and max(xs) <= view.width
        assert min(ys) >= 0 and max(ys) <= view.height
        assert 0 <= drawn.anchor[0] <= view.width and 0 <= drawn.anchor[1] <= view.height
    x, y = view.project(view.west, view.north)
    assert (x, y) == (0, 0)
