"""Test helpers: a running Sirena (real SQLite, app in process) with helpers to add users and tokens."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sirena import testing
from sirena.auth import accounts, create_for
from sirena.runtime import Runtime

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"/problems/{slug}", body
    return body


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    admin: dict[str, str]
    """Headers with a token of the built-in administrator."""

    @property
    def registry(self) -> Any:
        return self.runtime.registry

    async def user(
        self,
        name: str,
        role: str,
        scopes: tuple[str, ...] = (),
        channels: tuple[str, ...] = (),
        password: str | None = None,
    ) -> dict[str, str]:
        """Add a user and give them a token; returns the Authorization header."""
        await accounts.add_user(
            self.runtime.store, self.registry, name, role, scopes=scopes, channels=channels, password=password
        )
        token, _ = await create_for(self.runtime.store, f"{name}-token", user=name)
        return {"Authorization": f"Bearer {token}"}

    async def issue(self, headers: dict[str, str], **body: Any) -> httpx.Response:
        body.setdefault("regions", ["31"])
        return await self.client.post("/api/v1/alerts", json=body, headers=headers)

    async def issued(self, **body: Any) -> dict[str, Any]:
        """An alert issued by the built-in administrator (which the two-person rule lets through)."""
        response = await self.issue(self.admin, **body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def raion(self, oblast: str, index: int = 0) -> str:
        return str(self.registry.children(oblast)[index].id)

    def hromada(self, raion: str, index: int = 0) -> str:
        return str(self.registry.children(raion)[index].id)


@contextlib.asynccontextmanager
async def world_at(folder: Path, **overrides: Any) -> AsyncIterator[World]:
    async with testing.api(folder, **overrides) as api:
        yield World(api.client, api.runtime, api.auth)
