"""Fixtures for the region tests: the built-in Ukrainian registry and the shared source data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sirena.regions import RegionRegistry, load_builtin

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"


@pytest.fixture(scope="session")
def ua() -> RegionRegistry:
    return load_builtin("ua")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; the test fails when it is missing on CI and is skipped elsewhere."""
    if not (SHARED_DATA / "ua" / "regions_tree_states.json").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared data folder is missing: {SHARED_DATA}")
        pytest.skip(f"the shared data folder is missing: {SHARED_DATA}")
    return SHARED_DATA
