"""The advisories layer of the public map, in a real browser: a public pre-alert outlined and listed, a movement
report drawn as an arrow, the all-clear shown when the alert ends, all live; a channel's advisory never appears."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from web_ui_support import OpenPage, Site, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")  # one Chromium for the whole session


async def post(site: Site, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await site.client.post(path, json=body, headers=site.auth)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_advisories_reports_and_the_all_clear_on_the_map(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/")
    await expect(page.locator("#live")).to_have_attribute("data-live", "live")
    items = page.locator("#advisory-list li")
    await expect(items).to_have_text(["No advisories now."])

    await post(site, "/api/v1/channels", {"id": "embassy-ca-kyiv", "name": "Embassy", "languages": ["en"]})
    await post(
        site,
        "/api/v1/advisories",
        {"channel": "embassy-ca-kyiv", "type": "closure", "headline": {"en": "The Embassy is closed"}},
    )
    pre = await post(
        site,
        "/api/v1/advisories",
        {
            "type": "pre_alert",
            "regions": ["14"],
            "headline": {"en": "A massive attack is expected tonight", "uk": "Вночі очікується масована атака"},
        },
    )
    await expect(page.locator(f'#map .advisory-area[data-for="{pre["id"]}"]')).to_have_count(1)
    await expect(items).to_have_count(1)  # the embassy's advisory is for its channel only
    await expect(items.first).to_contain_text("Attack likely soon: A massive attack is expected tonight")

    alert = await site.issue(regions=["14"], threats=[{"type": "drones"}])
    report = await post(
        site,
        "/api/v1/reports",
        {
            "alert_id": alert["id"],
            "kind": "movement",
            "threat": "drones",
            "count": 7,
            "region": "14",
            "target_region": "31",
        },
    )
    arrow = page.locator(f'#map .report-arrow[data-report="{report["id"]}"]')
    await expect(arrow).to_have_attribute("aria-label", "Drones: 7 over Kyiv Oblast, heading for Kyiv")
    await expect(page.locator(f'#advisory-list [data-report="{report["id"]}"]')).to_have_count(1)

    await post(site, f"/api/v1/alerts/{alert['id']}/end", {"all_clear": True}, status=200)
    await expect(arrow).to_have_count(0)  # reports of ended alerts leave the map
    clear = page.locator(f'#advisory-list [data-all-clear="{alert["id"]}"]')
    await expect(clear).to_contain_text("All clear: Air-raid alert")
    await expect(page.locator(f'#map .all-clear-area[data-for="{alert["id"]}"]')).to_have_count(1)

    await page.click("#lang-switch")
    await expect(items.first).to_contain_text("Ймовірна атака найближчим часом: Вночі очікується масована атака")
    await expect(clear).to_contain_text("Відбій: Повітряна тривога")

    again = await site.issue(regions=["14"])  # a new alert there: the all-clear no longer shows over it
    await expect(page.locator('#map [data-region="14"]').first).to_have_attribute("data-state", "alert")
    await expect(page.locator(f'#map .all-clear-area[data-for="{alert["id"]}"]')).to_have_count(0)
    await expect(clear).to_have_count(0)
    await post(site, f"/api/v1/alerts/{again['id']}/end", {}, status=200)  # and its own all-clear takes over
    await expect(page.locator(f'#map .all-clear-area[data-for="{again["id"]}"]')).to_have_count(1)
    await expect(page.locator(f'#map .all-clear-area[data-for="{alert["id"]}"]')).to_have_count(1)


async def test_ending_from_the_console_sends_the_all_clear(open_page: OpenPage, site: Site) -> None:
    public = await open_page("/")
    await expect(public.locator("#live")).to_have_attribute("data-live", "live")
    alert = await site.issue(regions=["27"])
    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.locator(f'#active li[data-alert="{alert["id"]}"] [data-action=end]').click()
    await console.click("#confirm-yes")
    clear = public.locator(f'#advisory-list [data-all-clear="{alert["id"]}"]')
    await expect(clear).to_contain_text("All clear: Air-raid alert")
    await expect(clear).to_contain_text("The alert has ended: Lviv Oblast. The danger is over.")
    assert (await site.client.get(f"/api/v1/alerts/{alert['id']}/all-clear")).status_code == 200
