"""haversine_m measures great-circle distance on the mean-radius sphere and broadcasts like numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sirena.geo import EARTH_RADIUS_M, haversine_m


def test_known_distances() -> None:
    degree = EARTH_RADIUS_M * math.pi / 180.0
    assert float(haversine_m(0.0, 0.0, 0.0, 1.0)) == pytest.approx(degree, rel=1e-12)
    assert float(haversine_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(degree, rel=1e-12)
    assert float(haversine_m(90.0, 0.0, -90.0, 0.0)) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    # Next to the antipode the formula loses a little precision (a few decimetres at most).
    assert float(haversine_m(10.0, 20.0, -10.0, -160.0)) == pytest.approx(math.pi * EARTH_RADIUS_M, abs=0.5)
    assert float(haversine_m(50.45, 30.52, 50.45, 30.52)) == 0.0
    # Kyiv to Lviv, about 467 km.
    assert float(haversine_m(50.45, 30.52, 49.84, 24.03)) == pytest.approx(467_263.0, abs=1.0)


def test_across_the_antimeridian_and_at_the_pole() -> None:
    assert float(haversine_m(0.0, 179.5, 0.0, -179.5)) == pytest.approx(float(haversine_m(0.0, 0.0, 0.0, 1.0)))
    assert float(haversine_m(90.0, 0.0, 90.0, 123.0)) == pytest.approx(0.0, abs=1e-6)


def test_symmetric_and_broadcast() -> None:
    rng = np.random.default_rng(0)
    lat1, lon1 = rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50)
    lat2, lon2 = rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50)
    np.testing.assert_allclose(haversine_m(lat1, lon1, lat2, lon2), haversine_m(lat2, lon2, lat1, lon1))
    grid = haversine_m(lat1[:, None], lon1[:, None], lat2[None, :], lon2[None, :])
    assert grid.shape == (50, 50)
    assert grid.dtype == np.float64
    np.testing.assert_array_equal(np.diag(grid), haversine_m(lat1, lon1, lat2, lon2))
    assert (grid >= 0).all() and (grid <= math.pi * EARTH_RADIUS_M + 1e-6).all()
