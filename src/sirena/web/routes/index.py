"""The front door: a JSON index for programs, the live map for people (see :mod:`.pages`), health and problem
types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sirena import __version__, errors, messages
from sirena.domain.model import Status
from sirena.domain.state import Coverage
from sirena.runtime import Runtime
from sirena.web.deps import runtime
from sirena.web.routes import pages

router = APIRouter(tags=["index"])

LINKS = {
    "docs": "/docs",
    "openapi": "/openapi.json",
    "stream": "/api/v1/stream",
    "active_alerts": "/api/v1/alerts?state=active",
    "region_states": "/api/v1/regions/states",
    "regions": "/api/v1/regions",
    "health": "/healthz",
}


def _visible_statuses(rt: Runtime) -> frozenset[Status]:
    return frozenset(Status) if rt.settings.demo else frozenset({Status.ACTUAL})


async def _summary(rt: Runtime) -> dict[str, Any]:
    """Active alerts and the top-level regions (oblasts) under alert, or partly under alert."""
    alerts = await rt.service.active(_visible_statuses(rt))
    states = await rt.service.region_states(_visible_statuses(rt))
    top = [r.id for r in rt.registry.children(rt.registry.root_id)]
    return {
        "seq": rt.published_seq,
        "active_alerts": len(alerts),
        "regions_under_alert": [r for r in top if r in states and states[r].state is Coverage.ALERT],
        "regions_partly_under_alert": [r for r in top if r in states and states[r].state is Coverage.PARTLY],
        "alerts": alerts,
    }


@router.get("/", summary="Index: links and the current alert state", response_model=None)
async def index(request: Request) -> Response:
    rt = runtime(request)
    summary = await _summary(rt)
    accept = request.headers.get("accept", "")
    if "text/html" not in accept or "application/json" in accept.split(",")[0]:
        return JSONResponse(
            {
                "name": "Sirena",
                "version": __version__,
                "demo": rt.settings.demo,
                "links": LINKS,
                "state": {k: v for k, v in summary.items() if k != "alerts"},
            }
        )
    return await pages.public_page(request, rt, LINKS)


@router.get("/healthz", summary="Liveness and store health")
async def healthz(request: Request) -> JSONResponse:
    rt = runtime(request)
    try:
        await rt.store.ping()
    except errors.SirenaError as exc:
        return JSONResponse({"status": "unavailable", "detail": exc.detail()}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__, "seq": rt.published_seq})


@router.get("/problems/{slug}", summary="What a problem type means", include_in_schema=False)
async def problem_doc(slug: str) -> dict[str, str]:
    for cls in _error_classes(errors.SirenaError):
        if cls.slug == slug:
            return {
                "type": f"/problems/{slug}",
                "title": messages.t(cls.key + ".title"),
                "status": str(cls.status),
            }
    raise errors.NotFound("error.not_found")


def _error_classes(base: type[errors.SirenaError]) -> list[type[errors.SirenaError]]:
    found = [base]
    for sub in base.__subclasses__():
        found.extend(_error_classes(sub))
    return found
