"""The in-process bus (``memory://``): handlers are called synchronously, in order, on the event loop."""

from __future__ import annotations

from collections.abc import Callable

from sirena.bus.base import Handler
from sirena.domain.notice import LogEvent


class MemoryBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, event: LogEvent) -> None:
        self.deliver(event)

    def deliver(self, event: LogEvent) -> None:
        for handler in tuple(self._handlers):
            handler(event)

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe
