"""Fixtures for the CAP exchange tests: the Ukrainian registry, its CAP areas, and a resolving service."""

from __future__ import annotations

from typing import Any, cast

import pytest

from sirena.cap.areas import RegionAreas
from sirena.regions import RegionRegistry, load_builtin
from sirena.service import AlertService


@pytest.fixture(scope="session")
def registry() -> RegionRegistry:
    return load_builtin("ua")


@pytest.fixture(scope="session")
def areas(registry: RegionRegistry) -> RegionAreas:
    return RegionAreas(registry)


@pytest.fixture(scope="session")
def resolver(registry: RegionRegistry) -> AlertService:
    """The service, for ``resolve`` only (it needs no store)."""
    return AlertService(cast(Any, None), registry)


@pytest.fixture(scope="session")
def anchors(registry: RegionRegistry) -> list[tuple[float, float]]:
    """A point well inside each outlined region, as (lat, lon)."""
    points = []
    for region in registry:
        outline = registry.geometry(region.id)
        if outline is not None:
            point = outline.representative_point()
            points.append((point.y, point.x))
    return points
