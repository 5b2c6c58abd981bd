"""Following external CAP feeds: each configured URL polled with conditional GET, and ingested.

A feed is an Atom or RSS document (or a single CAP message). Alerts it embeds are ingested directly; entries that
only link to CAP are fetched, each with its own conditional GET, so an unchanged message costs one ``304``. A
link that leaves the feed (an alert that ended) is fetched once more, for the message that ended it. A failing
feed backs off exponentially (with jitter) up to an hour and honours ``Retry-After``; the others go on.
Links are followed only over http(s), at most :data:`MAX_LINKS` per poll, and every body is size-limited.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from sirena import __version__
from sirena.cap.config import CapConfig
from sirena.cap.gateway import CapGateway, ContextFactory, IngestResult
from sirena.delivery.backoff import Backoff
from sirena.errors import SirenaError

log = logging.getLogger("sirena.cap.pull")

MAX_LINKS = 200
MAX_BACKOFF_S = 3600.0
FEED_MAX_BYTES = 16 << 20
ACCEPT = "application/atom+xml, application/rss+xml, application/cap+xml, application/xml;q=0.9, */*;q=0.5"


class FeedError(Exception):
    """A poll that failed: the feed backs off."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Validators:
    """What the server said last time, for the next conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass
class FeedState:
    url: str
    validators: Validators = field(default_factory=Validators)
    links: dict[str, Validators] = field(default_factory=dict)
    failures: int = 0
    polls: int = 0
    not_modified: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll: ``None`` documents when the feed was unchanged (304)."""

    changed: bool
    results: tuple[IngestResult, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def alert_ids(self) -> list[str]:
        return list(dict.fromkeys(i for r in self.results for i in r.alert_ids))


def backoff(poll_s: float, failures: int, retry_after: float | None = None, jitter: float | None = None) -> float:
    """Seconds until the next poll: ``poll_s`` while all is well; after ``failures`` failures in a row,
    ``poll_s · 2^failures`` (at most an hour) with ±20 % jitter, and never sooner than ``Retry-After``."""
    if failures <= 0:
        return poll_s
    spread = random.uniform(0.8, 1.2) if jitter is None else jitter
    delay = Backoff(base_s=2 * poll_s, cap_s=MAX_BACKOFF_S).nominal(failures) * spread
    return max(delay, retry_after or 0.0)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class FeedPuller:
    def __init__(self, config: CapConfig, gateway: CapGateway, context: ContextFactory) -> None:
        self.config = config
        self.gateway = gateway
        self.context = context
        self.states = {url: FeedState(url) for url in config.feeds}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            follow_redirects=True,
            headers={"User-Agent": f"Sirena/{__version__} (CAP feed follower)", "Accept": ACCEPT},
        )

    async def run(self) -> None:
        """Follow every configured feed until cancelled."""
        async with self.client() as client:
            await asyncio.gather(*(self._follow(client, state) for state in self.states.values()))

    async def _follow(self, client: httpx.AsyncClient, state: FeedState) -> None:
        while True:
            retry_after = None
            try:
                await self.poll(client, state)
            except FeedError as exc:
                retry_after = exc.retry_after
                log.warning("CAP feed %s: %s (failure %d in a row)", state.url, exc, state.failures)
            except Exception:  # a broken feed must never stop the others
                state.failures += 1
                log.exception("CAP feed %s failed", state.url)
            await asyncio.sleep(backoff(self.config.poll_s, state.failures, retry_after))

    async def _get(self, client: httpx.AsyncClient, url: str, validators: Validators, limit: int) -> bytes | None:
        """The body at ``url``, or ``None`` when unchanged; remembers the validators."""
        try:
            async with client.stream("GET", url, headers=validators.headers()) as response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise FeedError(f"HTTP {response.status_code} from {url}", _retry_after(response))
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise FeedError(f"{url} is larger than {limit} bytes")
                    chunks.append(chunk)
                validators.etag = response.headers.get("etag")
                validators.last_modified = response.headers.get("last-modified")
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FeedError(f"{type(exc).__name__}: {exc}") from None

    async def _ingest(self, data: bytes, origin: str) -> IngestResult:
        return await self.gateway.ingest(
            data, origin=origin, context=self.context, strict=False, max_bytes=FEED_MAX_BYTES
        )

    async def poll(self, client: httpx.AsyncClient, state: FeedState) -> PollResult:
        """Poll one feed once (and the CAP it links to). Raises :class:`FeedError` when the feed itself fails."""
        state.polls += 1
        try:
            data = await self._get(client, state.url, state.validators, FEED_MAX_BYTES)
            if data is None:
                state.not_modified += 1
                state.failures = 0
                return PollResult(changed=False)
            try:
                first = await self._ingest(data, f"feed:{state.url}")
            except SirenaError as exc:
                raise FeedError(f"{state.url}: {exc.detail()}") from None
        except FeedError as exc:
            state.failures += 1
            state.last_error = str(exc)
            raise
        state.failures = 0
        state.last_error = None
        results = [first]
        errors: list[str] = []
        links = [link for link in first.report.links if link.startswith(("http://", "https://"))][:MAX_LINKS]
        previous = state.links
        state.links = {link: previous.get(link) or Validators() for link in links}
        vanished = [link for link in previous if link not in state.links]  # ended: its last word, once more
        for link in links + vanished:
            try:
                validators = state.links.get(link) or previous[link]
                body = await self._get(client, link, validators, self.config.max_bytes)
                if body is not None:
                    results.append(await self._ingest(body, f"feed:{state.url}"))
            except (FeedError, SirenaError) as exc:
                detail = exc.detail() if isinstance(exc, SirenaError) else str(exc)
                errors.append(f"{link}: {detail}")
                log.warning("CAP feed %s: %s", state.url, errors[-1])
        return PollResult(changed=True, results=tuple(results), errors=tuple(errors))
