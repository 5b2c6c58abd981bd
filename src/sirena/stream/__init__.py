"""Live fan-out of committed events to stream clients."""

from sirena.stream.filter import EventFilter
from sirena.stream.hub import Client, Hub, HubStats

__all__ = ["Client", "EventFilter", "Hub", "HubStats"]
