"""Token-bucket rate limits by key (a token, a session, an address), in memory, per process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Allows ``per_minute`` requests per key on average and bursts of up to ``burst`` (default: a quarter of a
    minute's allowance, at least 5). ``per_minute`` 0 disables the limit.

    Memory stays bounded: when more than ``max_keys`` keys are tracked, buckets that have refilled are dropped
    (a full bucket is the same as no bucket)."""

    def __init__(
        self,
        per_minute: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(5.0, per_minute / 4))
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def hit(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` from ``key``'s bucket: 0.0 when allowed, else the seconds until it would be."""
        if not self.enabled:
            return 0.0
        at = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(at)
            bucket = self._buckets[key] = _Bucket(self.burst, at)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (at - bucket.at) * self.rate)
            bucket.at = at
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate

    def _prune(self, at: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (at - b.at) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # everyone is mid-burst: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: self.max_keys // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
