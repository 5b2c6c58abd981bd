"""NearestIndex.nearest returns exactly the k nearest points by haversine distance, ties by position."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from sirena.errors import ValidationFailed
from sirena.geo import NearestIndex, haversine_m


def brute(
    lon: NDArray[np.float64], lat: NDArray[np.float64], q_lat: float, q_lon: float, k: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    d = haversine_m(q_lat, q_lon, lat, lon)
    best = np.lexsort((np.arange(d.size), d))[:k]
    return best, d[best]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
    k=st.integers(1, 40),
    bucket=st.sampled_from([1, 7, 64]),
    spread=st.sampled_from(["globe", "country", "city", "pole", "antimeridian"]),
)
def test_nearest_matches_brute_force(seed: int, n: int, k: int, bucket: int, spread: str) -> None:
    rng = np.random.default_rng(seed)
    if spread == "globe":
        lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    elif spread == "country":
        lon, lat = rng.uniform(22, 40.3, n), rng.uniform(44.3, 52.4, n)
    elif spread == "city":
        lon, lat = rng.normal(30.52, 0.05, n), rng.normal(50.45, 0.03, n)
    elif spread == "pole":
        lon, lat = rng.uniform(-180, 180, n), rng.uniform(88, 90, n)
    else:
        lon, lat = rng.choice([-1.0, 1.0], n) * rng.uniform(178, 180, n), rng.uniform(-5, 5, n)
    index = NearestIndex(lon, lat, bucket_size=bucket)
    queries = [(float(lat[0]), float(lon[0]))]
    queries += [(float(a), float(b)) for a, b in zip(rng.uniform(-90, 90, 3), rng.uniform(-180, 180, 3), strict=True)]
    queries += [(float(lat.mean()), float(lon.mean())), (90.0, 0.0), (0.0, 180.0)]
    for q_lat, q_lon in queries:
        got, dist = index.nearest(q_lat, q_lon, k)
        want, want_dist = brute(lon, lat, q_lat, q_lon, k)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(dist, want_dist)
        assert got.dtype == np.int64
        assert dist.dtype == np.float64


def test_ties_and_duplicates_are_ordered_by_position() -> None:
    index = NearestIndex([30.0, 31.0, 30.0, 29.0, 30.0], [50.0, 50.0, 50.0, 50.0, 50.0])
    got, dist = index.nearest(50.0, 30.0, 5)
    # Three copies of the query point, then 31° E and 29° E, which are exactly as far: the lower position first.
    assert got.tolist() == [0, 2, 4, 1, 3]
    assert dist[:3].tolist() == [0.0, 0.0, 0.0]
    assert dist[3] == dist[4]
    assert index.nearest(50.0, 30.0, 4)[0].tolist() == [0, 2, 4, 1]


def test_asking_for_more_than_there_is() -> None:
    index = NearestIndex([30.0, 31.0], [50.0, 50.0])
    got, dist = index.nearest(50.0, 30.9, 10)
    assert got.tolist() == [1, 0]
    assert dist[0] < dist[1]
    empty_ids, empty_dist = index.nearest(50.0, 30.9, 0)
    assert empty_ids.size == 0
    assert empty_dist.size == 0


def test_empty_index() -> None:
    index = NearestIndex(np.empty(0), np.empty(0))
    assert len(index) == 0
    got, dist = index.nearest(0.0, 0.0, 3)
    assert got.size == 0
    assert dist.size == 0


@pytest.mark.parametrize("k", [-1, 1.5, True, "3"])
def test_bad_k_is_refused(k: object) -> None:
    with pytest.raises(ValidationFailed):
        NearestIndex([30.0], [50.0]).nearest(50.0, 30.0, k)  # type: ignore[arg-type]


def test_bad_query_point_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        NearestIndex([30.0], [50.0]).nearest(100.0, 30.0, 1)
    with pytest.raises(ValidationFailed):
        NearestIndex([30.0], [50.0], bucket_size=0)
