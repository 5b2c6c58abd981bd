"""Several nodes as one: work leases, health, and graceful shutdown. The shared database and bus themselves are
in :mod:`sirena.store.postgres` and :mod:`sirena.bus.nats`."""

from sirena.cluster.leases import Leases, node_name

__all__ = ["Leases", "node_name"]
