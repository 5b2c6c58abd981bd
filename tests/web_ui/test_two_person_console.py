"""The two-person rule in the console: sign in with name and password, a request waits, another approver approves."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from web_ui_support import OpenPage, Site

from sirena.auth import accounts

pytestmark = pytest.mark.asyncio(loop_scope="session")  # one Chromium for the whole session

KYIV_OBLAST = "14"
KHARKIV = "22"
PASSWORD = "correct horse battery staple"


async def log_in(page: Any, name: str) -> None:
    await page.wait_for_selector("body[data-ready=true]", state="attached")
    await expect(page.locator("#login-form")).to_be_visible()
    await page.fill("#login-name", name)
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#console:not([hidden])")
    await page.wait_for_selector("#live[data-live=live]")


async def test_two_oblasts_wait_for_a_second_approver_then_the_map_turns_red(open_page: OpenPage, site: Site) -> None:
    rt = site.runtime
    for name in ("olena", "taras"):
        await accounts.add_user(
            rt.store, rt.registry, name, "approver", scopes=(KYIV_OBLAST, KHARKIV), password=PASSWORD
        )
    public = await open_page("/")
    await expect(public.locator("#live")).to_have_attribute("data-live", "live")

    requester = await open_page("/console")
    await log_in(requester, "olena")
    for region in (KYIV_OBLAST, KHARKIV):
        await requester.click(f'#cmap [data-region="{region}"]')
    await requester.check('input[name=threat][value="drones"]')
    await expect(requester.locator("#submit")).to_be_enabled()
    await requester.click("#submit")
    await requester.click("#confirm-yes")
    await expect(requester.locator("#form-message")).to_contain_text("Waiting for approval")
    waiting = requester.locator("#approval-list li")
    await expect(waiting).to_have_count(1)  # the requester sees their own request, and may not decide it
    await expect(waiting).to_contain_text("olena")
    await expect(waiting.locator("[data-action=approve]")).to_have_count(0)
    await expect(public.locator(f'#map [data-region="{KYIV_OBLAST}"]')).to_have_attribute("data-state", "calm")

    approver = await open_page("/console")
    await log_in(approver, "taras")
    pending = approver.locator("#approval-list li")
    await expect(pending).to_have_count(1)
    await expect(pending).to_contain_text("Kyiv Oblast")
    await expect(pending).to_contain_text("olena")
    await pending.locator("[data-action=approve]").click()
    await expect(approver.locator("#approvals")).to_be_hidden()
    await expect(requester.locator("#approvals")).to_be_hidden()  # decided: gone from the requester's list too

    for region in (KYIV_OBLAST, KHARKIV):
        shape = public.locator(f'#map [data-region="{region}"]')
        await expect(shape).to_have_attribute("data-state", "alert")
        await expect(shape).to_have_attribute("data-level", "red")
    listing = await site.client.get("/api/v1/approvals", params={"state": "approved"}, headers=site.auth)
    assert [a["requested_by"] for a in listing.json()["approvals"]] == ["olena"]
