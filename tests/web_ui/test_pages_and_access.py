"""History dashboards, basic accessibility (names, contrast, keyboard) and small screens, in a real browser."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from web_ui_support import OpenPage, Site, open_token_form, screenshot, sign_in, stats_body

from sirena.history.archive import History
from sirena.history.importer import HistoryFile

pytestmark = pytest.mark.asyncio(loop_scope="session")  # one Chromium for the whole session

KHARKIV = "22"

# Every visible control must have an accessible name.
UNNAMED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button, a[href], [role=checkbox]')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => {
    const by = el.getAttribute('aria-labelledby');
    const name = el.getAttribute('aria-label') || (by && document.getElementById(by)?.textContent)
      || (el.labels && [...el.labels].map(l => l.textContent).join(' ')) || el.title
      || (['BUTTON', 'A'].includes(el.tagName) ? el.textContent : '');
    return !(name || '').trim();
  })
  .map(el => el.outerHTML.slice(0, 120))"""

# Text whose contrast with its background is under WCAG AA (4.5:1, or 3:1 for large text).
LOW_CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== 'none') return null;  // stripes and gradients: checked by eye
      const c = rgb(style.backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg, option, select, noscript') || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || +style.opacity < 1 || el.closest('[disabled]')) continue;
    const bg = background(el);
    if (!bg) continue;
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return out;
}"""


async def stats_stand_in(page: Any) -> None:
    """Answer ``/api/v1/stats`` in its documented shape when this server has none."""

    async def answer(route: Any) -> None:
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(stats_body(route.request.url)))

    await page.route("**/api/v1/stats?*", answer)


async def has_stats(site: Site) -> bool:
    probe = await site.client.get("/api/v1/stats", params={"region": "UA", "from": "2024-01-01", "to": "2024-01-02"})
    return probe.status_code != 404


async def test_history_dashboards_draw_every_chart(open_page: OpenPage, site: Site, tmp_path: Path) -> None:
    for region in (KHARKIV, "14", "27"):
        alert = await site.issue(regions=[region])
        await site.end(alert["id"])
    page = await open_page("/console")  # any page, to get a guarded context
    await stats_stand_in(page)  # the same shape as the real statistics, with a year of made-up data
    await page.goto(site.base + "/history")
    for chart in ("days", "months", "durations", "heat"):
        await expect(page.locator(f"#chart-{chart} svg[role=img]")).to_have_count(1)
        await expect(page.locator(f"#chart-{chart} details table")).to_have_count(1)
    # Durations come from real ended alerts: three short ones.
    await page.click("#chart-durations summary")
    await expect(page.locator("#chart-durations tbody tr").first).to_contain_text("3")
    await expect(page.locator("#total")).to_contain_text("alerts")
    await screenshot(page, "history", tmp_path)


async def test_history_reads_the_servers_statistics_or_says_it_has_none(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/history")
    if await has_stats(site):
        await expect(page.locator("#total")).to_contain_text("0 alerts, 0 hours under alert")
        await expect(page.locator("#chart-days")).to_contain_text("No alerts in this period")
        await expect(page.locator("#unavailable")).to_be_hidden()
    else:
        await expect(page.locator("#unavailable")).to_be_visible()
        await expect(page.locator("#chart-days")).to_be_hidden()


RECORD = "\n".join(
    [
        "oblast,raion,hromada,level,started_at,finished_at",
        "Kharkivska oblast,,,oblast,2023-02-14 10:00:00+00:00,2023-02-14 11:30:00+00:00",
        "Kyivska oblast,,,oblast,2023-05-02 01:00:00+00:00,2023-05-02 02:00:00+00:00",
        "Odeska oblast,,,oblast,2023-08-20 21:30:00+00:00,2023-08-20 23:00:00+00:00",  # 21 August in Kyiv
    ]
).encode()


async def test_history_opens_on_the_last_year_of_an_older_record(open_page: OpenPage, site: Site) -> None:
    await History(site.runtime.store, site.runtime.registry).import_files([HistoryFile("official.csv", RECORD)])
    page = await open_page("/history")
    # Nothing in the last 12 months: the 12 months up to the newest alert on record instead, and a line saying so.
    await expect(page.locator("#moved")).to_have_text(
        "No alerts in the last 12 months: showing the 12 months up to the newest alert on record, 21 August 2023."
    )
    await expect(page.locator("#from")).to_have_value("2022-08-01")
    await expect(page.locator("#to")).to_have_value("2023-08-22")
    window = {"region": "UA", "from": "2022-08-01", "to": "2023-08-22", "tz": "Europe/Kyiv", "descendants": "true"}
    days = (await site.client.get("/api/v1/stats", params=window)).json()
    assert days["total"]["alerts"] == 4  # the three rows and Crimea's long-running alert (since December 2022)
    await expect(page.locator("#total")).to_have_text(
        f"4 alerts, {round(days['total']['minutes'] / 60):,} hours under alert"
    )
    await expect(page.locator("#chart-days svg[role=img]")).to_have_count(1)
    # Durations of the same alerts: three of 1–2 hours, and Crimea's, open until the record's last end.
    await page.click("#chart-durations summary")
    await expect(page.locator("#chart-durations tbody td:nth-child(2)")).to_have_text(list("00030001"))
    await page.click("#lang-switch")
    await expect(page.locator("#moved")).to_contain_text("12 місяців до найновішої тривоги в записі, 21 серпня 2023")
    # A window of the user's own choosing is shown as asked, without the line.
    await page.fill("#from", "2023-01-01")
    await page.click("#controls button[type=submit]")
    await expect(page.locator("#moved")).to_be_hidden()
    await expect(page.locator("#total")).to_have_text(re.compile(r"^3 тривог, "))


async def test_every_control_is_named_and_text_has_enough_contrast(open_page: OpenPage, site: Site) -> None:
    await site.issue(regions=[KHARKIV], threats=[{"type": "drones"}], instruction={"en": "Go to a shelter"})
    await site.issue(regions=["27"], status="exercise")
    public = await open_page("/?exercises=1")
    await expect(public.locator(f'#region-list li[data-region="{KHARKIV}"]')).to_have_count(1)
    console = await open_page("/console")
    await sign_in(console, site.token)
    await console.click(f'#cmap [data-region="{KHARKIV}"]')
    await expect(console.locator("#preview .preview-card")).to_have_count(1)
    history = await open_page("/history")
    await stats_stand_in(history)
    await history.reload()
    await expect(history.locator("#chart-heat svg")).to_have_count(1)
    for page in (public, console, history):
        assert await page.evaluate(UNNAMED_CONTROLS) == [], page.url
        assert await page.evaluate(LOW_CONTRAST) == [], page.url
        assert await page.evaluate("document.documentElement.lang") in {"en", "uk"}
        assert await page.locator("svg.map[role=img] > title, svg[role=img][aria-label]").count() >= (
            0 if page is history else 1
        )


async def test_the_map_and_console_work_from_the_keyboard(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "lang-switch":
            break
    assert await page.evaluate("document.activeElement.id") == "lang-switch"
    await page.keyboard.press("Enter")  # at once: a press while the texts are still loading counts too
    await expect(page.locator("html")).to_have_attribute("lang", "uk")

    console = await open_page("/console")
    await open_token_form(console)
    await console.focus("#token")
    await console.keyboard.type(site.token)
    await console.keyboard.press("Enter")
    await expect(console.locator("#console")).to_be_visible()
    region = console.locator(f'#cmap [data-region="{KHARKIV}"]')
    await region.focus()
    await console.keyboard.press("Space")
    await expect(region).to_have_attribute("aria-checked", "true")
    await console.focus("#search")
    await console.keyboard.type("Бровар")
    await expect(console.locator("#search-results button").first).to_contain_text("Brovarskyi raion")
    await console.keyboard.press("Tab")
    await console.keyboard.press("Enter")
    await expect(console.locator("#selected")).to_contain_text("Brovarskyi raion")
    await expect(console.locator("#preview")).to_contain_text("Brovarskyi raion")
    await expect(console.locator("#submit")).to_be_enabled()
    await console.locator("#submit").focus()
    await console.keyboard.press("Enter")
    await expect(console.locator("#confirm")).to_be_visible()
    await console.keyboard.press("Escape")  # the dialog closes without issuing anything
    await expect(console.locator("#confirm")).to_be_hidden()
    listed = await site.client.get("/api/v1/alerts", params={"statuses": "all"})
    assert listed.json()["alerts"] == []


async def test_a_phone_screen_gets_the_whole_page_without_sideways_scrolling(
    open_page: OpenPage, site: Site, tmp_path: Path
) -> None:
    await site.issue(regions=[KHARKIV], threats=[{"type": "ballistic_missiles"}])
    page = await open_page("/", width=390, height=844)
    await expect(page.locator(f'#map [data-region="{KHARKIV}"]')).to_have_attribute("data-state", "alert")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = await page.locator("#map").bounding_box()
    assert box is not None and box["width"] > 300
    await screenshot(page, "map-phone", tmp_path)


async def test_the_language_switch_works_while_the_texts_are_still_loading(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/")
    context = page.context
    held: list[Any] = []

    async def slow(route: Any) -> None:  # the first texts of a page arrive late, as on a slow network
        held.append(route)
        await asyncio.sleep(0.5)
        await route.continue_()

    await context.route("**/ui/messages/*.json", slow)
    await page.reload()
    await page.click("#lang-switch")  # before the texts are in
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    assert held  # the texts were indeed held back


async def test_two_presses_of_the_language_switch_take_turns(open_page: OpenPage, site: Site) -> None:
    page = await open_page("/")
    # the first load's texts are in before the slow route goes up, so it sees only the reload and the presses
    await expect(page.locator("#lang-switch")).to_have_attribute("aria-label", re.compile("."))
    asked: list[str] = []

    async def slow(route: Any) -> None:
        asked.append(route.request.url.rsplit("/", 1)[-1])
        await asyncio.sleep(0.3)
        await route.continue_()

    await page.context.route("**/ui/messages/*.json", slow)
    await page.reload()
    await page.click("#lang-switch")
    await page.click("#lang-switch")  # while the first press is still waiting: to Ukrainian and back
    for _ in range(100):  # the second turn ends with English loaded again
        if len(asked) == 3 and await page.evaluate("document.documentElement.lang") == "en":
            break
        await asyncio.sleep(0.05)
    assert asked == ["en.json", "uk.json", "en.json"]
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert await page.evaluate("localStorage.getItem('sirena.lang')") == "en"
