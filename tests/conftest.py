"""Shared fixtures. Tests that read ``../shared/data`` use ``shared_data`` and fail (not skip) in CI without it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sirena import testing

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path() -> Path:
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing at {SHARED}")
        pytest.skip(f"shared data missing at {SHARED}")
    return SHARED


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[testing.Api]:
    async with testing.api(tmp_path) as value:
        yield value
