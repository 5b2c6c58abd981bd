"""`sirena serve --workers 2` on the embedded default (SQLite, in-process bus): two processes behind one port, each
with its own live clients, every client hears every committed event once and in order, and resumes on either."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sirena.cluster.testing import cli, free_port
from sirena.protocol import sse


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the server process)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                        found.append(int(entry.name))
        return found


@contextlib.contextmanager
def serving(tmp_path: Path, workers: int = 2) -> Iterator[Server]:
    env = {
        **os.environ,
        "SIRENA_DATABASE_URL": f"sqlite:///{tmp_path / 'sirena.db'}",
        "SIRENA_RELAY_POLL_S": "60",  # only the workers' notices can carry events across in time
        "SIRENA_LOG_LEVEL": "warning",
        "SIRENA_RATE_LIMIT_WRITES": "0",
        "SIRENA_RATE_LIMIT_WRITES_IP": "0",
        "SIRENA_SHUTDOWN_GRACE_S": "3",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sirena", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, env, log)
    try:
        deadline = time.monotonic() + 60
        while len(server.workers()) < workers or not _ready(server):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _ready(server: Server) -> bool:
    try:
        return httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Reader:
    """One raw SSE connection: which worker serves it, and the events it has read."""

    worker: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    buffer: str = ""
    events: list[dict[str, str]] = field(default_factory=list)

    async def until(self, count: int, seconds: float = 15) -> list[dict[str, str]]:
        """Read until ``count`` events with data (snapshot included) have arrived."""
        async with asyncio.timeout(seconds):
            while len(self.events) < count:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                self.buffer += chunk.decode()
                *blocks, self.buffer = self.buffer.split("\n\n")
                for block in blocks:
                    self.events += [e for e in sse.parse(block + "\n\n") if "data" in e]
        return self.events

    def close(self) -> None:
        self.writer.close()


async def connect(server: Server, last_id: int | None = None) -> Reader:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    resume = "" if last_id is None else f"Last-Event-ID: {last_id}\r\n"
    writer.write(f"GET /api/v1/stream?statuses=all HTTP/1.1\r\nHost: x\r\n{resume}\r\n".encode())
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    assert head.startswith("http/1.1 200")
    worker = next(int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("x-sirena-worker:"))
    return Reader(worker, reader, writer)


@contextlib.asynccontextmanager
async def on_both_workers(server: Server, per_worker: int, last_id: int | None = None) -> AsyncIterator[list[Reader]]:
    """Open connections until each worker serves ``per_worker`` of them (the kernel picks the worker)."""
    readers: list[Reader] = []
    try:
        for _ in range(200):
            if all(sum(r.worker == w for r in readers) >= per_worker for w in (0, 1)):
                break
            readers.append(await connect(server, last_id))
        else:
            pytest.fail("connections never reached both workers")
        yield readers
    finally:
        for reader in readers:
            reader.close()


def issue(server: Server, token: str, region: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:  # a new connection: either worker answers
        response = client.post(
            "/api/v1/alerts",
            json={"regions": [region], "threats": [{"type": "drones"}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text


async def test_every_client_on_either_worker_hears_every_event_in_order_and_resumes_on_either(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as server:
        token = cli(server.env, "token", "create", "--name", "workers")
        async with on_both_workers(server, per_worker=3) as readers:
            snapshots = [(await r.until(1))[0] for r in readers]
            assert all(s["event"] == "snapshot" for s in snapshots)
            start = int(snapshots[0]["id"])
            for region in ("31", "14", "31", "26"):
                await asyncio.to_thread(issue, server, token, region)
            seqs = [int(e["id"]) for e in (await readers[0].until(5))[1:]]
            assert len(seqs) == 4
            assert start < seqs[0] < seqs[1] < seqs[2] < seqs[3]
            for reader in readers:
                events = (await reader.until(5))[1:]
                assert [int(e["id"]) for e in events] == seqs, f"worker {reader.worker}"
                assert all(e["event"] == "alert.issued" for e in events)
        async with on_both_workers(server, per_worker=2, last_id=seqs[1]) as resumed:
            for reader in resumed:
                assert [int(e["id"]) for e in await reader.until(2)] == seqs[2:], f"worker {reader.worker}"
            await asyncio.to_thread(issue, server, token, "14")
            later = [int(e["id"]) for e in await resumed[0].until(3)]
            assert later[:2] == seqs[2:]
            assert later[2] > seqs[3]
            for reader in resumed:
                assert [int(e["id"]) for e in await reader.until(3)] == later, f"worker {reader.worker}"
                with pytest.raises(TimeoutError):  # and nothing twice
                    await reader.until(4, seconds=0.3)
            server.process.send_signal(signal.SIGTERM)
            for reader in resumed:  # drained: every stream is told to come back, then ends
                async with asyncio.timeout(15):
                    rest = await reader.reader.read()
                assert b"retry:" in rest
        assert await asyncio.to_thread(server.process.wait, 30) == 0, server.log.read_text()
        assert server.workers() == []


async def test_a_worker_that_dies_stops_the_whole_server_with_an_error(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        victim, survivor = server.workers()
        os.kill(victim, signal.SIGKILL)
        code = await asyncio.to_thread(server.process.wait, 30)
        assert code != 0
        assert "worker" in server.log.read_text()
        with pytest.raises(ProcessLookupError):
            for _ in range(100):
                os.kill(survivor, 0)
                await asyncio.sleep(0.1)
