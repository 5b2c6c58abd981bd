"""Liveness and readiness for load balancers and orchestrators.

``/livez`` answers 200 whenever the process can answer at all. ``/readyz`` answers 503 while the node cannot
serve: the database does not answer, the node has not started, or it is stopping (draining). The bus is
reported but by default does not make a node unready: without NATS a node still serves its clients from the
event log (more slowly), and taking every node out of the load balancer because of the bus would silence all of
them. ``SIRENA_READY_REQUIRES_BUS`` makes a bus outage a 503 as well, for deployments that prefer that.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sirena import __version__
from sirena.errors import SirenaError
from sirena.runtime import Runtime
from sirena.store.postgis import geometry_of
from sirena.web.deps import runtime

router = APIRouter(tags=["health"])

PING_TIMEOUT_S = 3.0


async def database_health(rt: Runtime) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            await rt.store.ping()
    except SirenaError as exc:
        return {"status": "down", "error": exc.detail()}
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {PING_TIMEOUT_S:g} s"}
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "ok", "latency_ms": latency_ms, "geometry": geometry_of(rt.store).to_json()}


def bus_health(rt: Runtime) -> dict[str, Any]:
    report = getattr(rt.bus, "health", None)
    if callable(report):
        found: dict[str, Any] = report()
        return found
    return {"status": "ok", "kind": rt.settings.bus_url.partition(":")[0] or "memory"}  # the in-process bus


@router.get("/livez", summary="Liveness: the process answers")
async def livez(request: Request) -> JSONResponse:
    rt = runtime(request)
    return JSONResponse({"status": "ok", "node": rt.node_id, "version": __version__})


@router.get(
    "/readyz",
    summary="Readiness: database reachable, node started and not stopping; bus reported",
    responses={
        503: {
            "description": "Not ready: the database is down, or the node is starting or stopping (or the bus is down, "
            "with `SIRENA_READY_REQUIRES_BUS`)."
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    rt = runtime(request)
    database = await database_health(rt)
    bus = bus_health(rt)
    bus_ok = bus["status"] == "ok"
    ready = rt.started and not rt.draining and database["status"] == "ok"
    ready = ready and (bus_ok or not rt.settings.ready_requires_bus)
    status = "draining" if rt.draining else "unready" if not ready else "degraded" if not bus_ok else "ok"
    body = {
        "status": status,
        "node": rt.node_id,
        "version": __version__,
        "seq": rt.published_seq,
        "database": database,
        "bus": bus,
        "leases": rt.leases.held,
    }
    headers = {"Retry-After": "2"} if not ready else None
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)
