"""PlaceIndex.match returns exactly the places a brute-force reading of the rule reaches, for random polygons
(with holes, across the antimeridian), circles and region alerts, with places added and removed since the
index was built, before and after compaction."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from targeting_helpers import Spot, brute_reach, circle_alert, polygon_alert, region_alert, star, ukraine

from sirena.domain.model import Alert
from sirena.regions import RegionRegistry
from sirena.targeting import AlertArea, PlaceColumns, PlaceIndex, RegionClosure

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("regions", "polygon", "holed", "antimeridian", "circle", "big_circle", "multi")


def codes(registry: RegionRegistry) -> dict[str, int]:
    return {r.id: i for i, r in enumerate(registry)}


def columns(spots: list[Spot], code: dict[str, int]) -> PlaceColumns:
    pairs = [(s.key, code[r]) for s in spots for r in s.regions]
    return PlaceColumns(
        keys=np.array([s.key for s in spots], dtype=np.int64),
        subscribers=np.array([s.subscriber for s in spots], dtype=np.int32),
        points=np.array([s.lat is not None for s in spots], dtype=np.bool_),
        lon=np.array([np.nan if s.lon is None else s.lon for s in spots], dtype=np.float64),
        lat=np.array([np.nan if s.lat is None else s.lat for s in spots], dtype=np.float64),
        pair_keys=np.array([k for k, _ in pairs], dtype=np.int64),
        pair_regions=np.array([c for _, c in pairs], dtype=np.int32),
    )


def make_alert(kind: str, rng: np.random.Generator, registry: RegionRegistry) -> tuple[Alert, tuple[float, ...]]:
    """An alert and the box its points should crowd around."""
    ids = [r.id for r in registry]
    if kind == "regions":
        chosen = list(rng.choice(ids, size=int(rng.integers(1, 4)), replace=False))
        return region_alert(chosen), (22.0, 44.3, 40.3, 52.4)
    if kind in {"circle", "big_circle"}:
        lat, lon = rng.uniform(45, 52), rng.uniform(23, 39)
        radius = rng.uniform(0.5, 30) if kind == "circle" else rng.uniform(100, 700)
        pad = radius / 80.0 + 0.1
        return circle_alert(lat, lon, radius), (lon - pad * 1.6, lat - pad, lon + pad * 1.6, lat + pad)
    if kind == "antimeridian":
        cy = rng.uniform(-60, 60)
        ring = [(170.0, cy - 5), (-170.0, cy - 5), (-172.0, cy + 5), (172.0, cy + 6)]
        return polygon_alert(shapely.Polygon(ring)), (165.0, cy - 8, 180.0, cy + 8)
    cx, cy = rng.uniform(23, 39), rng.uniform(45, 52)
    size = float(rng.choice([0.01, 0.2, 2.0]))
    shape = star(cx, cy, size * 0.3, size, int(rng.integers(3, 40)), rng)
    if kind == "holed":
        hole = star(cx, cy, size * 0.05, size * 0.25, 12, rng)  # inside the shell, whose radii are >= 0.3
        shape = shapely.Polygon(shape.exterior.coords, [hole.exterior.coords])
    if kind == "multi":
        shape = shapely.MultiPolygon([shape, shapely.box(cx + size * 2, cy, cx + size * 3, cy + size)])
    return polygon_alert(shape), (cx - size * 1.5, cy - size * 1.5, cx + size * 4, cy + size * 1.5)


def spots_for(rng: np.random.Generator, box: tuple[float, ...], a: Alert, registry: RegionRegistry) -> list[Spot]:
    ids = [r.id for r in registry]
    x0, y0, x1, y1 = box
    n = 400
    lon = rng.uniform(x0, x1, n)
    lat = rng.uniform(y0, y1, n)
    if a.target.area is not None:  # points on and next to the outline, where mistakes would hide
        outline = shapely.get_coordinates(shapely.geometry.shape(a.target.area).boundary)
        take = outline[rng.integers(0, len(outline), 80)]
        lon = np.concatenate([lon, take[:, 0], take[:, 0] + rng.normal(0, 1e-6, 80)])
        lat = np.concatenate([lat, take[:, 1], take[:, 1] + rng.normal(0, 1e-6, 80)])
    lon = (lon + 180.0) % 360.0 - 180.0
    lat = np.clip(lat, -90, 90)
    counts = rng.integers(0, 3, lon.size)
    picks = rng.integers(0, len(ids), (lon.size, 2))
    subscribers = rng.integers(0, 150, lon.size + 60).tolist()
    spots: list[Spot] = []
    for i in range(lon.size):
        regions = tuple(dict.fromkeys(ids[j] for j in picks[i, : counts[i]].tolist()))
        spots.append(Spot(len(spots), subscribers[i], regions, float(lat[i]), float(lon[i])))
    for j in rng.integers(0, len(ids), 60).tolist():  # region places, at every level
        spots.append(Spot(len(spots), subscribers[len(spots)], (ids[j],)))
    order = rng.permutation(len(spots))
    return [Spot(k, spots[i].subscriber, spots[i].regions, spots[i].lat, spots[i].lon) for k, i in enumerate(order)]


def answer(index: PlaceIndex, a: Alert, closure: RegionClosure, code: dict[str, int]) -> tuple[set[int], set[int]]:
    area = AlertArea.of(a, closure)
    affected = np.array(sorted(code[r] for r in area.affected if r in code), dtype=np.int32)
    found = index.match(area, affected)
    return set(found.keys.tolist()), set(found.subscribers.tolist())


@EXAMPLES
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(KINDS))
def test_match_equals_brute_force(seed: int, kind: str) -> None:
    registry = ukraine()
    rng = np.random.default_rng(seed)
    a, box = make_alert(kind, rng, registry)
    spots = spots_for(rng, box, a, registry)
    code = codes(registry)
    closure = RegionClosure(registry)
    expected = brute_reach(a, spots, registry)
    subscribers = {s.subscriber for s in spots if s.key in expected}

    whole = PlaceIndex(columns(spots, code), len(code))
    assert answer(whole, a, closure, code) == (expected, subscribers)

    # Built from part of them, the rest added in two batches, some removed: the same answer, then compacted.
    cut1, cut2 = len(spots) // 2, len(spots) * 3 // 4
    removed = {s.key for s in spots if rng.random() < 0.2}
    index = PlaceIndex(columns(spots[:cut1], code), len(code))
    index.add(columns(spots[cut1:cut2], code))
    index.remove(k for k in removed if k < cut2)
    index.add(columns(spots[cut2:], code))
    index.remove(k for k in removed if k >= cut2)
    left = [s for s in spots if s.key not in removed]
    expected = brute_reach(a, left, registry)
    subscribers = {s.subscriber for s in left if s.key in expected}
    assert answer(index, a, closure, code) == (expected, subscribers)
    assert len(index) == len(left)
    index.install(index.plan().build())
    assert index.pending == 0
    assert answer(index, a, closure, code) == (expected, subscribers)


def test_a_region_alert_reaches_down_and_up_the_tree_but_not_sideways() -> None:
    registry = ukraine()
    hromada = next(r.id for r in registry.by_level("hromada") if registry.oblast_of(r.id) == "14")
    raion = registry.get(hromada).parent_id
    assert raion is not None
    code = codes(registry)
    spots = [
        Spot(0, 0, ("14",), 50.2, 30.5),  # a point resolved to Kyiv Oblast
        Spot(1, 1, ("31",), 50.45, 30.52),  # a point in Kyiv city
        Spot(2, 2, (hromada,)),  # a hromada of Kyiv Oblast, as a region place
        Spot(3, 3, ("UA",)),  # the whole country
        Spot(4, 4, ("27",)),  # Lviv Oblast
    ]
    index = PlaceIndex(columns(spots, code), len(code))
    closure = RegionClosure(registry)
    assert answer(index, region_alert(["14"]), closure, code)[0] == {0, 2, 3}
    assert answer(index, region_alert([hromada]), closure, code)[0] == {0, 2, 3}  # the oblast's point: overshoot
    assert answer(index, region_alert([raion]), closure, code)[0] == {0, 2, 3}
    assert answer(index, region_alert(["UA"]), closure, code)[0] == {0, 1, 2, 3, 4}
    assert answer(index, region_alert(["27"]), closure, code)[0] == {3, 4}
