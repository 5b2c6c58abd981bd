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


async def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Write a screenshot; into ``docs/screenshots`` when ``SIRENA_SCREENSHOTS=1`` (how the docs get theirs)."""
    folder = SCREENSHOTS if os.environ.get("SIRENA_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    await page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    return target


async def sign_in(page: Any, token: str) -> None:
    await page.fill("#token", token)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#console:not([hidden])")
    await page.wait_for_selector("#live[data-live=live]")
