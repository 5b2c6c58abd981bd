"""regions_for_geometry: which outlined regions an area covers wholly and which it only touches."""

from __future__ import annotations

import time

import shapely
from shapely.geometry import LineString, Point, Polygon, box, mapping

from sirena.regions import RegionRegistry, load_data

# A square of two by two with four unit squares: A (south-west), B (south-east), C (north-west), D (north-east).
SQUARES = {
    "A": box(0, 0, 1, 1),
    "B": box(1, 0, 2, 1),
    "C": box(0, 1, 1, 2),
    "D": box(1, 1, 2, 2),
}


def _grid() -> RegionRegistry:
    """The grid country G (with its own outline), its four squares, and a town in A without an outline."""
    regions: list[dict[str, object]] = [
        {"id": "G", "parent": None, "level": "country", "names": {"en": "Grid"}, "geometry": mapping(box(0, 0, 2, 2))}
    ]
    regions += [
        {"id": key, "parent": "G", "level": "province", "names": {"en": key}, "geometry": mapping(square)}
        for key, square in SQUARES.items()
    ]
    regions.append({"id": "A1", "parent": "A", "level": "town", "names": {"en": "A1"}})
    return load_data({"regions": regions})


def test_a_small_polygon_inside_one_oblast_is_partial(ua: RegionRegistry) -> None:
    around_uman = Point(30.22, 48.75).buffer(0.1)
    assert ua.regions_for_geometry(around_uman) == ((), ("24",))


def test_a_polygon_across_a_border_is_partial_in_both(ua: RegionRegistry) -> None:
    across = LineString([(30.2, 50.45), (30.8, 50.45)]).buffer(0.01)  # Kyiv Oblast → Kyiv → Kyiv Oblast
    covered, partial = ua.regions_for_geometry(across)
    assert covered == ()
    assert set(partial) == {"14", "31"}


def test_the_whole_country_covers_every_oblast(ua: RegionRegistry) -> None:
    covered, partial = ua.regions_for_geometry(box(20.0, 43.0, 42.0, 53.0))
    assert set(covered) == {region.id for region in ua.by_level("oblast")}
    assert len(covered) == 27
    assert partial == ()


def test_covering_kyiv_oblast_covers_kyiv_too(ua: RegionRegistry) -> None:
    oblast = ua.geometry("14")
    assert oblast is not None
    filled = Polygon(oblast.exterior)
    covered, _ = ua.regions_for_geometry(filled)
    assert {"14", "31"} <= set(covered)
    covered, partial = ua.regions_for_geometry(oblast)
    assert "14" in covered
    assert "31" not in covered + partial


def test_outside_the_country(ua: RegionRegistry) -> None:
    assert ua.regions_for_geometry(box(0, 0, 1, 1)) == ((), ())
    assert ua.regions_for_geometry(Polygon()) == ((), ())


def test_points_and_lines(ua: RegionRegistry) -> None:
    assert ua.regions_for_geometry(Point(25.325, 50.747)) == ((), ("8",))
    assert ua.regions_for_geometry(Point(28.468, 49.233)) == ((), ("4",))
    assert ua.regions_for_geometry(Point(30.5234, 50.4501)) == ((), ("31",))


def test_only_the_finest_outlined_level_counts() -> None:
    grid = _grid()
    assert grid.regions_for_geometry(box(-1, -1, 3, 3)) == (("A", "B", "C", "D"), ())
    assert grid.regions_for_geometry(box(-1, -1, 1.5, 1)) == (("A",), ("B",))


def test_touching_an_edge_does_not_count_for_areas() -> None:
    grid = _grid()
    assert grid.regions_for_geometry(box(0, 0, 1, 1)) == (("A",), ())
    assert grid.regions_for_geometry(box(2, 0, 3, 1)) == ((), ())
    # a point or line on an edge is in both regions
    assert grid.regions_for_geometry(Point(1, 0.5)) == ((), ("A", "B"))
    assert grid.regions_for_geometry(LineString([(1, 0.2), (1, 0.8)])) == ((), ("A", "B"))


def test_an_invalid_query_is_repaired() -> None:
    bow_tie = Polygon([(0.1, 0.1), (0.9, 0.9), (0.9, 0.1), (0.1, 0.9), (0.1, 0.1)])
    assert not bow_tie.is_valid
    assert _grid().regions_for_geometry(bow_tie) == ((), ("A",))


def test_the_query_is_left_as_it_was(ua: RegionRegistry) -> None:
    query = box(30.0, 50.0, 31.0, 51.0)
    ua.regions_for_geometry(query)
    assert not shapely.is_prepared(query)
    shapely.prepare(query)
    ua.regions_for_geometry(query)
    assert shapely.is_prepared(query)


def test_fast(ua: RegionRegistry) -> None:
    query = Point(30.22, 48.75).buffer(0.5)
    started = time.perf_counter()
    for _ in range(200):
        ua.regions_for_geometry(query)
    per_call = (time.perf_counter() - started) / 200
    assert per_call < 0.005, per_call
