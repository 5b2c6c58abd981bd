"""``create_app``: wires the runtime, middleware, error handling and routes. No logic of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sirena import __version__
from sirena.runtime import Runtime
from sirena.settings import Settings
from sirena.web import problems, security
from sirena.web.head import HeadAsGet
from sirena.web.limits import BodyLimit
from sirena.web.routes import (
    advisories,
    alerts,
    approvals,
    audit,
    cap,
    channels,
    compat_alerts_in_ua,
    compat_ukrainealarm,
    coordination,
    health,
    history,
    index,
    metrics,
    pages,
    places,
    push,
    regions,
    reports,
    session,
    shelters,
    stream,
    webhooks,
    ws,
)

DESCRIPTION = """Sirena issues, delivers and retracts public warnings.

Writes need `Authorization: Bearer <token>` (create one with `sirena token create --name NAME`).
Errors are RFC 9457 `application/problem+json` documents."""


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        owned = not rt.started
        if owned:
            await rt.start()
        app.state.runtime = rt
        try:
            yield
        finally:
            if owned:
                await rt.stop()

    app = FastAPI(title="Sirena", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    security.install(app, settings)
    app.add_middleware(HeadAsGet)  # last added, so outermost: HEAD runs every GET route the same way
    for module in (approvals, audit, session):
        app.include_router(module.router)
    app.include_router(cap.router)  # before alerts: /api/v1/alerts/{id}.cap is not an alert id
    for module in (index, pages, alerts, regions, stream):  # pages before regions: /regions/outlines.geojson
        app.include_router(module.router)
    app.include_router(history.router)
    for module in (places, shelters):
        app.include_router(module.router)
    compat_alerts_in_ua.include(app, settings)
    compat_ukrainealarm.include(app, settings)
    for module in (webhooks, ws, push, metrics):
        app.include_router(module.router)
    app.include_router(health.router)
    for module in (channels, advisories, reports, coordination):
        app.include_router(module.router)
    return app
