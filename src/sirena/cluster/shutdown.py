"""Graceful shutdown for ``sirena serve``: on SIGTERM or SIGINT the node first tells its live clients to go (SSE
streams end with a short, jittered ``retry:``; WebSocket clients are closed with "try again"), and reports itself
not ready, then stops accepting connections and lets requests in flight finish for ``SIRENA_SHUTDOWN_GRACE_S``.
Clients reconnect through the load balancer to another node and resume from their last event id.
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    from fastapi import FastAPI

    from sirena.settings import Settings


def serve(app: FastAPI, settings: Settings, sock: socket.socket | None = None) -> None:
    """Run ``app`` with uvicorn until SIGTERM/SIGINT, draining live clients first; on ``sock`` if given (a
    worker's ``SO_REUSEPORT`` socket), else on the settings' host and port."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            runtime: Any = getattr(app.state, "runtime", None)
            if runtime is not None and hasattr(runtime, "begin_drain"):
                runtime.begin_drain()
            super().handle_exit(sig, frame)

    from sirena.web import server

    grace = max(1, round(settings.shutdown_grace_s))
    DrainingServer(
        server.config(
            app,
            settings.host,
            settings.port,
            settings.log_level,
            timeout_graceful_shutdown=grace,
            log_config=server.log_config(settings.log_level),
        )
    ).run(sockets=None if sock is None else [sock])
