"""How ``sirena serve`` (and ``sirena.testing.serve``) run the app: uvicorn with the live-stream front."""

from __future__ import annotations

import copy
from typing import Any

import uvicorn
import uvicorn.config
from fastapi import FastAPI

from sirena.web.front import FrontProtocol


def config(app: FastAPI, host: str, port: int, log_level: str = "info", **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", http=FrontProtocol, backlog=4096, **extra
    )


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with Sirena's own messages (``sirena.*``) at ``level`` on the same stream and format."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["sirena"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config
