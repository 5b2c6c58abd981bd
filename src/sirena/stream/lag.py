"""How late the event loop runs what is due: a task that sleeps ``interval_s`` again and again and records how
much later than asked it woke up. A long fan-out, a garbage collection or any blocking call shows up here.

Enabled by ``SIRENA_LOOP_LAG_PROBE_MS``; the figures are in ``/metrics`` as the histogram
``sirena_event_loop_lag_seconds`` and the gauge ``sirena_event_loop_lag_max_seconds`` (the worst since start).
The loop's timers have a resolution of about a millisecond, so lags below that are noise.
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
        self.worst = 0.0

    async def run(self) -> None:
        interval = self.interval_s
        clock = time.perf_counter
        while True:
            asked = clock()
            await asyncio.sleep(interval)
            lag = max(0.0, clock() - asked - interval)
            self.histogram.observe(lag)
            if lag > self.worst:
                self.worst = lag
                self.worst_gauge.set(lag)
