"""Helpers for testing Sirena (and extensions) against the scale-out backends: a scratch PostgreSQL database per
test, made from a migrated template, and unique NATS JetStream stream names.

The server is ``SIRENA_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``, trust
authentication), the NATS server ``SIRENA_TEST_NATS_URL`` (default ``nats://127.0.0.1:4222``). Every database
made here has a unique name and is dropped (``WITH (FORCE)``) on exit, so test runs never meet.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NATS_URL = "nats://127.0.0.1:4222"


def admin_url() -> str:
    return os.environ.get("SIRENA_TEST_POSTGRES_URL", ADMIN_URL)


def nats_url() -> str:
    return os.environ.get("SIRENA_TEST_NATS_URL", NATS_URL)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def database_url(name: str) -> str:
    """The URL of database ``name`` on the server of :func:`admin_url`."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(admin_url())
    params["dbname"] = name
    host, port, user = params.get("host", "127.0.0.1"), params.get("port", "5432"), params.get("user", "postgres")
    if set(params) <= {"dbname", "host", "port", "user"}:
        return f"postgresql://{user}@{host}:{port}/{name}"
    return make_conninfo("", **params)


@contextlib.contextmanager
def scratch_database(*, template: str | None = None, prefix: str = "sirena_test") -> Iterator[str]:
    """A new, empty (or ``template``-copied) database; yields its URL and drops it on exit."""
    import psycopg

    name = unique_name(prefix)
    with psycopg.connect(admin_url(), autocommit=True) as admin:
        clause = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{clause}')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def name_of(url: str) -> str:
    """The database name in a URL made by :func:`database_url`."""
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url)["dbname"])


async def delete_stream(url: str, stream: str) -> None:
    """Remove a JetStream stream if it exists."""
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


NATS_SERVER = "/usr/sbin/nats-server"


class NatsServer:
    """A private ``nats-server -js`` on a port of its own with its own store directory, which a test can stop and
    start again (the brokers other tests use are never touched)."""

    def __init__(self, port: int, store_dir: str, executable: str = NATS_SERVER) -> None:
        self.port = port
        self.store_dir = store_dir
        self.executable = executable
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, wait_s: float = 10.0) -> None:
        import socket
        import subprocess
        import time

        args = [self.executable, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.store_dir]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- real nodes ------------------------------------------------------------------------------------------------


@dataclass
class Node:
    """A `sirena serve` process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``sirena ARGS`` with ``env``; its output, or RuntimeError with its errors."""
    done = subprocess.run(
        [sys.executable, "-m", "sirena", *args], env=env, capture_output=True, text=True, timeout=90, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"sirena {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def node_env(database_url: str, bus_url: str, stream: str, **extra: str) -> dict[str, str]:
    """The environment of a test node: quick polls and leases, no write rate limits, quiet logs."""
    return {
        **os.environ,
        "SIRENA_DATABASE_URL": database_url,
        "SIRENA_BUS_URL": bus_url,
        "SIRENA_BUS_STREAM": stream,
        "SIRENA_RELAY_POLL_S": "0.2",
        "SIRENA_DELIVERY_POLL_S": "0.2",
        "SIRENA_LEASE_TTL_S": "2",
        "SIRENA_WEBHOOK_ALLOW_PRIVATE": "true",
        "SIRENA_STREAM_HEARTBEAT_S": "1",
        "SIRENA_SHUTDOWN_GRACE_S": "3",
        "SIRENA_LOG_LEVEL": "warning",
        "SIRENA_RATE_LIMIT_WRITES": "0",
        "SIRENA_RATE_LIMIT_WRITES_IP": "0",
        **extra,
    }


def start_nodes(env: dict[str, str], names: list[str], folder: Path) -> list[Node]:
    """Start a `sirena serve` process per name (``SIRENA_NODE_ID``), in parallel, on ports of their own, logging to
    ``folder/node-NAME.log``, and wait until each answers ``/readyz``."""
    nodes = []
    for name in names:
        port = free_port()
        log = folder / f"node-{name}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "sirena", "serve", "--port", str(port)],
            env={**env, "SIRENA_NODE_ID": name},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        nodes.append(Node(name, port, process, log))
    deadline = time.monotonic() + 60
    for node in nodes:
        while True:
            try:
                if httpx.get(f"{node.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if node.process.poll() is not None:
                raise RuntimeError(f"node {node.name} exited:\n{node.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {node.name} did not become ready")
            time.sleep(0.1)
    return nodes


@contextlib.contextmanager
def running(env: dict[str, str], names: list[str], folder: Path) -> Iterator[list[Node]]:
    nodes = start_nodes(env, names, folder)
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
