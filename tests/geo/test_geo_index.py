"""PointIndex.query returns exactly what a scan of every point with shapely.intersects_xy returns."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geo_strategies import cloud, scales, seeds, star
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from sirena.errors import ValidationFailed
from sirena.geo import PointIndex, haversine_m, normalize

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute(geometry: shapely.Geometry, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.flatnonzero(shapely.intersects_xy(normalize(geometry), lon, lat))


def check(geometry: shapely.Geometry, lon: NDArray[np.float64], lat: NDArray[np.float64], leaf: int = 8) -> None:
    found = PointIndex(lon, lat, leaf_size=leaf).query(geometry)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, brute(geometry, lon, lat))


def shape(seed: int, scale: float, kind: str) -> shapely.Geometry:
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(-150.0, 150.0), rng.uniform(-60.0, 60.0)
    scale = min(scale, 25.0) if kind != "huge" else scale
    n = int(rng.integers(3, 40))
    outer = star(cx, cy, scale * 0.3, scale, n, rng)
    if kind == "holes":
        inner = [star(cx, cy, scale * 0.05, scale * 0.25, int(rng.integers(3, 12)), rng)]
        return shapely.Polygon(outer.exterior, [inner[0].exterior])
    if kind == "multi":
        other = star(cx + 3.0 * scale, cy, scale * 0.2, scale * 0.9, int(rng.integers(3, 20)), rng)
        far = shapely.box(cx - 3 * scale, cy - 3 * scale, cx - 2.5 * scale, cy - 2.5 * scale)
        return shapely.MultiPolygon([outer, other, far])
    if kind == "huge":
        # Edges under 180° long, so the antimeridian rule leaves the big box as it is.
        big = shapely.segmentize(shapely.box(-170.0, -80.0, 170.0, 80.0), 60.0)
        return big.difference(shapely.make_valid(outer))
    if kind == "tangled":  # self-intersecting, with a hole that may poke out of the shell
        scrawl = rng.uniform(-scale, scale, (n, 2)) + np.array([cx, cy])
        hole = rng.uniform(-scale, scale, (5, 2)) * 0.6 + np.array([cx, cy])
        return shapely.Polygon(scrawl, [hole])
    if kind == "collection":  # overlapping members, a line and a point
        other = star(cx + scale * 0.5, cy, scale * 0.2, scale * 0.9, int(rng.integers(3, 20)), rng)
        line = shapely.LineString(rng.uniform(-scale, scale, (4, 2)) + np.array([cx, cy]))
        return shapely.GeometryCollection([outer, other, line, shapely.Point(cx, cy)])
    if kind == "overlapping":
        other = star(cx + scale * 0.5, cy, scale * 0.2, scale * 0.9, int(rng.integers(3, 20)), rng)
        return shapely.MultiPolygon([outer, other])
    return outer


@EXAMPLES
@given(
    seed=seeds,
    scale=scales,
    kind=st.sampled_from(["simple", "holes", "multi", "huge", "tangled", "collection", "overlapping"]),
)
def test_polygons_match_brute_force(seed: int, scale: float, kind: str) -> None:
    geometry = shape(seed, scale, kind)
    rng = np.random.default_rng(seed + 1)
    x0, y0, x1, y1 = geometry.bounds
    pad = max(x1 - x0, y1 - y0)
    lon, lat = cloud(rng, 1500, geometry, (x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    check(geometry, lon, lat, leaf=int(rng.choice([1, 8, 96])))


@EXAMPLES
@given(seed=seeds, scale=scales)
def test_small_area_among_points_spread_over_the_globe(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    geometry = star(rng.uniform(-170, 170), rng.uniform(-80, 80), scale * 0.2, scale, 12, rng)
    lon, lat = cloud(rng, 2000, geometry, (-180.0, -90.0, 180.0, 90.0))
    check(geometry, lon, lat)


@EXAMPLES
@given(seed=seeds, west=st.floats(100.0, 179.9), east=st.floats(-179.9, -100.0), height=st.floats(0.01, 40.0))
def test_shapes_across_the_antimeridian(seed: int, west: float, east: float, height: float) -> None:
    rng = np.random.default_rng(seed)
    south = rng.uniform(-80.0, 80.0 - height)
    middle = rng.uniform(west, east + 360.0)
    middle = middle - 360.0 if middle > 180.0 else middle
    ring = [
        (west, south),
        (east, south),
        (east, south + height),
        (middle, south + height * 1.5),
        (west, south + height),
    ]
    geometry = shapely.Polygon(ring)
    lon = np.concatenate([rng.uniform(west - 5, 180, 800), rng.uniform(-180, east + 5, 800), [180.0, -180.0]])
    lat = np.concatenate([rng.uniform(south - 2, south + height * 1.6, 1600), [south + height / 2] * 2])
    lat = np.clip(lat, -90.0, 90.0)
    found = PointIndex(lon, lat, leaf_size=4).query(geometry)
    np.testing.assert_array_equal(found, brute(geometry, lon, lat))
    assert {lon.size - 2, lon.size - 1} <= set(found.tolist())  # on the 180° meridian, seen from both sides
    assert ((lon[found] >= west) | (lon[found] <= east)).all()


@settings(max_examples=40, deadline=None)
@given(seed=seeds, lat=st.floats(-90.0, 90.0), lon=st.floats(-180.0, 180.0), radius=st.floats(0.0, 21_000.0))
def test_circle_query_matches_haversine(seed: int, lat: float, lon: float, radius: float) -> None:
    rng = np.random.default_rng(seed)
    spread = min(radius / 111.0 * 2.0 + 0.01, 180.0)
    near_lon = np.clip(lon + rng.uniform(-spread, spread, 1500), -180.0, 180.0)
    near_lat = np.clip(lat + rng.uniform(-spread, spread, 1500), -90.0, 90.0)
    far_lon, far_lat = rng.uniform(-180.0, 180.0, 1500), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 1500)))
    pole_lon, pole_lat = rng.uniform(-180.0, 180.0, 200), rng.choice([-1.0, 1.0], 200) * rng.uniform(89.0, 90.0, 200)
    x = np.concatenate([near_lon, far_lon, pole_lon, [lon]])
    y = np.concatenate([near_lat, far_lat, pole_lat, [lat]])
    found = PointIndex(x, y, leaf_size=int(rng.choice([1, 16, 96]))).query_circle(lat, lon, radius)
    expected = np.flatnonzero(haversine_m(lat, lon, y, x) <= radius * 1000.0)
    np.testing.assert_array_equal(found, expected)
    assert x.size - 1 in set(found.tolist())


def test_circle_query_near_the_pole_and_across_the_antimeridian() -> None:
    rng = np.random.default_rng(5)
    lon = rng.uniform(-180.0, 180.0, 20_000)
    lat = rng.uniform(60.0, 90.0, 20_000)
    index = PointIndex(lon, lat)
    for c_lat, c_lon, r in ((89.5, 179.0, 300.0), (90.0, 0.0, 50.0), (70.0, -179.99, 800.0), (75.0, 180.0, 0.5)):
        expected = np.flatnonzero(haversine_m(c_lat, c_lon, lat, lon) <= r * 1000.0)
        np.testing.assert_array_equal(index.query_circle(c_lat, c_lon, r), expected)
        assert expected.size or r < 1


def test_points_on_vertices_and_edges_are_returned() -> None:
    square = shapely.box(30.0, 50.0, 31.0, 51.0)
    lon = np.array([30.0, 31.0, 30.5, 30.0, 30.5, 30.25, 31.0 + 1e-12, 29.0])
    lat = np.array([50.0, 51.0, 50.0, 50.5, 50.5, 51.0, 50.5, 50.0])
    assert PointIndex(lon, lat).query(square).tolist() == [0, 1, 2, 3, 4, 5]
    triangle = shapely.Polygon([(30.0, 50.0), (32.0, 50.0), (30.0, 52.0)])
    # (31, 51) lies exactly on the hypotenuse; so do the vertices.
    lon = np.array([31.0, 30.0, 32.0, 30.0, 31.0 + 1e-9])
    lat = np.array([51.0, 52.0, 50.0, 50.0, 51.0 + 1e-9])
    assert PointIndex(lon, lat).query(triangle).tolist() == [0, 1, 2, 3]


def test_one_metre_outside_an_edge_is_left_out_and_one_metre_inside_is_kept() -> None:
    kyiv = shapely.Polygon([(30.3, 50.3), (30.7, 50.35), (30.75, 50.6), (30.4, 50.58)])
    edge_a, edge_b = np.array([30.7, 50.35]), np.array([30.75, 50.6])
    along = edge_a + 0.37 * (edge_b - edge_a)
    # A unit normal of the edge in metres, pointing out of the polygon (east).
    k = np.cos(np.radians(along[1]))
    direction = np.array([(edge_b - edge_a)[1] / k, -(edge_b - edge_a)[0] * k])
    direction /= np.hypot(direction[0] * k, direction[1])
    metre = 1.0 / 111_195.0
    outside, inside = along + direction * metre, along - direction * metre
    assert abs(float(haversine_m(along[1], along[0], outside[1], outside[0])) - 1.0) < 0.01
    rng = np.random.default_rng(3)
    lon = np.concatenate([[outside[0], inside[0]], rng.uniform(30.0, 31.0, 5000)])
    lat = np.concatenate([[outside[1], inside[1]], rng.uniform(50.0, 51.0, 5000)])
    found = set(PointIndex(lon, lat).query(kyiv).tolist())
    assert 0 not in found
    assert 1 in found


def test_lines_and_points_match_points_on_them() -> None:
    lon = np.array([0.0, 1.0, 2.0, 0.5, 5.0])
    lat = np.array([0.0, 1.0, 2.0, 0.6, 5.0])
    index = PointIndex(lon, lat)
    assert index.query(shapely.LineString([(0, 0), (2, 2)])).tolist() == [0, 1, 2]
    assert index.query(shapely.Point(5.0, 5.0)).tolist() == [4]
    assert index.query(shapely.MultiPoint([(5.0, 5.0), (0.0, 0.0)])).tolist() == [0, 4]


def test_geometry_collection_matches_brute_force() -> None:
    rng = np.random.default_rng(9)
    lon, lat = rng.uniform(0, 10, 4000), rng.uniform(0, 10, 4000)
    collection = shapely.GeometryCollection(
        [shapely.box(1, 1, 3, 3), shapely.Point(5, 5).buffer(2), shapely.LineString([(0, 9), (10, 9)])]
    )
    check(collection, lon, lat)


def test_self_intersecting_polygon_matches_brute_force() -> None:
    bowtie = shapely.Polygon([(0, 0), (4, 4), (4, 0), (0, 4)])
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-1, 5, 3000), rng.uniform(-1, 5, 3000)
    check(bowtie, lon, lat)


def test_empty_index_and_empty_geometry() -> None:
    empty = PointIndex(np.empty(0), np.empty(0))
    assert len(empty) == 0
    assert empty.query(shapely.box(0, 0, 1, 1)).tolist() == []
    assert empty.query_circle(0, 0, 100).tolist() == []
    index = PointIndex([30.0, 31.0], [50.0, 51.0])
    for nothing in (shapely.Polygon(), shapely.MultiPolygon(), shapely.GeometryCollection()):
        result = index.query(nothing)
        assert result.dtype == np.int64
        assert result.size == 0


def test_area_away_from_every_point() -> None:
    index = PointIndex([30.0, 31.0], [50.0, 51.0])
    assert index.query(shapely.box(-10, -10, -9, -9)).size == 0
    assert index.query_circle(-45, -100, 10).size == 0


def test_one_point_and_all_points_equal() -> None:
    index = PointIndex([30.0] * 500, [50.0] * 500)
    assert index.query(shapely.Point(30.0, 50.0)).tolist() == list(range(500))
    assert index.query(shapely.Point(30.0, 50.0).buffer(1e-9)).tolist() == list(range(500))
    assert index.query_circle(50.0, 30.0, 0.0).tolist() == list(range(500))


def test_large_answers_take_the_mask_paths() -> None:
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(22, 40, 40_000), rng.uniform(44, 52, 40_000)
    index = PointIndex(lon, lat)
    for geometry in (shapely.box(20, 40, 45, 55), shapely.box(22, 44, 31, 52), shapely.box(22, 44, 25, 52)):
        np.testing.assert_array_equal(index.query(geometry), brute(geometry, lon, lat))


def test_longitudes_outside_the_range_are_wrapped() -> None:
    index = PointIndex([190.0, -190.0, 540.0], [0.0, 0.0, 0.0])
    assert index.query(shapely.box(-171, -1, -169, 1)).tolist() == [0]
    assert index.query(shapely.box(169, -1, 171, 1)).tolist() == [1]
    assert index.query(shapely.box(-180, -1, -179, 1)).tolist() == [2]


def test_index_is_independent_of_the_input_arrays() -> None:
    lon, lat = np.array([30.0, 31.0]), np.array([50.0, 51.0])
    index = PointIndex(lon, lat)
    lon[:] = 0.0
    assert index.query(shapely.box(30.5, 50.5, 31.5, 51.5)).tolist() == [1]
    assert index.nbytes > 0


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ([0.0, np.nan], [0.0, 0.0]),
        ([0.0, np.inf], [0.0, 0.0]),
        ([0.0], [91.0]),
        ([0.0], [np.nan]),
        ([0.0, 1.0], [0.0]),
        ([[0.0]], [[0.0]]),
    ],
)
def test_bad_coordinates_are_refused(lon: list[float], lat: list[float]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        PointIndex(lon, lat)
    assert caught.value.data["errors"][0]["field"] in {"lon", "lat", "lon/lat"}


def test_bad_arguments_are_refused() -> None:
    index = PointIndex([30.0], [50.0])
    with pytest.raises(ValidationFailed):
        index.query("POLYGON ((0 0, 1 0, 1 1, 0 0))")
    with pytest.raises(ValidationFailed):
        index.query_circle(50.0, 30.0, -1.0)
    with pytest.raises(ValidationFailed):
        index.query_circle(95.0, 30.0, 1.0)
    with pytest.raises(ValidationFailed):
        index.query_circle(50.0, 30.0, float("nan"))
    with pytest.raises(ValidationFailed):
        PointIndex([30.0], [50.0], leaf_size=0)
