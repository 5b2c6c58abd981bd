"""How late the event loop runs what is due: a task that sleeps ``interval_s`` again and again and records how
much later than asked it woke up. A long fan-out, a garbage collection or any blocking call shows up here.

Enabled by ``SIRENA_LOOP_LAG_PROBE_MS``; the figures are in ``/metrics`` as the histogram
``sirena_event_loop_lag_seconds`` and the gauge ``sirena_event_loop_lag_max_seconds`` (the worst since start).
A lag has two causes: the loop's thread was busy running something (a long callback, a garbage collection), or
it was not running at all (the machine's other processes had the cores, or another thread of this process held
the interpreter lock). The histogram ``sirena_event_loop_busy_seconds`` counts only the first: the part of each
lag the loop's thread spent on the CPU. The loop's timers have a resolution of about a millisecond, so lags below
that are noise.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram

BUCKETS = (
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
)


class LoopLagProbe:
    def __init__(self, interval_s: float, registry: CollectorRegistry) -> None:
        self.interval_s = interval_s
        self.histogram = Histogram(
            "sirena_event_loop_lag_seconds",
            "How much later than due the event loop woke a sleeping task.",
            buckets=BUCKETS,
            registry=registry,
        )
        self.worst_gauge = Gauge(
            "sirena_event_loop_lag_max_seconds", "The longest event-loop lag seen since start.", registry=registry
        )
        self.busy = Histogram(
            "sirena_event_loop_busy_seconds",
            "The part of each event-loop lag the loop's thread spent running (not waiting for a core or the GIL).",
            buckets=BUCKETS,
            registry=registry,
        )
        self.worst = 0.0

    async def run(self) -> None:
        interval = self.interval_s
        clock, cpu = time.perf_counter, time.thread_time
        while True:
            asked, ran = clock(), cpu()
            await asyncio.sleep(interval)
            lag = max(0.0, clock() - asked - interval)
            self.histogram.observe(lag)
            self.busy.observe(min(lag, cpu() - ran))
            if lag > self.worst:
                self.worst = lag
                self.worst_gauge.set(lag)
