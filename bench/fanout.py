"""Fan-out: publish → first and → last of N live SSE clients, against baselines measured in the same run.

Servers run in their own processes; the load generator (``_loadgen.py``) holds the connections in another process
and sleeps during the fan-out, then reads the kernel's receive timestamps. Time zero is the moment the publishing
HTTP call returns, or the first client's receipt if that is earlier. Baselines:

- ``raw``: one loop writing a pre-encoded frame to every transport (``_raw_server.py``): the floor for Python;
- ``stock``: one task and one queue per client on Starlette + uvicorn (``_stock_server.py``): what a typical
  service does.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
REPEATS = int(os.environ.get("SIRENA_BENCH_REPEATS", "15"))
SETTLE_S = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Target:
    """A server under test: how to start it, where clients connect and how to publish one event."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self.port = free_port()
        self.headers: dict[str, str] = {}
        self.env = dict(os.environ)

    def command(self) -> list[str]:
        if self.name == "raw":
            return [PY, str(HERE / "_raw_server.py"), str(self.port)]
        if self.name == "stock":
            return [PY, str(HERE / "_stock_server.py"), str(self.port)]
        db = f"sqlite:///{self.folder / 'fanout.db'}"
        self.env.update({"SIRENA_DATABASE_URL": db, "SIRENA_STREAM_HEARTBEAT_S": "3600", "SIRENA_LOG_LEVEL": "warning"})
        token = subprocess.run(
            [PY, "-m", "sirena", "token", "create", "--name", "bench"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return [PY, "-m", "sirena", "serve", "--port", str(self.port)]

    @property
    def stream_path(self) -> str:
        return "/api/v1/stream" if self.name == "sirena" else "/stream"

    def publish(self, conn: http.client.HTTPConnection, i: int) -> int:
        if self.name == "sirena":
            body = json.dumps({"regions": ["31" if i % 2 else "14"], "threats": [{"type": "drones"}]})
            conn.request("POST", "/api/v1/alerts", body=body, headers=self.headers)
        else:
            conn.request("POST", "/publish", body=b"", headers={"Content-Length": "0"})
        response = conn.getresponse()
        response.read()
        returned = time.time_ns()
        if response.status >= 300:
            raise RuntimeError(f"publish failed: {response.status}")
        return returned


def measure(name: str, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        target = Target(name, Path(tmp))
        with process(target.command(), env=target.env) as server:
            wait_port(target.port, server)
            idle_before = rss_kib(server.pid)
            loadgen = subprocess.Popen(
                [PY, str(HERE / "_loadgen.py"), "127.0.0.1", str(target.port), target.stream_path, str(clients)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert loadgen.stdout is not None
                assert loadgen.stdin is not None
                ready = loadgen.stdout.readline().strip()
                if not ready.startswith("READY"):
                    raise RuntimeError(f"load generator failed: {ready!r}")
                time.sleep(1.0)
                idle_after = rss_kib(server.pid)
                firsts: list[float] = []
                lasts: list[float] = []
                conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
                for i in range(REPEATS):
                    loadgen.stdin.write(f"WAIT {SETTLE_S}\n")
                    loadgen.stdin.flush()
                    time.sleep(0.05)  # the load generator is asleep now
                    returned = target.publish(conn, i)
                    result = json.loads(loadgen.stdout.readline())
                    if result["received"] != clients:
                        raise RuntimeError(f"{name}: {result['received']} of {clients} clients got publish {i}")
                    zero = min(returned, result["first"])
                    firsts.append((result["first"] - zero) / 1e6)
                    lasts.append((result["last"] - zero) / 1e6)
                conn.close()
                loadgen.stdin.write("QUIT\n")
                loadgen.stdin.flush()
                loadgen.wait(30)
            finally:
                if loadgen.poll() is None:
                    loadgen.kill()
    lasts.sort()
    firsts.sort()
    return {
        "first_p50": statistics.median(firsts),
        "last_p50": statistics.median(lasts),
        "last_p99": lasts[min(len(lasts) - 1, int(0.99 * len(lasts)))],
        "last_max": lasts[-1],
        "memory_per_client_kib": (idle_after - idle_before) / clients,
    }


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n = int(os.environ.get("SIRENA_BENCH_CLIENTS", "10000"))
    raw = measure("raw", n)
    stock = measure("stock", n)
    sirena = measure("sirena", n)
    base = f"raw-write broadcaster, {n} clients"
    for key, label, target in (
        ("last_p50", f"SSE publish → last of {n} clients, p50", "≤ 1.25× raw"),
        ("last_p99", f"SSE publish → last of {n} clients, p99", ""),
        ("first_p50", "SSE publish → first client, p50", "≤ 1 ms"),
    ):
        rows.append(
            {
                "name": label,
                "figure": sirena[key],
                "unit": "ms",
                "baseline": raw[key],
                "baseline_name": base,
                "ratio": sirena[key] / raw[key] if raw[key] else None,
                "target": target,
            }
        )
    rows.append(
        {
            "name": f"stock one-queue-per-client ASGI, publish → last of {n}, p50",
            "figure": stock["last_p50"],
            "unit": "ms",
            "baseline": raw["last_p50"],
            "baseline_name": base,
            "ratio": stock["last_p50"] / raw["last_p50"],
            "target": "(baseline)",
        }
    )
    rows.append(
        {
            "name": "memory per idle SSE connection (server RSS)",
            "figure": sirena["memory_per_client_kib"],
            "unit": "KiB",
            "baseline": raw["memory_per_client_kib"],
            "baseline_name": "raw-write broadcaster",
            "ratio": sirena["memory_per_client_kib"] / raw["memory_per_client_kib"]
            if raw["memory_per_client_kib"]
            else None,
            "target": "≤ 5 KB",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
