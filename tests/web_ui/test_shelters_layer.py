"""The shelters layer of the public map, in a real browser: off until asked for, marks with names, distances."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect
from web_ui_support import OpenPage, Site

pytestmark = pytest.mark.asyncio(loop_scope="session")  # one Chromium for the whole session

HERE = {"latitude": 50.4501, "longitude": 30.5234}  # central Kyiv


def point(ref: str, name: str, lon: float, lat: float) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": ref,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": name, "amenity": "shelter", "shelter_type": "bomb_shelter"},
    }


SHELTERS = {
    "type": "FeatureCollection",
    "features": [
        point("node/1", "Metro Khreshchatyk", 30.5225, 50.4475),  # about 300 m from HERE
        point("node/2", "School 57 basement", 30.5050, 50.4380),  # about 1.8 km
        point("node/3", "Lviv Opera underpass", 24.0262, 49.8440),  # another oblast
    ],
}


async def test_imported_shelters_appear_as_named_marks_with_distance_from_my_place(
    open_page: OpenPage, site: Site
) -> None:
    imported = await site.client.post(
        "/api/v1/shelters/import",
        params={"source": "city", "format": "geojson"},
        content=json.dumps(SHELTERS),
        headers=site.auth | {"Content-Type": "application/geo+json"},
    )
    assert imported.status_code == 200, imported.text

    page = await open_page("/")
    await page.wait_for_selector("body[data-lang]", state="attached")
    marks = page.locator("#map .shelter-mark")
    toggle = page.get_by_label("Show shelters")
    await expect(toggle).not_to_be_checked()
    await expect(marks).to_have_count(0)  # off until asked for: nothing fetched, nothing drawn

    await toggle.check()
    await expect(marks).to_have_count(3)  # no place set yet: the whole map
    await expect(page.get_by_role("listitem", name="Shelter: Metro Khreshchatyk")).to_have_count(1)
    await expect(page.get_by_role("listitem", name="Shelter: Lviv Opera underpass")).to_have_count(1)
    await expect(page.locator("#shelters-status")).to_have_text("Shelters shown: 3")

    # Located in Kyiv: the place is added, only shelters around it are asked for, each with its distance.
    await page.context.grant_permissions(["geolocation"], origin=site.base)
    await page.context.set_geolocation(HERE)
    await page.click("#locate")
    await expect(marks).to_have_count(2)
    near = await page.locator('#map .shelter-mark[data-shelter$="node/1"]').get_attribute("aria-label")
    far = await page.locator('#map .shelter-mark[data-shelter$="node/2"]').get_attribute("aria-label")
    assert near is not None and far is not None
    assert near.endswith(" m from my place") and 250 <= int(near.split(", ")[1].split(" ")[0]) <= 350, near
    assert far.endswith(" km from my place") and 1.5 <= float(far.split(", ")[1].split(" ")[0]) <= 2.2, far
    await expect(page.locator("#map .shelter-mark title").first).not_to_have_text("")

    # The choice is remembered, and the marks follow the language.
    await page.reload()
    await expect(page.get_by_label("Show shelters")).to_be_checked()
    await expect(marks).to_have_count(2)
    await page.click("#lang-switch")
    await expect(page.get_by_role("listitem", name="Укриття: Metro Khreshchatyk")).to_have_count(1)
    assert "від мого місця" in (await marks.first.get_attribute("aria-label") or "")
