"""The public map and the operator console in a real browser: issue in one page, see it in another."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from web_ui_support import OpenPage, Site, open_token_form, screenshot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")  # one Chromium for the whole session

KYIV_OBLAST = "14"
KHARKIV = "22"
LVIV = "27"
BROVARY_RAION = "79"


async def live_map(open_page: OpenPage, path: str = "/", **kwargs: object) -> object:
    page = await open_page(path, **kwargs)
    await expect(page.locator("#live")).to_have_attribute("data-live", "live")
    return page


async def test_operator_issues_in_console_and_the_public_map_turns_red_then_clears(
    open_page: OpenPage, site: Site, tmp_path: Path
) -> None:
    public = await live_map(open_page)
    region = public.locator(f'#map [data-region="{KYIV_OBLAST}"]')
    await expect(region).to_have_attribute("data-state", "calm")

    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.click(f'#cmap [data-region="{KYIV_OBLAST}"]')
    await console.check('input[name=threat][value="ballistic_missiles"]')
    await console.check('input[name=threat][value="drones"]')
    await console.select_option("#template", "shelter_now")
    await console.select_option("#shelter", "90")
    preview = console.locator("#preview .preview-card")
    await expect(preview).to_contain_text("Kyiv Oblast")
    await expect(preview).to_contain_text("Go to the nearest shelter now")
    await expect(console.locator("#submit")).to_be_enabled()
    await screenshot(console, "console", tmp_path)
    await console.click("#submit")
    await expect(console.locator("#confirm")).to_be_visible()
    await expect(console.locator("#confirm-ex")).to_be_hidden()
    await console.click("#confirm-yes")

    # The public page hears it from the stream: red within 2 s, with the threats listed beside the map.
    await expect(region).to_have_attribute("data-state", "alert", timeout=2000)
    await expect(region).to_have_attribute("data-level", "red")
    listed = public.locator(f'#region-list li[data-region="{KYIV_OBLAST}"]')
    await expect(listed).to_contain_text("ballistic missiles")
    await expect(listed).to_contain_text("drones")
    await expect(public.locator(f'#map .badge[data-for="{KYIV_OBLAST}"]')).to_have_count(1)
    await expect(public.locator("#alert-list")).to_contain_text("Time to shelter: 90 s")
    await expect(public.locator("#exercise-banner")).to_be_hidden()
    await screenshot(public, "map", tmp_path)

    item = console.locator("#active li[data-status=actual]")
    await expect(item).to_have_count(1)
    await item.locator("[data-action=end]").click()
    await expect(console.locator("#confirm-text")).to_contain_text("End this alert")
    await console.click("#confirm-yes")
    await expect(region).to_have_attribute("data-state", "calm", timeout=2000)
    await expect(public.locator("#region-list")).to_contain_text("All regions are calm")
    await expect(console.locator("#active")).to_contain_text("No active alerts")


async def test_partly_covered_and_yellow_regions_are_drawn_apart(open_page: OpenPage, site: Site) -> None:
    await site.issue(regions=[BROVARY_RAION], threats=[{"type": "drones"}])
    await site.issue(regions=[KHARKIV], level="yellow")
    page = await live_map(open_page)
    kyiv = page.locator(f'#map [data-region="{KYIV_OBLAST}"]')
    await expect(kyiv).to_have_attribute("data-state", "partly")
    fill = await kyiv.evaluate("el => getComputedStyle(el).fill")
    assert "hatch-red" in fill
    kharkiv = page.locator(f'#map [data-region="{KHARKIV}"]')
    await expect(kharkiv).to_have_attribute("data-level", "yellow")
    colours = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#map .region')].map(
             el => [el.dataset.region, getComputedStyle(el).fill]))"""
    )
    assert colours[KHARKIV] != colours[LVIV] != colours[KYIV_OBLAST]
    # The alert names a raion, which is not drawn: the list still names it.
    await expect(page.locator("#alert-list")).to_contain_text("Brovarskyi raion")


async def test_exercises_show_only_when_asked_and_always_under_the_banner(
    open_page: OpenPage, site: Site, tmp_path: Path
) -> None:
    await site.issue(regions=[LVIV], status="exercise")
    plain = await live_map(open_page)
    await expect(plain.locator(f'#map [data-region="{LVIV}"]')).to_have_attribute("data-state", "calm")
    await expect(plain.locator("#exercise-banner")).to_be_hidden()

    asked = await live_map(open_page, "/?exercises=1")
    lviv = asked.locator(f'#map [data-region="{LVIV}"]')
    await expect(lviv).to_have_attribute("data-state", "alert")
    await expect(lviv).to_have_attribute("data-exercise", "true")
    await expect(asked.locator("#summary")).to_have_text("EXERCISE: Alert in 1 of 27 regions.")
    await expect(asked.locator("#exercise-banner")).to_be_visible()
    await expect(asked.locator("#exercise-banner")).to_contain_text("EXERCISE")
    await expect(asked.locator('#alert-list [data-status="exercise"]')).to_contain_text("EXERCISE")

    # The viewer can switch exercises off again; the choice reconnects the stream.
    await asked.uncheck("#show-exercises")
    await expect(lviv).to_have_attribute("data-state", "calm")
    await expect(asked.locator("#exercise-banner")).to_be_hidden()

    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.check("input[name=status][value=exercise]", force=True)
    await expect(console.locator("body")).to_have_class("page-console exercise")
    await expect(console.locator("#exercise-banner")).to_be_visible()
    await console.click(f'#cmap [data-region="{KHARKIV}"]')
    await expect(console.locator("#preview")).to_contain_text("EXERCISE")
    await console.click("#submit")
    await expect(console.locator("#confirm-ex")).to_be_visible()
    await expect(console.locator("#confirm-text")).to_contain_text("EXERCISE")
    await screenshot(console, "console-exercise", tmp_path, full_page=False)
    await console.click("#confirm-yes")
    await expect(console.locator("#active li[data-status=exercise] >> text=Kharkiv Oblast")).to_have_count(1)


async def test_the_map_recovers_by_itself_after_the_stream_is_cut(open_page: OpenPage, site: Site) -> None:
    page = await live_map(open_page)
    site.runtime.hub.close()  # every stream ends, as when a proxy or the network drops it
    await site.issue(regions=[KHARKIV])
    await expect(page.locator(f'#map [data-region="{KHARKIV}"]')).to_have_attribute(
        "data-state", "alert", timeout=10_000
    )
    await expect(page.locator("#live")).to_have_attribute("data-live", "live")


async def test_ukrainian_and_english_switch_and_the_choice_is_kept(open_page: OpenPage, site: Site) -> None:
    await site.issue(regions=[KHARKIV], threats=[{"type": "guided_aerial_bombs"}])
    page = await live_map(open_page)
    await expect(page.locator("#regions-heading")).to_have_text("Regions under alert")
    await expect(page.locator("#region-list")).to_contain_text("guided aerial bombs")
    await page.click("#lang-switch")
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.locator("#regions-heading")).to_have_text("Регіони під тривогою")
    await expect(page.locator("#region-list")).to_contain_text("керовані авіабомби")
    await expect(page.locator(f'#map [data-region="{KHARKIV}"] title')).to_have_text("Харківська область")
    await page.reload()
    await expect(page.locator("#region-list")).to_contain_text("Харківська область")
    await expect(page.locator("#lang-switch")).to_have_text("English")


async def test_server_rendered_page_is_in_the_visitors_language(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/", locale="uk-UA")
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.locator("#summary")).to_have_text("Зараз ніде немає повітряної тривоги.")


TO_SCREEN = """([lon, lat]) => {
  const svg = document.getElementById('cmap');
  const [west, north, kx, scale] = svg.dataset.projection.split(',').map(Number);
  const point = svg.createSVGPoint();
  point.x = (lon - west) * kx * scale;
  point.y = (north - lat) * scale;
  const p = point.matrixTransform(svg.getScreenCTM());
  return [p.x, p.y];
}"""


async def test_an_area_drawn_on_the_console_map_becomes_the_alerts_target(open_page: OpenPage, site: Site) -> None:
    public = await live_map(open_page)
    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.click("#draw")
    await expect(console.locator("#draw")).to_have_attribute("aria-pressed", "true")
    # A square around Kyiv city, well inside Kyiv oblast, crossing no other oblast.
    for corner in ([30.1, 50.2], [30.9, 50.2], [30.9, 50.7], [30.1, 50.7]):
        x, y = await console.evaluate(TO_SCREEN, corner)
        await console.mouse.click(x, y)
    await console.click("#draw-finish")
    await expect(console.locator("#selected")).to_contain_text("Area with 4 corners")
    preview = console.locator("#preview .preview-card")
    await expect(preview).to_contain_text("Kyiv")  # Kyiv city covered
    await expect(preview).to_contain_text("In part: Kyiv Oblast")
    request = await console.locator("#request").text_content()
    assert '"type": "Polygon"' in (request or "")
    await console.click("#submit")
    await console.click("#confirm-yes")
    await expect(public.locator('#map [data-region="31"]')).to_have_attribute("data-state", "alert", timeout=2000)
    await expect(public.locator(f'#map [data-region="{KYIV_OBLAST}"]')).to_have_attribute("data-state", "partly")
    listed = await site.client.get("/api/v1/alerts")
    (alert,) = listed.json()["alerts"]
    assert alert["area"]["type"] == "Polygon"
    assert alert["regions"] == ["31"] and alert["partial_regions"] == [KYIV_OBLAST]


async def test_my_places_are_marked_listed_first_and_kept(open_page: OpenPage, site: Site) -> None:
    await site.issue(regions=[KHARKIV], threats=[{"type": "ballistic_missiles"}])
    page = await live_map(open_page)
    await page.select_option("#place-pick", KHARKIV)
    await page.click("#place-add")
    await page.select_option("#place-pick", LVIV)
    await page.click("#place-add")
    places = page.locator("#places li")
    await expect(places).to_have_count(2)
    await expect(places.nth(0)).to_contain_text("Kharkiv Oblast")
    await expect(places.nth(0)).to_contain_text("ballistic missiles")
    await expect(places.nth(1)).to_contain_text("no alert")
    await expect(page.locator(f'#map [data-region="{LVIV}"]')).to_have_attribute("data-place", "true")
    await page.reload()
    await expect(page.locator("#places li")).to_have_count(2)
    await page.click(f'#places li[data-region="{LVIV}"] button')
    await expect(page.locator("#places li")).to_have_count(1)
    await expect(page.locator(f'#map [data-region="{LVIV}"]')).to_have_attribute("data-place", "false")
    # The notification button shows only when the server has Web Push.
    push = await site.client.get("/api/v1/push/key")
    notify = expect(page.locator("#notify"))
    await (notify.to_be_visible() if push.status_code == 200 else notify.to_be_hidden())


async def test_operator_updates_an_alert_then_cancels_it(open_page: OpenPage, site: Site) -> None:
    alert = await site.issue(regions=[KHARKIV], threats=[{"type": "drones"}])
    public = await live_map(open_page)
    kharkiv = public.locator(f'#map [data-region="{KHARKIV}"]')
    await expect(kharkiv).to_have_attribute("data-level", "red")
    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.locator(f'#active li[data-alert="{alert["id"]}"] [data-action=edit]').click()
    await expect(console.locator("#form-heading")).to_have_text("Update alert")
    await expect(console.locator('input[name=threat][value="drones"]')).to_be_checked()
    await console.check('input[name=level][value="yellow"]')
    await console.check('input[name=threat][value="guided_aerial_bombs"]')
    await expect(console.locator("#preview .preview-card")).to_contain_text("guided aerial bombs")
    await console.click("#submit")
    await expect(console.locator("#confirm-text")).to_contain_text("Save these changes")
    await console.click("#confirm-yes")
    await expect(kharkiv).to_have_attribute("data-level", "yellow", timeout=2000)
    await expect(public.locator(f'#region-list li[data-region="{KHARKIV}"]')).to_contain_text("guided aerial bombs")
    stored = (await site.client.get(f"/api/v1/alerts/{alert['id']}")).json()
    assert (stored["version"], stored["level"], stored["regions"]) == (2, "yellow", [KHARKIV])

    await console.locator(f'#active li[data-alert="{alert["id"]}"] [data-action=cancel]').click()
    await expect(console.locator("#confirm-text")).to_contain_text("issued in error")
    await console.click("#confirm-no")  # going back changes nothing
    await expect(kharkiv).to_have_attribute("data-state", "alert")
    await console.locator(f'#active li[data-alert="{alert["id"]}"] [data-action=cancel]').click()
    await console.click("#confirm-yes")
    await expect(kharkiv).to_have_attribute("data-state", "calm", timeout=2000)
    assert (await site.client.get(f"/api/v1/alerts/{alert['id']}")).json()["state"] == "cancelled"


async def test_the_console_refuses_a_wrong_token_and_forgets_on_sign_out(open_page: OpenPage, site: Site) -> None:
    console = await open_page("/console")
    await open_token_form(console)
    await console.fill("#token", "sir_not-a-real-token")
    await console.click("#signin-form button[type=submit]")
    await expect(console.locator("#signin-error")).to_have_text("This token was not accepted.")
    await expect(console.locator("#console")).to_be_hidden()
    await sign_in(console, site.token)
    await console.reload()  # the token lasts for the tab
    await expect(console.locator("#console")).to_be_visible()
    await console.click("#signout")
    await expect(console.locator("#signin")).to_be_visible()
    await expect(console.locator("#console")).to_be_hidden()


async def test_a_visitor_adds_the_place_where_they_are(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/")
    await page.context.grant_permissions(["geolocation"])
    await page.context.set_geolocation({"latitude": 50.45, "longitude": 30.52})  # central Kyiv
    await page.click("#locate")
    await expect(page.locator("#places li")).to_have_count(1)
    await expect(page.locator("#places li")).to_contain_text("Kyiv")
    await expect(page.locator('#places li[data-region="31"]')).to_have_count(1)  # the city, not the oblast


async def test_an_alert_in_the_console_keeps_its_buttons_while_another_alert_comes_and_goes(
    open_page: OpenPage, site: Site
) -> None:
    kharkiv = await site.issue(regions=[KHARKIV], threats=[{"type": "drones"}])
    console = await open_page("/console")
    await sign_in(console, site.token)
    item = console.locator(f'#active li[data-alert="{kharkiv["id"]}"]')
    await expect(item.get_by_role("link")).to_have_text("CAP message")  # drawn once more when CAP is found served
    cancel = await item.locator("[data-action=cancel]").element_handle()
    lviv = await site.issue(regions=[LVIV], threats=[{"type": "drones"}])
    await expect(console.locator(f'#active li[data-alert="{lviv["id"]}"]')).to_be_visible()
    assert await cancel.evaluate("button => button.isConnected")  # the same button: a press on it is not lost
    await cancel.click()
    await expect(console.locator("#confirm-text")).to_contain_text("issued in error")
    await console.click("#confirm-no")
    changed = await site.client.patch(f"/api/v1/alerts/{kharkiv['id']}", json={"level": "yellow"}, headers=site.auth)
    assert changed.status_code == 200, changed.text
    await expect(item).to_have_attribute("data-version", "2")  # a changed alert is drawn anew, with its new state
    assert not await cancel.evaluate("button => button.isConnected")
