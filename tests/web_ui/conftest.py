"""Fixtures for the browser tests (see ``web_ui_support``): a running Sirena, Chromium, and guarded pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from web_ui_support import CHROMIUM_ARGS, Guard, OpenPage, Site, chromium_path, missing

from sirena import auth, testing


@pytest_asyncio.fixture(loop_scope="session")
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        token, _ = await auth.create(rt.store, "operator")
        async with testing.serve(rt) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield Site(base, rt, token, client)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package (pip install -e '.[dev]')")
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Any, site: Site) -> AsyncIterator[OpenPage]:
    """``await open_page(path, width=…, height=…, locale=…)``: a fresh browser context on ``site``, with every
    request elsewhere blocked. At the end: no foreign request was attempted and no script error happened."""
    guards: list[Guard] = []
    contexts: list[Any] = []

    async def open_(path: str = "/", *, width: int = 1360, height: int = 900, locale: str = "en-GB") -> Any:
        guard = Guard(site.base)
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale=locale, timezone_id="Europe/Kyiv"
        )
        contexts.append(context)

        async def gate(route: Any) -> None:
            if route.request.url.startswith(site.base + "/"):
                await route.continue_()
            else:
                guard.foreign.append(route.request.url)
                await route.abort()

        await context.route("**/*", gate)
        page = await context.new_page()
        page.on("pageerror", lambda error: guard.errors.append(str(error)))
        guards.append(guard)
        await page.goto(site.base + path)
        return page

    yield open_
    for context in contexts:
        await context.close()
    for guard in guards:
        assert guard.foreign == [], f"requests outside Sirena: {guard.foreign}"
        assert guard.errors == [], f"script errors: {guard.errors}"
