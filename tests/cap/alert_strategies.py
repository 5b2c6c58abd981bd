"""Generated Sirena alerts for the CAP tests: every kind, threat, level, status and state, region, polygon and
circle targets, texts in several languages with XML-special characters, and exact millisecond times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from sirena.domain.model import (
    Alert,
    AlertState,
    Circle,
    Kind,
    Level,
    Source,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.regions import RegionRegistry
from sirena.service import AlertService

LANGUAGES = ("uk", "en", "de", "pl", "crh", "en-GB", "ru")
SPECIALS = "<>&\"'’\n\t\r]]>"
CYRILLIC = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюяАБВҐЇЄ"

#: Text as an issuer would type it: any printable characters (plus the XML-special ones and line breaks), never
#: starting or ending with whitespace (CAP readers trim) and never empty.
texts = (
    st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
            st.sampled_from(SPECIALS + CYRILLIC),
        ),
        min_size=1,
        max_size=80,
    )
    .map(str.strip)
    .filter(bool)
)


def moments() -> st.SearchStrategy[datetime]:
    return st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
    )


def _ring(lat: float, lon: float, size: float, points: int, wobble: list[float]) -> list[list[float]]:
    """A star-shaped closed ring in GeoJSON order (lon, lat) around a point."""
    import math

    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        radius = size * (0.5 + wobble[i % len(wobble)] / 2)
        ring.append([lon + radius * math.cos(angle), lat + radius * math.sin(angle) * 0.7])
    ring.append(list(ring[0]))
    return ring


@st.composite
def targets(draw: st.DrawFn, registry: RegionRegistry, anchors: list[tuple[float, float]]) -> Target:
    """Region ids (any level, the country included), a Polygon, a MultiPolygon, or a circle, inside Ukraine."""
    choice = draw(st.sampled_from(["regions", "Polygon", "MultiPolygon", "circle"]))
    if choice == "regions":
        ids = [r.id for r in registry]
        return Target(regions=tuple(draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))))
    lat, lon = draw(st.sampled_from(anchors))
    lat += draw(st.floats(-0.2, 0.2))
    lon += draw(st.floats(-0.2, 0.2))
    if choice == "circle":
        return Target(circle=Circle(lat, lon, draw(st.floats(0.5, 300.0))))
    wobble = draw(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6))
    first = _ring(lat, lon, draw(st.floats(0.01, 1.5)), draw(st.integers(3, 12)), wobble)
    if choice == "Polygon":
        return Target(area={"type": "Polygon", "coordinates": [first]})
    lat2, lon2 = draw(st.sampled_from(anchors))
    second = _ring(lat2, lon2, draw(st.floats(0.01, 0.5)), draw(st.integers(3, 8)), wobble)
    return Target(area={"type": "MultiPolygon", "coordinates": [[first], [second]]})


@st.composite
def alerts(draw: st.DrawFn, service: AlertService, anchors: list[tuple[float, float]]) -> tuple[Alert, list[Any]]:
    """An alert and the (version, updated_at) of its earlier versions."""
    target = draw(targets(service.registry, anchors))
    regions, partial = service.resolve(target)
    state = draw(st.sampled_from(AlertState))
    version = draw(st.integers(1 if state is AlertState.ACTIVE else 2, 6))
    started = draw(moments())
    steps = sorted(draw(st.lists(st.integers(0, 86_400_000), min_size=version, max_size=version)))
    times = [started + timedelta(milliseconds=ms) for ms in steps]
    languages = st.sampled_from(LANGUAGES)
    alert = Alert(
        id=draw(st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)),
        version=version,
        state=state,
        target=target,
        regions=regions,
        partial_regions=partial,
        kind=draw(st.sampled_from(Kind)),
        level=draw(st.sampled_from(Level)),
        status=draw(st.sampled_from(Status)),
        threats=tuple(
            draw(st.lists(st.builds(Threat, st.sampled_from(ThreatType), st.sampled_from(Level)), max_size=4))
        ),
        issuer=draw(st.one_of(st.just("token:ops"), texts)),
        started_at=started,
        updated_at=times[-1],
        ended_at=times[-1] if state is not AlertState.ACTIVE else None,
        expires_at=draw(st.none() | moments()),
        headline=draw(st.dictionaries(languages, texts, max_size=4)),
        instruction=draw(st.dictionaries(languages, texts, max_size=4)),
        time_to_shelter_s=draw(st.none() | st.integers(0, 86_400)),
        source=draw(st.sampled_from(Source)),
    )
    return alert, [(i + 1, t) for i, t in enumerate(times[:-1])]
