"""Prometheus metrics at ``/metrics``: deliveries, failures, retries, queue depths, stream clients."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sirena import auth
from sirena.delivery.metrics import CONTENT_TYPE
from sirena.errors import Unauthorized
from sirena.web.deps import runtime

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """The text exposition format. When `SIRENA_METRICS_TOKEN` is set, send it as a bearer token."""
    rt = runtime(request)
    expected = str(rt.settings.metrics_token)
    if expected:
        given = auth.bearer(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("error.token_invalid")
    await rt.delivery.refresh_gauges()
    return Response(rt.delivery.metrics.render(), media_type=CONTENT_TYPE)
