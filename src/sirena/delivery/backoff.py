"""Retry delays: exponential growth, capped, with jitter so that many clients never retry in step."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``attempt`` (1 for the first retry): ``base * 2**(attempt-1)``, capped at
    ``cap``, then spread uniformly over its upper half ("equal jitter"), so a delay never shrinks below half of
    the nominal one and never exceeds the cap."""

    base_s: float
    cap_s: float

    def nominal(self, attempt: int) -> float:
        exponent = min(max(attempt, 1) - 1, 60)
        return float(min(self.cap_s, self.base_s * (2**exponent)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        nominal = self.nominal(attempt)
        draw = (rng or random).random()
        return nominal / 2 + draw * nominal / 2


async def wait_signal(event: asyncio.Event, seconds: float) -> bool:
    """Wait for ``event`` at most ``seconds``; True when it was set. Unlike ``asyncio.wait_for`` on Python 3.11,
    a cancellation that arrives as the event is set is never swallowed."""
    if event.is_set():
        return True
    if seconds <= 0:
        return False
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
