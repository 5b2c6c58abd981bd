"""Load generator for the fan-out benchmark: holds N idle SSE connections in its own process.

Protocol on stdin/stdout (one line each):
  start-up          → "READY <n>" once every connection has received its first event
  "WAIT <seconds>"  → sleeps that long (so it takes no CPU during the fan-out), then reads every socket and
                      prints JSON {"first": ns, "last": ns, "received": n} with kernel receive timestamps
                      (SO_TIMESTAMPNS, CLOCK_REALTIME) of the first new bytes on each connection
  "QUIT"            → closes everything and exits
"""

from __future__ import annotations

import json
import resource
import selectors
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35  # Linux: SO_TIMESTAMPNS_OLD; the control message type is the same number
TIMESPEC = struct.Struct("qq")


def connect_all(host: str, port: int, path: str, n: int) -> list[socket.socket]:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    sockets: list[socket.socket] = []
    for start in range(0, n, 500):
        batch = []
        for _ in range(min(500, n - start)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.connect((host, port))
            s.setblocking(False)
            s.send(request)
            batch.append(s)
        sockets.extend(batch)
    return sockets


def wait_first_event(sockets: list[socket.socket], deadline_s: float = 120) -> None:
    sel = selectors.EpollSelector()
    buffers = {}
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
            seen = buffers[s]
            if b"\ndata:" in seen and b"\n\n" in seen[seen.index(b"\ndata:") :]:
                sel.unregister(s)
                pending -= 1
    sel.close()


def drain(sockets: list[socket.socket]) -> dict[str, int]:
    first = last = 0
    received = 0
    for s in sockets:
        try:
            data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(TIMESPEC.size))
        except BlockingIOError:
            continue
        if not data:
            continue
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
        received += 1
        first = stamp if not first else min(first, stamp)
        last = max(last, stamp)
    return {"first": first, "last": last, "received": received}


def main() -> None:
    host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sockets = connect_all(host, port, path, n)
    wait_first_event(sockets)
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
