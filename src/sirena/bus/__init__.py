"""Event buses, chosen by URL: ``memory://`` (default, one process)."""

from sirena.bus.base import Bus, Handler
from sirena.bus.memory import MemoryBus
from sirena.errors import ConfigurationError


def open_bus(url: str) -> Bus:
    if url in {"memory://", "memory:"}:
        return MemoryBus()
    raise ConfigurationError("error.bad_bus_url", url=url)


__all__ = ["Bus", "Handler", "MemoryBus", "open_bus"]
