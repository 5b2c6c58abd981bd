"""A client hopping between two nodes of one database while alerts keep coming gets every event exactly once, in
order: a node whose bus has not yet brought it the events the client was sent elsewhere holds the client back
until it has, rather than sending those events again."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest
from cluster_support import Follower

from sirena import auth, testing
from sirena.cluster.testing import Node


@pytest.mark.parametrize("front", [True, False], ids=["front", "asgi"])
async def test_a_client_hopping_between_nodes_misses_nothing_and_gets_nothing_twice(
    tmp_path: Path, front: bool
) -> None:
    settings = testing.settings_for(tmp_path, relay_poll_s=0.3)  # the second node hears of the first's writes late
    async with (
        testing.running(settings.replace(node_id="A", port=1)) as a,
        testing.running(settings.replace(node_id="B", port=2)) as b,
        testing.serve(a, front=front) as url_a,
        testing.serve(b, front=front) as url_b,
    ):
        token, _ = await auth.create(a.store, "hops")
        nodes = [
            Node("A", int(url_a.rsplit(":", 1)[1]), None, tmp_path),
            Node("B", int(url_b.rsplit(":", 1)[1]), None, tmp_path),
        ]  # type: ignore[arg-type]
        follower = Follower(nodes[0])
        follower.start()
        await asyncio.wait_for(follower.ready.wait(), 10)
        written = 0
        done = asyncio.Event()

        async def write() -> None:
            nonlocal written
            async with httpx.AsyncClient(base_url=url_a, headers={"Authorization": f"Bearer {token}"}) as client:
                while not done.is_set():
                    response = await client.post("/api/v1/alerts", json={"regions": ["31"]})
                    assert response.status_code == 201
                    written += 1
                    await asyncio.sleep(0.01)

        writer = asyncio.create_task(write())
        for node in itertools.islice(itertools.cycle([nodes[1], nodes[0]]), 12):
            await asyncio.sleep(0.15)
            await follower.move_to(node)
        done.set()
        await writer
        await follower.wait_for(lambda s: len(s) >= written, within=30)
        await asyncio.sleep(0.5)
        await follower.stop()
        assert follower.seqs == list(range(1, written + 1))
