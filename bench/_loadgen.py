"""Load generator for the fan-out benchmark: holds N idle SSE or WebSocket connections in its own process.

    python bench/_loadgen.py HOST PORT PATH N sse|ws

Protocol on stdin/stdout (one line each):
  start-up          → "READY <n>" once every connection has received its first event (or "FAILED <reason>")
  "WAIT <seconds>"  → sleeps that long (so it takes no CPU during the fan-out), then reads every socket and
                      prints JSON {"first": ns, "last": ns, "received": n} with kernel receive timestamps
                      (SO_TIMESTAMPNS, CLOCK_REALTIME) of the first new bytes on each connection; connections
                      with nothing yet are read again until everyone has something or 10 s have passed
  "QUIT"            → closes everything and exits
Stops by itself when stdin closes.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import selectors
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35  # Linux: SO_TIMESTAMPNS_OLD; the control message type is the same number
TIMESPEC = struct.Struct("qq")
DRAIN_LIMIT_S = 10.0


def request(host: str, path: str, kind: str) -> bytes:
    if kind == "ws":
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()


def connect_all(host: str, port: int, path: str, n: int, kind: str) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.connect((host, port))
        s.setblocking(False)
        s.send(request(host, path, kind))
        sockets.append(s)
    return sockets


def has_first_event(seen: bytes, kind: str) -> bool:
    if kind == "sse":
        return b"\ndata:" in seen and b"\n\n" in seen[seen.index(b"\ndata:") :]
    head, sep, body = seen.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 101") or len(body) < 2:
        return False
    size = body[1] & 0x7F
    if size == 126:
        return len(body) >= 4 and len(body) >= 4 + int.from_bytes(body[2:4], "big")
    if size == 127:
        return len(body) >= 10 and len(body) >= 10 + int.from_bytes(body[2:10], "big")
    return len(body) >= 2 + size


def wait_first_event(sockets: list[socket.socket], kind: str, deadline_s: float = 120) -> None:
    sel = selectors.EpollSelector()
    buffers: dict[socket.socket, bytes] = {}
    for s in sockets:
        sel.register(s, selectors.EVENT_READ)
        buffers[s] = b""
    pending = len(sockets)
    deadline = time.monotonic() + deadline_s
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(sockets) - pending} of {len(sockets)} connections got their first event")
        for key, _ in sel.select(1.0):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            data = s.recv(65536)
            if not data:
                raise SystemExit("server closed a connection")
            buffers[s] += data
            if has_first_event(buffers[s], kind):
                sel.unregister(s)
                pending -= 1
    sel.close()


def read_one(s: socket.socket) -> int | None:
    """The kernel's receive time of the first bytes waiting on ``s`` (None if nothing is waiting); reads all."""
    try:
        data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(TIMESPEC.size))
    except BlockingIOError:
        return None
    if not data:
        raise SystemExit("server closed a connection")
    stamp = 0
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = TIMESPEC.unpack(payload[: TIMESPEC.size])
            stamp = sec * 1_000_000_000 + nsec
    while True:  # read the rest so the next round starts clean
        try:
            if not s.recv(65536):
                break
        except BlockingIOError:
            break
    return stamp


def drain(sockets: list[socket.socket]) -> dict[str, int]:
    stamps: list[int] = []
    waiting = sockets
    deadline = time.monotonic() + DRAIN_LIMIT_S
    while True:
        missing = []
        for s in waiting:
            stamp = read_one(s)
            if stamp is None:
                missing.append(s)
            else:
                stamps.append(stamp)
        if not missing or time.monotonic() > deadline:
            break
        waiting = missing
        time.sleep(0.05)
    return {"first": min(stamps, default=0), "last": max(stamps, default=0), "received": len(stamps)}


def main() -> None:
    host, port, path, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        sockets = connect_all(host, port, path, n, kind)
        wait_first_event(sockets, kind)
    except (OSError, SystemExit) as exc:
        print(f"FAILED {exc}", flush=True)
        return
    print(f"READY {len(sockets)}", flush=True)
    for line in sys.stdin:
        word, _, arg = line.strip().partition(" ")
        if word == "WAIT":
            time.sleep(float(arg))
            print(json.dumps(drain(sockets)), flush=True)
        elif word == "QUIT":
            break
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
