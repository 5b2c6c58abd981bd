"""The places registry on a real store: registration and resolution, the 10-metre edge, following other writers."""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from targeting_helpers import M_PER_DEG, offset

from sirena import testing
from sirena.domain.model import AlertDraft, Circle, Target
from sirena.errors import ValidationFailed
from sirena.geo import haversine_m
from sirena.runtime import Runtime
from sirena.targeting import PlaceKind, PlaceNotFound, PlaceRegistry, TooManyPlaces

# A convex quadrilateral over central Kyiv, counter-clockwise (lon, lat).
KYIV = [(30.40, 50.40), (30.65, 50.40), (30.65, 50.52), (30.40, 50.52), (30.40, 50.40)]


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with testing.running(testing.settings_for(tmp_path)) as runtime:
        yield runtime


def beside_edge(a: tuple[float, float], b: tuple[float, float], metres: float) -> tuple[float, float]:
    """(lat, lon) of the point ``metres`` to the left of edge a→b at its middle (inside, for a counter-clockwise
    ring), or to the right for a negative distance."""
    mid_lon, mid_lat = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    east = (b[0] - a[0]) * M_PER_DEG * math.cos(math.radians(mid_lat))
    north = (b[1] - a[1]) * M_PER_DEG
    length = math.hypot(east, north)
    return offset(mid_lat, mid_lon, east / length * metres, -north / length * metres)


async def test_ten_metres_outside_an_edge_is_not_reached_ten_inside_is(rt: Runtime) -> None:
    inside, outside = {}, {}
    for i, (a, b) in enumerate(itertools.pairwise(KYIV)):
        lat, lon = beside_edge(a, b, 10.0)
        inside[i] = (await rt.places.register(f"inside-{i:04d}", lat=lat, lon=lon)).subscriber
        lat, lon = beside_edge(a, b, -10.0)
        outside[i] = (await rt.places.register(f"outside-{i:04d}", lat=lat, lon=lon)).subscriber
    area = {"type": "Polygon", "coordinates": [[list(p) for p in KYIV]]}
    issued = await rt.service.issue(AlertDraft(target=Target(area=area)))
    reached = await rt.places.match(issued.event.alert)
    assert reached == set(inside.values())


async def test_ten_metres_beyond_a_circle_is_not_reached_ten_within_is(rt: Runtime) -> None:
    centre = (50.45, 30.52)
    radius_km = 5.0
    for bearing in range(0, 360, 45):
        north, east = math.cos(math.radians(bearing)), math.sin(math.radians(bearing))
        for label, metres in (("in", radius_km * 1000 - 10), ("out", radius_km * 1000 + 10)):
            lat, lon = offset(*centre, north * metres, east * metres)
            assert abs(float(haversine_m(*centre, lat, lon)) - metres) < 1.0  # the construction is right
            await rt.places.register(f"{label}side-{bearing:04d}", lat=lat, lon=lon)
    issued = await rt.service.issue(AlertDraft(target=Target(circle=Circle(*centre, radius_km))))
    reached = await rt.places.match(issued.event.alert)
    assert reached == {f"inside-{b:04d}" for b in range(0, 360, 45)}


async def test_a_point_is_resolved_once_at_registration(rt: Runtime) -> None:
    kyiv = await rt.places.register(lat=50.4501, lon=30.5234, label="home")
    assert kyiv.kind is PlaceKind.POINT
    assert kyiv.regions == ("31",)
    assert kyiv.level == "oblast"
    assert kyiv.subscriber.startswith("sub_")
    lviv = await rt.places.register(kyiv.subscriber, lat=49.8397, lon=24.0297)
    assert lviv.regions == ("27",)
    assert [p.id for p in await rt.places.places_of(kyiv.subscriber)] == [kyiv.id, lviv.id]
    assert (await rt.places.get(kyiv.id)).label == "home"


async def test_a_point_near_a_border_is_resolved_to_both_sides(rt: Runtime) -> None:
    registry = rt.registry
    border = registry.geometry("31")
    assert border is not None
    x, y = border.exterior.coords[0]  # a vertex of Kyiv's outline, shared with Kyiv Oblast
    place = await rt.places.register(lat=y, lon=x)
    assert set(place.regions) == {"31", "14"}
    far = await rt.places.register(lat=50.45, lon=30.52)
    assert far.regions == ("31",)


async def test_points_far_from_every_region_and_bad_input_are_refused(rt: Runtime) -> None:
    with pytest.raises(ValidationFailed) as info:
        await rt.places.register(lat=52.23, lon=21.01)  # Warsaw
    assert info.value.detail_key == "targeting.place_outside"
    for kwargs in ({"lat": 50.0}, {"lat": 50.0, "lon": 30.0, "region": "31"}, {"region": "nowhere"}, {}):
        with pytest.raises(ValidationFailed):
            await rt.places.register(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        await rt.places.register("short", region="31")


async def test_region_places_and_limits(rt: Runtime) -> None:
    first = await rt.places.register("subscriber-1", region="14")
    assert (first.kind, first.regions, first.level) == (PlaceKind.REGION, ("14",), "oblast")
    registry = PlaceRegistry(rt.store, rt.registry, max_per_subscriber=2)
    await registry.register("subscriber-1", region="31")
    with pytest.raises(TooManyPlaces):
        await registry.register("subscriber-1", region="27")
    await registry.delete(first.id)
    with pytest.raises(PlaceNotFound):
        await registry.delete(first.id)
    with pytest.raises(PlaceNotFound):
        await registry.get(first.id)
    assert await registry.delete_subscriber("subscriber-1") == 1
    assert await registry.counts() == (0, 0)


async def test_another_writer_is_followed_through_the_log_and_a_lost_log_reloads(rt: Runtime) -> None:
    kyiv = await rt.service.issue(AlertDraft(target=Target(regions=("31",))))
    other = PlaceRegistry(rt.store, rt.registry)  # another process sharing the database
    assert await rt.places.match(kyiv.event.alert) == frozenset()
    a = await other.register("subscriber-a", lat=50.45, lon=30.52)
    await other.register("subscriber-b", region="UA")
    assert await rt.places.match(kyiv.event.alert) == {"subscriber-a", "subscriber-b"}
    await other.delete(a.id)
    assert await rt.places.match(kyiv.event.alert) == {"subscriber-b"}

    await other.register("subscriber-c", region="31")
    await rt.store.transaction(lambda conn: conn.execute("DELETE FROM place_log"))  # as if pruned long ago
    await other.register("subscriber-d", lat=50.46, lon=30.50)
    assert await rt.places.match(kyiv.event.alert) == {"subscriber-b", "subscriber-c", "subscriber-d"}
    assert [p.subscriber for p in await rt.places.match_places(kyiv.event.alert)] == [
        "subscriber-b",
        "subscriber-c",
        "subscriber-d",
    ]


async def test_many_changes_are_compacted_into_a_new_base(rt: Runtime) -> None:
    lviv = await rt.service.issue(AlertDraft(target=Target(regions=("27",))))
    for i in range(40):
        await rt.places.register(f"lviv-{i:04d}", region="27")
    await rt.places.refresh()
    registry = PlaceRegistry(rt.store, rt.registry)
    await registry.refresh()  # a base of 40
    rows = [(f"bulk-{i}", f"bulk-{i:06d}", "2026-01-01T00:00:00.000Z") for i in range(4100)]

    def bulk(conn: sqlite3.Connection) -> None:  # enough new places, from elsewhere, to ask for a compaction
        conn.executemany(
            "INSERT INTO places (id, subscriber, kind, regions, created_at) VALUES (?, ?, 'region', '[\"27\"]', ?)",
            rows,
        )
        conn.execute("INSERT INTO place_log (n, op) SELECT n, 'add' FROM places WHERE id LIKE 'bulk-%' ORDER BY n")

    await rt.store.transaction(bulk)
    reached = await registry.match(lviv.event.alert)
    assert len(reached) == 4140
    assert registry.compacting
    await registry.compaction_done()
    assert not registry.compacting
    assert len(await registry.match(lviv.event.alert)) == 4140
    await registry.close()
