from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from delivery_helpers import FAST_RETRIES

from sirena import testing


@pytest.fixture
async def hooks_api(tmp_path: Path) -> AsyncIterator[testing.Api]:
    """The app in process with webhooks to loopback allowed and quick retries."""
    async with testing.api(tmp_path, **FAST_RETRIES) as value:
        yield value
