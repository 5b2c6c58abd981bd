"""circle() is a polygon that follows the geodesic circle closely, cut at the antimeridian, capped at poles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from sirena.errors import ValidationFailed
from sirena.geo import CIRCLE_TOLERANCE_M, EARTH_RADIUS_M, circle, haversine_m

# Slack for the few centimetres by which an edge's worst point may sit beside its midpoint, where it is checked.
SLACK_M = 0.5
MILE_TENTH_M = 160.9


def outline_points(polygon: shapely.Geometry) -> NDArray[np.float64]:
    """Points every few hundred metres along the outline, without the seams at ±180° and the pole caps."""
    dense = shapely.segmentize(shapely.boundary(polygon), 0.002)
    xy = shapely.get_coordinates(dense)
    keep = (np.abs(xy[:, 0]) < 180.0) & (np.abs(xy[:, 1]) < 90.0)
    return xy[keep]


def check_follows_circle(lat: float, lon: float, radius_km: float) -> shapely.Geometry:
    polygon = circle(lat, lon, radius_km)
    assert polygon.is_valid
    assert polygon.geom_type in {"Polygon", "MultiPolygon"}
    x0, y0, x1, y1 = polygon.bounds
    assert x0 >= -180.0 and x1 <= 180.0 and y0 >= -90.0 and y1 <= 90.0
    xy = outline_points(polygon)
    error = np.abs(haversine_m(lat, lon, xy[:, 1], xy[:, 0]) - radius_km * 1000.0)
    assert error.max() <= CIRCLE_TOLERANCE_M + SLACK_M
    return polygon


def check_no_undershoot(polygon: shapely.Geometry, lat: float, lon: float, radius_km: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-180.0, 180.0, 20_000)
    y = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 20_000)))
    d = haversine_m(lat, lon, y, x)
    inside = shapely.intersects_xy(polygon, x, y)
    r = radius_km * 1000.0
    assert inside[d <= r - CIRCLE_TOLERANCE_M - SLACK_M].all()
    assert not inside[d > r + CIRCLE_TOLERANCE_M + SLACK_M].any()


@settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(-90.0, 90.0),
    lon=st.floats(-180.0, 180.0),
    radius_km=st.one_of(st.floats(0.01, 50.0), st.floats(50.0, 3000.0), st.floats(3000.0, 19_000.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_circle_follows_the_geodesic_circle(lat: float, lon: float, radius_km: float, seed: int) -> None:
    polygon = check_follows_circle(lat, lon, radius_km)
    check_no_undershoot(polygon, lat, lon, radius_km, seed)


def test_tolerance_is_far_below_a_tenth_of_a_mile() -> None:
    assert CIRCLE_TOLERANCE_M < MILE_TENTH_M / 20


def test_circle_across_the_antimeridian_is_cut_in_two() -> None:
    polygon = check_follows_circle(-17.7, 179.9, 100.0)
    assert polygon.geom_type == "MultiPolygon"
    west, east = sorted(polygon.geoms, key=lambda p: p.bounds[0])
    assert west.bounds[0] == -180.0
    assert east.bounds[2] == 180.0
    assert shapely.intersects_xy(polygon, [-179.5, 179.5, 180.0, -180.0], [-17.7] * 4).all()


def test_circle_around_a_pole_is_a_cap() -> None:
    polygon = check_follows_circle(85.0, 20.0, 1000.0)
    assert polygon.geom_type == "Polygon"
    assert polygon.bounds[3] == 90.0
    assert shapely.intersects_xy(polygon, np.linspace(-180, 180, 13), np.full(13, 89.9)).all()
    south = check_follows_circle(-90.0, 0.0, 500.0)
    assert shapely.intersects_xy(south, np.linspace(-180, 180, 13), np.full(13, -86.0)).all()
    assert not shapely.intersects_xy(south, 0.0, -85.0)


def test_circle_around_both_poles_leaves_out_the_far_side() -> None:
    polygon = check_follows_circle(10.0, 30.0, 15_000.0)
    assert shapely.intersects_xy(polygon, [0.0, 0.0], [90.0, -90.0]).all()
    assert not shapely.intersects_xy(polygon, -150.0, -10.0)  # the antipode
    check_no_undershoot(polygon, 10.0, 30.0, 15_000.0, 1)


@pytest.mark.parametrize(("lat", "quarters"), [(0.0, 1.0), (45.0, 0.5), (45.0, 1.5), (-30.0, 4.0 / 3.0)])
@pytest.mark.parametrize("nudge", [1.0 - 1e-12, 1.0, 1.0 + 1e-12, 1.0 + 1e-7])
def test_circle_through_a_pole(lat: float, quarters: float, nudge: float) -> None:
    radius_km = quarters * math.pi / 2.0 * EARTH_RADIUS_M / 1000.0 * nudge  # reaches a pole, or nearly
    polygon = check_follows_circle(lat, 10.0, radius_km)
    check_no_undershoot(polygon, lat, 10.0, radius_km, 2)


def test_circle_larger_than_the_earth_is_everything() -> None:
    assert circle(0.0, 0.0, 30_000.0).equals(shapely.box(-180, -90, 180, 90))


def test_city_circle_has_a_sensible_number_of_vertices() -> None:
    polygon = check_follows_circle(50.45, 30.52, 20.0)
    assert 64 <= shapely.get_num_coordinates(polygon) <= 1000


@pytest.mark.parametrize(("lat", "lon", "radius_km"), [(91.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.0, -5.0)])
def test_bad_circles_are_refused(lat: float, lon: float, radius_km: float) -> None:
    with pytest.raises(ValidationFailed):
        circle(lat, lon, radius_km)
