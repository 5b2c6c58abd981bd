"""How ``sirena serve`` (and ``sirena.testing.serve``) run the app: uvicorn with the live-stream front."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from sirena.web.front import FrontProtocol


def config(app: FastAPI, host: str, port: int, log_level: str = "info", **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", http=FrontProtocol, backlog=4096, **extra
    )
