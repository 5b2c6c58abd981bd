"""The front door: a JSON index for programs, a simple page for people, health and problem types."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sirena import __version__, errors, messages
from sirena.domain.model import Alert, Status
from sirena.domain.state import Coverage
from sirena.protocol.alert_json import format_time
from sirena.runtime import Runtime
from sirena.web.deps import runtime

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
    lang = messages.pick_language(request.headers.get("accept-language"))
    return HTMLResponse(_page(rt, summary["alerts"], lang))


def _page(rt: Runtime, alerts: list[Alert], lang: str) -> str:
    t = messages.t
    rows = []
    for alert in sorted(alerts, key=lambda a: a.started_at):
        names = ", ".join(rt.registry.get(r).name(lang) for r in alert.touched_regions[:5])
        more = len(alert.touched_regions) - 5
        if more > 0:
            names += f" +{more}"
        mark = ""
        if alert.status is not Status.ACTUAL:
            mark = f'<strong class="exercise">{html.escape(t("alert.status." + alert.status.value, lang))}</strong> '
        rows.append(
            f'<li class="{alert.level.value}">{mark}{html.escape(alert.headline.get(lang, ""))}: '
            f"{html.escape(names)} <time>{format_time(alert.started_at)}</time></li>"
        )
    demo = f'<p class="demo">{html.escape(t("page.demo_notice", lang))}</p>' if rt.settings.demo else ""
    links = "".join(
        f'<li><a href="{href}">{html.escape(t("page.link." + name, lang))}</a></li>' for name, href in LINKS.items()
    )
    listing = "".join(rows) or f"<li>{html.escape(t('page.no_alerts', lang))}</li>"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sirena</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
.demo{{background:#fff3cd;border:2px dashed #b58900;padding:.5rem 1rem}}.exercise{{color:#6c3483}}
li.red{{border-left:.4rem solid #c0392b;padding-left:.5rem}}li.yellow{{border-left:.4rem solid #d4ac0d;padding-left:.5rem}}</style>
</head><body><h1>Sirena</h1>{demo}
<h2>{html.escape(t("page.active_alerts", lang))} ({len(alerts)})</h2><ul id="alerts">{listing}</ul>
<h2>{html.escape(t("page.links", lang))}</h2><ul>{links}</ul>
<script>
const s = new EventSource("/api/v1/stream?statuses={"all" if rt.settings.demo else "actual"}");
let first = true;
s.addEventListener("snapshot", () => {{ if (!first) location.reload(); first = false; }});
for (const e of ["alert.issued", "alert.updated", "alert.ended", "alert.cancelled"])
  s.addEventListener(e, () => location.reload());
</script></body></html>"""


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
