"""Scale-out benchmark: PostgreSQL and NATS JetStream against the embedded default, and a three-node cluster.

Run with ``python -m bench cluster`` (needs PostgreSQL on 127.0.0.1:5432 and NATS on 127.0.0.1:4222). Figures
and baselines, measured in the same run on the same machine:

* ``store_writes.postgres``: alert writes per second through ``store.write`` (20 at a time, 1,500 writes) on
  PostgreSQL. Baseline: the same on SQLite.
* ``http_writes.three_nodes``: alerts issued per second over HTTP (10 clients, round robin) on three
  `sirena serve` nodes sharing PostgreSQL and NATS. Baseline: one node on SQLite with the in-process bus.
* ``latency.other_node_p50`` / ``p95``: from sending ``POST /api/v1/alerts`` to node A until node B's live stream
  delivers the event (300 alerts, one at a time). Baseline: the same alert on node A's own stream.
* ``takeover.webhooks``: from ``kill -9`` of the node delivering a webhook subscription to the next delivery by
  another node. Baseline: the lease time to live (``SIRENA_LEASE_TTL_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import row
from sirena import domain
from sirena.cluster.testing import Node, cli, delete_stream, nats_url, node_env, scratch_database, start_nodes
from sirena.domain import AlertDraft, Target
from sirena.store import open_store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LEASE_TTL_S = 2.0


async def store_writes(url: str, n: int = 1500, at_once: int = 20) -> float:
    store = open_store(url)
    await store.open()
    draft = AlertDraft(target=Target(regions=("31",)), regions=("31",))
    slots = asyncio.Semaphore(at_once)

    async def one(i: int) -> None:
        async with slots:
            await store.write(f"A{i}", lambda c: domain.issue(draft, alert_id=f"A{i}", now=T0))

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    rate = n / (time.perf_counter() - started)
    await store.close()
    return rate


async def http_writes(nodes: list[Node], token: str, seconds: float = 8.0, clients: int = 10) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    done = 0
    stop = time.monotonic() + seconds
    turn = itertools.count()

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30) as http:
            while time.monotonic() < stop:
                node = nodes[next(turn) % len(nodes)]
                response = await http.post(f"{node.url}/api/v1/alerts", json={"regions": ["31"]}, headers=auth)
                response.raise_for_status()
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.monotonic() - started)


@contextlib.asynccontextmanager
async def arrivals(node: Node) -> AsyncIterator[dict[int, float]]:
    """Event sequence number → when node's live stream delivered it (perf_counter)."""
    seen: dict[int, float] = {}
    ready = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as http,
            http.stream("GET", f"{node.url}/api/v1/stream?statuses=all") as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("event: snapshot"):
                    ready.set()
                elif line.startswith("id: "):
                    seen[int(line[4:])] = time.perf_counter()

    task = asyncio.create_task(read())
    await asyncio.wait_for(ready.wait(), 15)
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await task


async def latencies(a: Node, b: Node, token: str, n: int = 300) -> tuple[list[float], list[float]]:
    auth = {"Authorization": f"Bearer {token}"}
    same, other = [], []
    async with arrivals(a) as on_a, arrivals(b) as on_b, httpx.AsyncClient(timeout=30) as http:
        for _ in range(n):
            seq = max(on_a) + 1  # nothing else writes meanwhile; the snapshot's id is in on_a
            sent = time.perf_counter()
            response = await http.post(f"{a.url}/api/v1/alerts", json={"regions": ["14"]}, headers=auth)
            response.raise_for_status()
            deadline = time.monotonic() + 10
            while (seq not in on_a or seq not in on_b) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling other processes
                await asyncio.sleep(0.0005)
            same.append((on_a[seq] - sent) * 1000)
            other.append((on_b[seq] - sent) * 1000)
    return same, other


async def takeover(nodes: list[Node], token: str) -> float:
    """Seconds from kill -9 of the webhook lease holder to the next delivery by another node."""
    auth = {"Authorization": f"Bearer {token}"}
    hits: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0
                )
                await reader.readexactly(length)
                hits.append(time.perf_counter())
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    async with httpx.AsyncClient(timeout=30) as http:
        hook = (await http.post(f"{nodes[0].url}/api/v1/webhooks", json={"url": url}, headers=auth)).json()
        await http.post(f"{nodes[0].url}/api/v1/alerts", json={"regions": ["31"]}, headers=auth)
        while not hits:  # noqa: ASYNC110 - polling other processes
            await asyncio.sleep(0.01)
        holder = None
        while holder is None:
            for node in nodes:
                if f"webhook:{hook['id']}" in (await http.get(f"{node.url}/readyz")).json()["leases"]:
                    holder = node
        survivor = next(n for n in nodes if n is not holder)
        await asyncio.to_thread(holder.kill9)
        killed = time.perf_counter()
        before = len(hits)
        await http.post(f"{survivor.url}/api/v1/alerts", json={"regions": ["14"]}, headers=auth)
        while len(hits) == before:  # noqa: ASYNC110 - polling other processes
            await asyncio.sleep(0.01)
    server.close()
    return hits[before] - killed


@contextlib.contextmanager
def cluster(env: dict[str, str], names: list[str], folder: Path) -> Iterator[list[Node]]:
    nodes = start_nodes(env, names, folder)
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def measure() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        on_sqlite = await store_writes(f"sqlite:///{folder / 'store.db'}")
        with scratch_database(prefix="sirena_bench") as url:
            on_postgres = await store_writes(url)
        rows.append(
            row("store_writes.postgres", on_postgres, "writes/s", on_sqlite, "the same writes on SQLite (WAL, FULL)")
        )

        env = node_env(f"sqlite:///{folder / 'one.db'}", "memory://", "sirena", SIRENA_LEASE_TTL_S=str(LEASE_TTL_S))
        token = cli(env, "token", "create", "--name", "bench")
        with cluster(env, ["solo"], folder) as nodes:
            one_node = await http_writes(nodes, token)

        stream = f"sirena_bench_{int(time.time())}"
        with scratch_database(prefix="sirena_bench") as url:
            env = node_env(url, nats_url(), stream, SIRENA_LEASE_TTL_S=str(LEASE_TTL_S))
            token = cli(env, "token", "create", "--name", "bench")
            try:
                with cluster(env, ["A", "B", "C"], folder) as nodes:
                    three = await http_writes(nodes, token)
                    same, other = await latencies(nodes[0], nodes[1], token)
                    moved = await takeover(nodes, token)
            finally:
                await delete_stream(nats_url(), stream)
        rows.append(row("http_writes.three_nodes", three, "writes/s", one_node, "one node on SQLite, in-process bus"))
        q_same, q_other = statistics.quantiles(same, n=20), statistics.quantiles(other, n=20)
        rows.append(
            row(
                "latency.other_node_p50",
                statistics.median(other),
                "ms",
                statistics.median(same),
                "the same alert on A's stream",
            )
        )
        rows.append(row("latency.other_node_p95", q_other[18], "ms", q_same[18], "the same alert on A's stream"))
        rows.append(row("takeover.webhooks", moved, "s", LEASE_TTL_S, "the lease time to live"))
    return rows


def run() -> list[dict[str, Any]]:
    return asyncio.run(measure())


if __name__ == "__main__":
    import json

    for row in run():
        print(json.dumps(row))
