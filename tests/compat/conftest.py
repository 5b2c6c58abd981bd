"""Fixtures for the compatible APIs: a real Sirena on an ephemeral port (see ``compat_live``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from compat_live import Live, live_server


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with live_server(tmp_path) as server:
        yield server
