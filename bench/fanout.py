"""Fan-out: publish → first and → last of N live clients (SSE and WebSocket), memory per idle connection and the
worst event-loop pause during the fan-out, against baselines measured in the same run.

Servers run in their own processes; the load generator (``_loadgen.py``) holds the connections in another process
and sleeps during the fan-out, then reads the kernel's receive timestamps (``SO_TIMESTAMPNS``). Time zero is the
moment the publishing HTTP call returns, or the first client's receipt if that is earlier. Baselines:

- ``raw``: one loop writing a pre-encoded frame to every transport (``_raw_server.py``): the floor for Python;
- ``stock``: one task and one queue per client on Starlette + uvicorn (``_stock_server.py``): what a typical
  service does.

At 19,000 clients Sirena is also measured per core: ``sirena serve --workers 2`` (two processes sharing the port)
against the raw broadcaster in two processes (``raw2``: the process that is published to tells the other with a
datagram, and each writes to its own share of the clients). Beside the times it reports the CPU time the busiest
process of a server spent per publish (from ``/proc``, in clock ticks), which shows how the work divides between
processes whatever else the machine is doing.

Every server runs a 1 ms event-loop lag probe (Sirena's ``SIRENA_LOOP_LAG_PROBE_MS``, the baselines' own), read
before and after each publish, so the pause figure covers exactly the fan-out: the worst lag (wall clock, which
includes time the process waited for a core while other processes ran), and the part of it the loop's thread spent
running (its CPU time: what the server itself blocked the loop for). Sirena's figures are histogram bucket bounds
(the lag was at most that); the baselines' are exact.

    SIRENA_BENCH_REPEATS=15 python -m bench fanout
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import row

HERE = Path(__file__).resolve().parent
PY = sys.executable
REPEATS = int(os.environ.get("SIRENA_BENCH_REPEATS", "15"))
SETTLE_S = 0.6
LAG = "sirena_event_loop_lag_seconds"
BUSY = "sirena_event_loop_busy_seconds"


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


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """User and system CPU time of the process ``pid`` so far (in clock ticks, usually 10 ms)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (a server's worker processes)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


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
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sirena_env(folder: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SIRENA_DATABASE_URL": f"sqlite:///{folder / 'sirena.db'}",
            "SIRENA_STREAM_HEARTBEAT_S": "3600",
            "SIRENA_LOG_LEVEL": "warning",
            "SIRENA_WS_HELLO_S": "0.2",
            "SIRENA_RATE_LIMIT_WRITES": "0",  # the benchmarks issue faster than an operator would
            "SIRENA_RATE_LIMIT_WRITES_IP": "0",
            **extra,
        }
    )
    return env


def sirena_token(env: dict[str, str]) -> str:
    return subprocess.run(
        [PY, "-m", "sirena", "token", "create", "--name", "bench"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


class Target:
    """A server under test: how to start it, where clients connect, how to publish and read the loop's lag."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.port = free_port()
        self.headers: dict[str, str] = {}
        self.env = dict(os.environ)
        self.folder = folder
        self.lag_before: dict[tuple[str, float], float] = {}

    @property
    def processes(self) -> int:
        return 2 if self.name.endswith("2") else 1

    @property
    def is_sirena(self) -> bool:
        return self.name.startswith("sirena")

    def command(self) -> list[str]:
        if self.name.startswith("raw"):
            return [PY, str(HERE / "_raw_server.py"), str(self.port), str(self.processes)]
        if self.name == "stock":
            return [PY, str(HERE / "_stock_server.py"), str(self.port)]
        self.env = sirena_env(self.folder, SIRENA_LOOP_LAG_PROBE_MS="1")
        self.headers = {"Authorization": f"Bearer {sirena_token(self.env)}", "Content-Type": "application/json"}
        return [PY, "-m", "sirena", "serve", "--port", str(self.port), "--workers", str(self.processes)]

    def wait_processes(self) -> None:
        """With several processes on the port: wait until each is listening (each names itself in a stream's
        response head), so the kernel spreads the clients over all of them."""
        if self.processes == 1:
            return
        seen: set[bytes] = set()
        deadline = time.monotonic() + 30
        while len(seen) < self.processes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: only processes {sorted(seen)} answered")
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(f"GET {self.path('sse')} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(4096)
            seen |= {line.split(b":")[1].strip() for line in head.lower().split(b"\r\n") if b"x-sirena-worker" in line}
            time.sleep(0.05)

    def path(self, kind: str) -> str:
        if self.is_sirena:
            return "/api/v1/stream" if kind == "sse" else "/api/v1/ws"
        return "/stream" if kind == "sse" else "/ws"

    def publish(self, conn: http.client.HTTPConnection, i: int) -> int:
        if self.is_sirena:
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

    def lag_mark(self, conn: http.client.HTTPConnection) -> None:
        if self.is_sirena:
            self.lag_before = self._lag_buckets(conn)
        else:
            self._worst(conn)  # resets the baseline's own probe

    def lag_since_mark(self, conn: http.client.HTTPConnection) -> tuple[float, float]:
        """The worst loop lag since :meth:`lag_mark`, and the worst part of a lag the loop's thread spent running
        (Sirena: the upper bounds of the highest histogram buckets that counted one)."""
        if not self.is_sirena:
            return self._worst(conn)
        after = self._lag_buckets(conn)
        return tuple(self._highest(after, self.lag_before, name) for name in (LAG, BUSY))  # type: ignore[return-value]

    @staticmethod
    def _highest(after: dict[tuple[str, float], float], before: dict[tuple[str, float], float], name: str) -> float:
        bounds = sorted(b for n, b in after if n == name)
        worst, below = 0.0, 0.0
        for bound in bounds:
            count = after[(name, bound)] - before.get((name, bound), 0)
            if count > below:
                worst, below = bound, count
        return worst

    def _worst(self, conn: http.client.HTTPConnection) -> tuple[float, float]:
        conn.request("GET", "/lag")
        response = conn.getresponse()
        value = json.loads(response.read())
        return value["worst_s"], value["busy_s"]

    def _lag_buckets(self, conn: http.client.HTTPConnection) -> dict[tuple[str, float], float]:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        buckets: dict[tuple[str, float], float] = {}
        for line in response.read().decode().splitlines():
            for name in (LAG, BUSY):
                if line.startswith(name + "_bucket"):
                    bound = line.split('le="', 1)[1].split('"', 1)[0]
                    buckets[(name, float(bound))] = float(line.rsplit(" ", 1)[1])
        return buckets


class Running:
    """A started server with its load generator holding ``clients`` idle connections."""

    def __init__(self, target: Target, server: subprocess.Popen[bytes], kind: str, clients: int) -> None:
        self.target = target
        self.server = server
        self.clients = clients
        time.sleep(0.5)
        idle_before = rss_kib(server.pid)
        self.loadgen = subprocess.Popen(
            [PY, str(HERE / "_loadgen.py"), "127.0.0.1", str(target.port), target.path(kind), str(clients), kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.loadgen.stdout is not None
        ready = self.loadgen.stdout.readline().strip()
        if not ready.startswith("READY"):
            self.loadgen.kill()
            raise RuntimeError(f"load generator failed for {target.name}: {ready!r}")
        time.sleep(1.0)
        self.memory_per_client_kib = (rss_kib(server.pid) - idle_before) / clients
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        self.firsts: list[float] = []
        self.lasts: list[float] = []
        self.lags: list[float] = []
        self.busy: list[float] = []
        self.cpu: list[float] = []
        self.tree = process_tree(server.pid)

    def once(self, i: int) -> None:
        """One publish: the load generator sleeps through the fan-out, then reports when each client got it."""
        stdin, stdout = self.loadgen.stdin, self.loadgen.stdout
        assert stdin is not None
        assert stdout is not None
        self.conn.close()  # a fresh connection: servers close idle keep-alive ones while the others are measured
        self.target.lag_mark(self.conn)
        stdin.write(f"WAIT {SETTLE_S}\n")
        stdin.flush()
        time.sleep(0.05)  # the load generator is asleep now
        cpu_before = [cpu_ms(pid) for pid in self.tree]
        returned = self.target.publish(self.conn, i)
        result = json.loads(stdout.readline())
        self.cpu.append(max(cpu_ms(pid) - before for pid, before in zip(self.tree, cpu_before, strict=True)))
        lag, busy = self.target.lag_since_mark(self.conn)
        self.lags.append(lag)
        self.busy.append(busy)
        if result["received"] != self.clients:
            raise RuntimeError(f"{self.target.name}: {result['received']} of {self.clients} clients got publish {i}")
        zero = min(returned, result["first"])
        self.firsts.append((result["first"] - zero) / 1e6)
        self.lasts.append((result["last"] - zero) / 1e6)

    def close(self) -> None:
        self.conn.close()
        if self.loadgen.poll() is None:
            assert self.loadgen.stdin is not None
            try:
                self.loadgen.stdin.write("QUIT\n")
                self.loadgen.stdin.flush()
                self.loadgen.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.loadgen.kill()

    def result(self) -> dict[str, Any]:
        lasts, firsts = sorted(self.lasts), sorted(self.firsts)
        return {
            "first_p50": statistics.median(firsts),
            "last_p50": statistics.median(lasts),
            "last_p99": percentile(lasts, 0.99),
            "last_max": lasts[-1],
            "worst_lag_ms": max(self.lags) * 1000,
            "worst_busy_ms": max(self.busy) * 1000,
            "cpu_p50_ms": statistics.median(self.cpu),
            "lags_ms": [round(x * 1000, 1) for x in self.lags],
            "busy_ms": [round(x * 1000, 1) for x in self.busy],
            "memory_per_client_kib": self.memory_per_client_kib,
        }


def measure(names: list[str], kind: str, clients: int) -> dict[str, dict[str, Any]]:
    """Start every server with its clients, then publish to each in turn, ``REPEATS`` times: every server is
    measured under the same conditions (the other servers sit idle meanwhile)."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        running: list[Running] = []
        for name in names:
            folder = Path(tmp) / name
            folder.mkdir()
            target = Target(name, folder)
            server = stack.enter_context(process(target.command(), env=target.env))
            wait_port(target.port, server)
            target.wait_processes()
            run = Running(target, server, kind, clients)
            stack.callback(run.close)
            running.append(run)
        for i in range(REPEATS):
            for k in range(len(running)):
                running[(i + k) % len(running)].once(i)
        return {run.target.name: run.result() for run in running}


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


FILES_BESIDE_CLIENTS = 200
"""Open files a process needs besides its client sockets (its database, listening sockets, libraries)."""


def check_open_files(clients: int) -> None:
    """Each server and load generator holds one socket per client: say so plainly when the system forbids it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = clients + FILES_BESIDE_CLIENTS
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"{clients:,} clients need {needed:,} open files a process, and the limit here is {hard:,}: raise it "
            f"(as root, `ulimit -Hn {needed}` in the shell that runs make bench) or ask for fewer clients "
            "(SIRENA_BENCH_CLIENTS, SIRENA_BENCH_CLIENTS_BIG)"
        )


def run() -> list[dict[str, Any]]:
    n = int(os.environ.get("SIRENA_BENCH_CLIENTS", "10000"))
    big = int(os.environ.get("SIRENA_BENCH_CLIENTS_BIG", "19000"))
    check_open_files(max(n, big))
    rows: list[dict[str, Any]] = []
    for kind, label in (("sse", "SSE"), ("ws", "WebSocket")):
        measured = measure(["raw", "stock", "sirena"], kind, n)
        raw, stock, sirena = measured["raw"], measured["stock"], measured["sirena"]
        base = f"raw-write broadcaster, {n} {label} clients"
        stock_name = f"stock one-queue-per-client ASGI, {n} {label} clients"
        rows += [
            row(f"{label} publish → last of {n}, p50", sirena["last_p50"], "ms", raw["last_p50"], base, "≤ 1.25× raw"),
            row(f"{label} publish → last of {n}, p99", sirena["last_p99"], "ms", raw["last_p99"], base),
            row(f"{label} publish → last of {n}, max", sirena["last_max"], "ms", raw["last_max"], base),
            row(f"{label} publish → first client, p50", sirena["first_p50"], "ms", raw["first_p50"], base, "≤ 1 ms"),
            row(
                f"{label} stock: publish → last of {n}, p50",
                stock["last_p50"],
                "ms",
                raw["last_p50"],
                base,
                "(baseline)",
            ),
            row(
                f"{label} Sirena vs stock: publish → last, p50", sirena["last_p50"], "ms", stock["last_p50"], stock_name
            ),
            row(
                f"{label} worst event-loop pause during fan-out to {n} (wall clock)",
                sirena["worst_lag_ms"],
                "ms",
                stock["worst_lag_ms"],
                stock_name + f" (raw: {raw['worst_lag_ms']:.0f} ms)",
                "≤ 10 ms",
            ),
            row(
                f"{label} ... of which the loop's thread was running (CPU)",
                sirena["worst_busy_ms"],
                "ms",
                stock["worst_busy_ms"],
                stock_name + f" (raw: {raw['worst_busy_ms']:.0f} ms)",
            ),
            row(
                f"memory per idle {label} connection (server RSS)",
                sirena["memory_per_client_kib"],
                "KiB",
                stock["memory_per_client_kib"],
                stock_name + f" (raw: {raw['memory_per_client_kib']:.2f} KiB)",
                "≤ 5 KB" if kind == "sse" else "",
            ),
        ]
    measured = measure(["raw", "sirena"], "sse", big)
    raw, sirena = measured["raw"], measured["sirena"]
    base = f"raw-write broadcaster, {big} SSE clients"
    rows += [
        row(f"SSE publish → last of {big}, p50", sirena["last_p50"], "ms", raw["last_p50"], base, "≤ 150 ms"),
        row(f"SSE publish → last of {big}, p99", sirena["last_p99"], "ms", raw["last_p99"], base, "≤ 150 ms"),
        row(f"SSE publish → last of {big}, max", sirena["last_max"], "ms", raw["last_max"], base),
        row(f"SSE publish → first of {big}, p50", sirena["first_p50"], "ms", raw["first_p50"], base, "≤ 1 ms"),
        row(
            f"SSE worst event-loop pause during fan-out to {big} (wall clock)",
            sirena["worst_lag_ms"],
            "ms",
            raw["worst_lag_ms"],
            base,
            "≤ 10 ms",
        ),
        row(
            "SSE ... of which the loop's thread was running (CPU)",
            sirena["worst_busy_ms"],
            "ms",
            raw["worst_busy_ms"],
            base,
        ),
    ]
    single_cpu = sirena["cpu_p50_ms"]
    measured = measure(["raw2", "sirena2"], "sse", big)
    raw, sirena = measured["raw2"], measured["sirena2"]
    base = f"raw-write broadcaster in 2 processes, {big} SSE clients"
    rows += [
        row(
            f"SSE 2 workers: publish → last of {big}, p50", sirena["last_p50"], "ms", raw["last_p50"], base, "≤ 150 ms"
        ),
        row(
            f"SSE 2 workers: publish → last of {big}, p99", sirena["last_p99"], "ms", raw["last_p99"], base, "≤ 150 ms"
        ),
        row(f"SSE 2 workers: publish → last of {big}, max", sirena["last_max"], "ms", raw["last_max"], base),
        row(
            f"SSE 2 workers: publish → first of {big}, p50", sirena["first_p50"], "ms", raw["first_p50"], base, "≤ 1 ms"
        ),
        row(
            f"SSE 2 workers: CPU of the busiest process per publish to {big}, p50",
            sirena["cpu_p50_ms"],
            "ms",
            raw["cpu_p50_ms"],
            base + f" (1 Sirena process: {single_cpu:.0f} ms)",
        ),
    ]
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
