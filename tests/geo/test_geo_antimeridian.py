"""normalize() reads long edges the short way round, caps rings around a pole, and cuts at ±180°."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sirena.errors import ValidationFailed
from sirena.geo import PointIndex, normalize


def test_plain_shapes_come_back_unchanged() -> None:
    for shape in (
        shapely.box(22.0, 44.0, 40.0, 52.0),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.LineString([(170, 0), (-170, 0)]),
        shapely.Point(200, 0),
        shapely.Polygon(),
        # Already cut at the antimeridian: the seam edges from -180 to 180 are kept.
        shapely.box(-180.0, -10.0, 180.0, 10.0),
        shapely.MultiPolygon([shapely.box(170, 0, 180, 10), shapely.box(-180, 0, -170, 10)]),
    ):
        assert normalize(shape) is shape


def test_ring_jumping_from_170_to_minus_170_crosses_the_antimeridian() -> None:
    crossing = normalize(shapely.Polygon([(170, 0), (-170, 0), (-170, 10), (170, 10)]))
    assert crossing.geom_type == "MultiPolygon"
    assert crossing.area == pytest.approx(200.0)
    assert crossing.equals(shapely.MultiPolygon([shapely.box(170, 0, 180, 10), shapely.box(-180, 0, -170, 10)]))
    # The same ring written the other way round, and one starting west of the line.
    assert normalize(shapely.Polygon([(170, 10), (-170, 10), (-170, 0), (170, 0)])).equals(crossing)
    assert normalize(shapely.Polygon([(-170, 0), (170, 0), (170, 10), (-170, 10)])).equals(crossing)


def test_longitudes_beyond_180_are_moved_back() -> None:
    shifted = normalize(shapely.box(175.0, 0.0, 185.0, 5.0))
    assert shifted.equals(shapely.MultiPolygon([shapely.box(175, 0, 180, 5), shapely.box(-180, 0, -175, 5)]))
    assert normalize(shapely.box(190.0, 0.0, 200.0, 5.0)).equals(shapely.box(-170.0, 0.0, -160.0, 5.0))


def test_a_hole_across_the_antimeridian_stays_a_hole() -> None:
    shell = [(160, -20), (-160, -20), (-160, 20), (160, 20)]
    hole = [(175, -5), (-175, -5), (-175, 5), (175, 5)]
    shape = normalize(shapely.Polygon(shell, [hole]))
    assert shape.area == pytest.approx(40 * 40 - 10 * 10)
    assert not shapely.intersects_xy(shape, [179.0, -179.0], [0.0, 0.0]).any()
    assert shapely.intersects_xy(shape, [165.0, -165.0], [0.0, 0.0]).all()


def test_ring_around_the_globe_is_capped_at_its_pole() -> None:
    north = normalize(shapely.Polygon([(0, 80), (90, 80), (180, 80), (-90, 80)]))
    assert north.area == pytest.approx(360 * 10)
    assert shapely.intersects_xy(north, np.linspace(-180, 180, 9), np.full(9, 85.0)).all()
    south = normalize(shapely.Polygon([(10, -70), (130, -75), (-110, -70)]))
    assert south.bounds[1] == -90.0
    assert shapely.intersects_xy(south, np.linspace(-180, 180, 9), np.full(9, -80.0)).all()
    assert not shapely.intersects_xy(south, 0.0, 0.0)


def test_ring_going_round_twice_is_refused() -> None:
    twice = shapely.Polygon([(0, 80), (120, 80), (-120, 80), (0, 81), (120, 81), (-120, 81)])
    with pytest.raises(ValidationFailed):
        normalize(twice)


def test_invalid_shapes_are_repaired() -> None:
    bowtie = shapely.Polygon([(0, 0), (4, 4), (4, 0), (0, 4)])
    repaired = normalize(bowtie)
    assert repaired.is_valid
    assert repaired.area == pytest.approx(8.0)
    overlapping = shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)])
    assert normalize(overlapping).area == pytest.approx(7.0)
    crossing_bowtie = shapely.Polygon([(170, 0), (-170, 10), (-170, 0), (170, 10)])
    assert normalize(crossing_bowtie).is_valid


def test_collections_are_normalized_member_by_member() -> None:
    shape = normalize(shapely.GeometryCollection([shapely.box(175, 0, 185, 5), shapely.Point(0, 0)]))
    assert shape.is_valid
    assert shapely.intersects_xy(shape, [-178.0, 178.0, 0.0], [1.0, 1.0, 0.0]).all()


def test_not_a_geometry_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        normalize([(0, 0), (1, 1)])


@settings(max_examples=40, deadline=None)
@given(
    west=st.floats(90.0, 179.0),
    width=st.floats(0.5, 170.0),
    south=st.floats(-80.0, 70.0),
    height=st.floats(0.01, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_crossing_box_selects_the_same_points_as_its_two_halves(
    west: float, width: float, south: float, height: float, seed: int
) -> None:
    east = west + width
    east_wrapped = east - 360.0 if east > 180.0 else east
    ring = [(west, south), (east_wrapped, south), (east_wrapped, south + height), (west, south + height)]
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180.0, 180.0, 3000)
    lat = rng.uniform(south - 1.0, south + height + 1.0, 3000).clip(-90.0, 90.0)
    found = PointIndex(lon, lat).query(shapely.Polygon(ring))
    inside_lat = (lat >= south) & (lat <= south + height)
    inside_lon = (lon >= west) & (lon <= east) | ((lon + 360.0 >= west) & (lon + 360.0 <= east))
    expected = np.flatnonzero(inside_lat & inside_lon)
    np.testing.assert_array_equal(found, expected)
