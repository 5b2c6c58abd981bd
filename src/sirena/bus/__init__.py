"""Event buses, chosen by URL: ``memory://`` (default, one process) or ``nats://host:4222`` (NATS JetStream,
several nodes)."""

from __future__ import annotations

from sirena.bus.base import Bus, Handler
from sirena.bus.memory import MemoryBus
from sirena.bus.sequencer import EventLog
from sirena.errors import ConfigurationError


def open_bus(url: str, *, stream: str = "sirena", log: EventLog | None = None, name: str = "sirena") -> Bus:
    """The bus for a ``SIRENA_BUS_URL``. A NATS bus needs the event ``log`` (the store) to fill gaps from."""
    if url in {"memory://", "memory:"}:
        return MemoryBus()
    if url.startswith(("nats://", "tls://")) and log is not None:
        from sirena.bus.nats import NatsBus

        return NatsBus(url, stream, log, name=name)
    raise ConfigurationError("error.bad_bus_url", url=url)


__all__ = ["Bus", "Handler", "MemoryBus", "open_bus"]
