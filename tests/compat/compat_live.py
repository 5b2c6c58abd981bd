"""A real Sirena on an ephemeral port with a fake clock, and helpers to issue alerts through the native API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sirena import auth, testing
from sirena.runtime import Runtime

AIU = "/compat/alerts-in-ua"
UAA = "/compat/ukrainealarm"


@dataclass
class Live:
    runtime: Runtime
    base: str
    token: str
    clock: testing.FakeClock

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def issue(self, regions: list[str], **fields: Any) -> dict[str, Any]:
        """Issue an alert through the native API, one second after the previous change."""
        self.clock.advance(1)
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post("/api/v1/alerts", json={"regions": regions, **fields}, headers=self.auth)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def act(self, alert_id: str, action: str) -> dict[str, Any]:
        """``end`` or ``cancel`` an alert through the native API."""
        self.clock.advance(1)
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post(f"/api/v1/alerts/{alert_id}/{action}", headers=self.auth)
        assert response.status_code == 200, response.text
        done: dict[str, Any] = response.json()
        return done

    async def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base) as client:
            return await client.get(path, headers=headers)


@contextlib.asynccontextmanager
async def live_server(folder: Path, **overrides: Any) -> AsyncIterator[Live]:
    clock = testing.FakeClock()
    async with testing.running(testing.settings_for(folder, **overrides), clock=clock) as rt:
        token, _ = await auth.create(rt.store, "compat")
        async with testing.serve(rt) as base:
            yield Live(rt, base, token, clock)
