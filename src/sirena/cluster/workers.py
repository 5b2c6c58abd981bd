"""Per-core fan-out: ``sirena serve`` with ``SIRENA_WORKERS=N`` runs N worker processes on one port.

Each worker binds its own listening socket to the same address with ``SO_REUSEPORT``, so the kernel spreads new
connections over the workers, and each is a full node: its own front, hub, relay and connection to the store.
With the embedded default (SQLite and the in-process bus) the workers share the database file; a worker that
commits tells its siblings the new sequence number over a local datagram socket, and they read the new events
from the event log through their relays (the same gap fill that picks up writes by the CLI) and fan them out to
their own clients. So every client gets every event once and in order, ``Last-Event-ID`` resumes on any worker,
and an API write works on whichever worker receives it. With NATS (``SIRENA_BUS_URL=nats://…``) the bus feeds
every worker as it feeds every node; the notices only make the relays look sooner.

The parent process only supervises: SIGTERM or SIGINT is passed on once to every worker, which drains its clients
as a single node does (a second signal kills them). A worker that exits while the server is not stopping brings
the whole server down with an error, rather than leaving it to serve some of its clients and not others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from sirena import messages

if TYPE_CHECKING:
    from sirena.settings import Settings

log = logging.getLogger("sirena")

SEQ = struct.Struct("!q")


class Siblings:
    """The other workers of this server, reached by datagrams on Unix sockets in a folder the parent made. A
    notice carries the last sequence number a worker committed; a lost notice only delays the event until the
    relay's next poll of the event log (``SIRENA_RELAY_POLL_S``)."""

    def __init__(self, folder: Path, index: int, count: int) -> None:
        self.index = index
        self.path = folder / f"worker-{index}.sock"
        self.peers = [str(folder / f"worker-{i}.sock") for i in range(count) if i != index]
        self._sock: socket.socket | None = None
        self.sent = 0
        self.received = 0

    def open(self, on_seq: Callable[[int], None]) -> None:
        """Listen for siblings' notices on the running loop; ``on_seq`` gets the highest number of each batch."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock.bind(str(self.path))
        sock.setblocking(False)
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._read, on_seq)

    def _read(self, on_seq: Callable[[int], None]) -> None:
        assert self._sock is not None
        latest = 0
        while True:
            try:
                data = self._sock.recv(64)
            except OSError:  # nothing more waiting
                break
            if len(data) == SEQ.size:
                self.received += 1
                latest = max(latest, SEQ.unpack(data)[0])
        if latest:
            on_seq(latest)

    def tell(self, seq: int) -> None:
        """Tell every sibling that events up to ``seq`` are committed; never waits."""
        if self._sock is None:
            return
        data = SEQ.pack(seq)
        for peer in self.peers:
            try:
                self._sock.sendto(data, peer)
                self.sent += 1
            except OSError:  # not listening yet, gone, or its queue is full: its poll of the log finds the events
                pass

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, so that every worker can bind one."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def check_port(settings: Settings) -> None:
    """Fail with one clear line when ``sirena serve`` could not listen (a port another program holds), rather than
    with a server's start-up log (or a traceback from every worker)."""
    from sirena.errors import ConfigurationError

    if not 0 <= settings.port <= 65535:
        raise ConfigurationError("error.serve_port", port=settings.port)
    if settings.port == 0:
        return
    try:  # a plain bind, without SO_REUSEPORT: it fails also against another server's workers sharing the port
        family, kind, proto, _, address = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise ConfigurationError(
            "error.serve_bind", host=settings.host, port=settings.port, reason=exc.strerror or str(exc)
        ) from None


def prepare(settings: Settings) -> None:
    """Bring an SQLite database up to date once, before the workers open it side by side."""
    if settings.database_url.startswith("sqlite:") or "://" not in settings.database_url:
        from sirena.store.sqlite import connect, migrate, path_from_url

        path = path_from_url(settings.database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
        try:
            migrate(conn)
        finally:
            conn.close()


def run(settings: Settings) -> int:
    """Run ``settings.workers`` workers until they stop; the exit status for ``sirena serve``."""
    from sirena.cluster import node_name
    from sirena.errors import ConfigurationError

    count = settings.workers
    if settings.port == 0:
        raise ConfigurationError("error.workers_port")
    check_port(settings)
    prepare(settings)
    base = settings.node_id or node_name(settings.port)
    folder = Path(tempfile.mkdtemp(prefix="sirena-workers-"))
    children: dict[int, int] = {}
    lifelines: list[int] = []
    try:
        for index in range(count):
            parent_end, child_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(child_end)
                for fd in lifelines:
                    os.close(fd)
                worker = settings.replace(node_id=f"{base}/{index}", demo=settings.demo and index == 0)
                os._exit(_worker(worker, folder, index, count, parent_end))
            os.close(parent_end)
            lifelines.append(child_end)
            children[pid] = index
        return _supervise(children)
    finally:
        for fd in lifelines:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


def _supervise(children: dict[int, int]) -> int:
    stopping = False
    signals = 0
    status = 0

    def tell_all(sig: int) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping, signals
        stopping = True
        signals += 1
        tell_all(signal.SIGTERM if signals == 1 else signal.SIGKILL)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while children:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        if index is None:
            continue
        code = os.waitstatus_to_exitcode(raw)
        if not stopping:
            sys.stderr.write(messages.t("cluster.worker_exited", index=index, pid=pid, code=code) + "\n")
            sys.stderr.flush()
            stopping = True
            status = code if code > 0 else 1
            tell_all(signal.SIGTERM)
        elif code not in (0, -signal.SIGTERM, -signal.SIGINT) and status == 0:  # uvicorn ends by its signal
            status = code if code > 0 else 1
    return status


def _worker(settings: Settings, folder: Path, index: int, count: int, parent_end: int) -> int:
    """Serve as worker ``index``; its exit status. Runs in the forked child and never returns into the parent's
    code."""
    try:
        os.setpgid(0, 0)  # the terminal's Ctrl-C reaches the parent, which passes it on once
        threading.Thread(target=_stop_with_parent, args=(parent_end,), name="sirena-lifeline", daemon=True).start()
        from sirena.cluster import shutdown
        from sirena.runtime import Runtime
        from sirena.web import create_app

        runtime = Runtime(settings)
        runtime.siblings = Siblings(folder, index, count)
        app = create_app(runtime=runtime)
        shutdown.serve(app, settings, sock=listening_socket(settings.host, settings.port))
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()


def _stop_with_parent(parent_end: int) -> None:
    """Block until the parent's end of the pipe closes (the parent died), then stop this worker."""
    with contextlib.suppress(OSError):
        while os.read(parent_end, 1):
            pass
    os.kill(os.getpid(), signal.SIGTERM)
