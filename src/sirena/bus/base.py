"""The Bus protocol: carries committed events from the store to every live channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sirena.domain.notice import LogEvent

Handler = Callable[[LogEvent], None]


class Bus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, event: LogEvent) -> None: ...
    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for each event, in sequence order; returns a function that unsubscribes."""
        ...
