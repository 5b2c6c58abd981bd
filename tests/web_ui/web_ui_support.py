"""Helpers for the browser tests: Debian's Chromium driven by Playwright against a real Sirena on an ephemeral port.

Every request the page makes to anything but that server is blocked and recorded, and each test ends by
checking that none was attempted and that no script error happened. Without Chromium (``apt-get install
chromium``) or the ``playwright`` package these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sirena.runtime import Runtime

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required for the browser tests")
    pytest.skip(f"{what} is not installed")


def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        missing("Debian's chromium (apt-get install chromium)")
    assert path is not None
    return path


@dataclass
class Site:
    """A running Sirena: its base URL, runtime, an operator token and an HTTP client for setting up state."""

    base: str
    runtime: Runtime
    token: str
    client: httpx.AsyncClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def issue(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/alerts", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def end(self, alert_id: str) -> None:
        response = await self.client.post(f"/api/v1/alerts/{alert_id}/end", headers=self.auth)
        assert response.status_code == 200, response.text


OpenPage = Callable[..., Awaitable[Any]]


@dataclass
class Guard:
    """What a page tried that it should not have: requests off the server, script errors."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def screenshot(page: Any, name: str, tmp_path: Path, *, full_page: bool = True) -> Path:
    """Write a screenshot; into ``docs/screenshots`` when ``SIRENA_SCREENSHOTS=1`` (how the docs get theirs)."""
    folder = SCREENSHOTS if os.environ.get("SIRENA_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    await page.screenshot(path=str(target), full_page=full_page)
    assert target.stat().st_size > 10_000
    return target


async def sign_in(page: Any, token: str) -> None:
    """Sign in to the console with ``token`` (the access-token way, open it when name and password are offered)."""
    await open_token_form(page)
    await page.fill("#token", token)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#console:not([hidden])")
    await page.wait_for_selector("#live[data-live=live]")


async def open_token_form(page: Any) -> None:
    await page.wait_for_selector("body[data-ready=true]", state="attached")
    if not await page.locator("#token").is_visible():
        await page.click("#token-way summary")


def stats_body(url: str) -> dict[str, Any]:
    """A ``/api/v1/stats`` answer in its documented shape, for dashboards tests while a server has no history:
    a deterministic pattern with more alerts at night and in winter, so every chart has something to draw."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    start = datetime.fromisoformat(query["from"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(query["to"]).replace(tzinfo=UTC)
    group = query.get("group", "day")
    seed = sum(map(ord, query.get("region", "UA")))
    buckets = []
    moment = start
    while moment < end:
        if group == "hour":
            following = moment + timedelta(hours=1)
            night = moment.hour < 6 or moment.hour >= 22
            alerts = int((moment.toordinal() * 7 + moment.hour * 13 + seed) % (5 if night else 17) == 0)
            minutes = 35.0 * alerts
        elif group == "day":
            following = moment + timedelta(days=1)
            alerts = (moment.toordinal() * 3 + seed) % 7 + (4 if moment.month in (12, 1, 2) else 0)
            minutes = alerts * 52.0
        else:
            following = (moment.replace(day=1) + timedelta(days=32)).replace(day=1)
            alerts = (moment.month * 5 + seed) % 40 + 20
            minutes = alerts * (40.0 + seed % 30)
        buckets.append({"start": moment.isoformat(), "alerts": alerts, "minutes": minutes})
        moment = following
    return {
        "region": query.get("region"),
        "group": group,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "total": {"alerts": sum(b["alerts"] for b in buckets), "minutes": sum(b["minutes"] for b in buckets)},
        "buckets": buckets,
    }
