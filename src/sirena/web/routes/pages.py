"""Pages for people: the public live map at ``/``, the operator console, the history dashboards, their static
files, the map outlines and the pages' message bundles.

Pages are plain HTML shells in ``web/static`` with ``{{name}}`` slots and ``{{t:key}}`` catalogue texts filled
here, so the first paint already shows the current state (and works without JavaScript); the scripts then keep it
live from the stream. Every asset is served by Sirena itself: no CDN, no tiles, no fonts from elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sirena import domain, messages
from sirena.cap.outbound import alert_to_cap
from sirena.domain.model import Alert, Kind, Status, ThreatType
from sirena.domain.state import Coverage, RegionState
from sirena.errors import NotFound, SirenaError
from sirena.ids import new_id
from sirena.protocol.alert_json import alert_to_dict, format_time
from sirena.protocol.cap.emit import to_xml
from sirena.runtime import Runtime
from sirena.web.deps import runtime
from sirena.web.mapview import MapView, build_map, outlines_geojson
from sirena.web.schemas import AlertIn

router = APIRouter(tags=["pages"])

_SLOT = re.compile(r"\{\{(\w+)(?::([\w.\-]+))?\}\}")
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*\.(css|js|svg|png|webmanifest)$")
_MEDIA = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "webmanifest": "application/manifest+json",
}
#: Catalogue prefixes the pages' scripts need, besides their own ``web.`` keys.
BUNDLE_PREFIXES = (
    "web.",
    "alert.kind.",
    "alert.status.",
    "alert.threat.",
    "alert.level.",
    "alert.state.",
    "advisories.type.",
)
ACTIVE_STATUSES = frozenset({Status.EXERCISE, Status.TEST})
SHELTER_CHOICES_S = (30, 60, 90, 180, 300, 600, 900)
#: The icon (in ``icons.svg``) shown for each threat; ``common.js`` has the same table.
THREAT_ICONS = {
    ThreatType.DRONES: "i-drone",
    ThreatType.BALLISTIC_MISSILES: "i-missile",
    ThreatType.CRUISE_MISSILES: "i-missile",
    ThreatType.UNSPECIFIED_MISSILES: "i-missile",
    ThreatType.GUIDED_AERIAL_BOMBS: "i-bomb",
    ThreatType.TACTIC_AIRCRAFT_ACTIVITY: "i-plane",
    ThreatType.STRATEGIC_AIRCRAFT_ACTIVITY: "i-plane",
    ThreatType.MIG31K_DEPARTURE: "i-plane",
    ThreatType.AIR_DEFENSE: "i-shield",
    ThreatType.UNKNOWN: "i-warning",
}


# -- static files and templates ----------------------------------------------------------------------------------


@cache
def static_file(name: str) -> bytes:
    """A file shipped in ``sirena/web/static`` (read once)."""
    return (resources.files("sirena") / "web" / "static" / name).read_bytes()


def fill(template: str, lang: str, slots: Mapping[str, str]) -> str:
    """``{{t:key}}`` becomes the escaped catalogue text in ``lang``; ``{{name}}`` the (already safe) slot value."""

    def sub(match: re.Match[str]) -> str:
        name, key = match.group(1), match.group(2)
        if name == "t" and key:
            return html.escape(messages.t(key, lang))
        return slots.get(name, "")

    return _SLOT.sub(sub, template)


def render(name: str, lang: str, slots: Mapping[str, str]) -> HTMLResponse:
    page = fill(static_file(name).decode("utf-8"), lang, {"lang": lang, "icons": icons(), **slots})
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "Content-Language": lang})


def icons() -> str:
    return static_file("icons.svg").decode("utf-8")


@router.get("/static/{name}", include_in_schema=False)
async def static(request: Request, name: str) -> Response:
    if not _STATIC_NAME.match(name):
        raise NotFound("error.not_found")
    try:
        body = static_file(name)
    except (FileNotFoundError, IsADirectoryError):
        raise NotFound("error.not_found") from None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers=headers)


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    """The service worker that shows Web Push notifications; served from the root so it may cover every page."""
    return Response(
        static_file("sw.js"),
        media_type=_MEDIA["js"],
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/ui/messages/{lang}.json", include_in_schema=False)
async def message_bundle(lang: str) -> JSONResponse:
    """The texts the pages' scripts show, in one language (the catalogue stays the single source)."""
    if lang not in messages.LANGUAGES:
        raise NotFound("error.not_found")
    texts = {
        key: messages.t(key, lang)
        for key in messages.catalogue()
        if key.startswith(BUNDLE_PREFIXES) and not key.startswith("web.template.")
    }
    templates = {
        key.removeprefix("web.template."): {code: messages.t(key, code) for code in messages.LANGUAGES}
        for key in messages.catalogue()
        if key.startswith("web.template.")
    }
    return JSONResponse({"lang": lang, "texts": texts, "templates": templates}, headers={"Cache-Control": "no-cache"})


# -- the map -----------------------------------------------------------------------------------------------------


def map_view(request: Request, rt: Runtime) -> MapView:
    """The projected outlines, built once per app and region set."""
    cached: tuple[object, MapView] | None = getattr(request.app.state, "sirena_map", None)
    if cached is None or cached[0] is not rt.registry:
        cached = (rt.registry, build_map(rt.registry))
        request.app.state.sirena_map = cached
    return cached[1]


def map_svg(view: MapView, lang: str, states: Mapping[str, tuple[RegionState, bool]], *, element_id: str) -> str:
    """The map as inline SVG: one ``<path>`` per region carrying ``data-region``, ``data-state`` and
    ``data-level``, hatch patterns for regions under alert in part, and an empty layer for the badges."""
    paths = []
    for drawn in view.regions:
        region = drawn.region
        found = states.get(region.id)
        state, exercise = (found[0].state.value, found[1]) if found else (Coverage.CALM.value, False)
        level = found[0].level.value if found and found[0].level else ""
        name = html.escape(region.name(lang))
        paths.append(
            f'<path class="region" id="{element_id}-r-{html.escape(region.id)}" data-region="{html.escape(region.id)}" '
            f'data-state="{state}" data-level="{level}" data-exercise="{str(exercise).lower()}" '
            f'data-x="{drawn.anchor[0]}" data-y="{drawn.anchor[1]}" '
            f'data-name-uk="{html.escape(region.name("uk"))}" data-name-en="{html.escape(region.name("en"))}" '
            f'd="{drawn.path}"><title>{name}</title></path>'
        )
    title = html.escape(messages.t("web.map.title", lang))
    return (
        f'<svg class="map" id="{element_id}" viewBox="0 0 {view.width:.0f} {view.height:.0f}" '
        f'data-projection="{view.projection}" role="img" aria-labelledby="{element_id}-title" '
        f'preserveAspectRatio="xMidYMid meet">'
        f'<title id="{element_id}-title" data-i18n="web.map.title">{title}</title>'
        "<defs>"
        + "".join(
            f'<pattern id="{element_id}-hatch-{name}" patternUnits="userSpaceOnUse" width="9" height="9" '
            f'patternTransform="rotate(45)"><rect width="9" height="9" class="hatch-bg"/>'
            f'<rect width="4.5" height="9" class="hatch-{name}"/></pattern>'
            for name in ("red", "yellow", "exercise")
        )
        + "</defs>"
        f'<g class="regions">{"".join(paths)}</g><g class="draw-layer"></g><g class="badges"></g></svg>'
    )


async def visible_states(rt: Runtime, exercises: bool) -> dict[str, tuple[RegionState, bool]]:
    """Region states: real alerts first; with ``exercises``, exercise/test states where no real one applies.

    The flag says whether the state comes only from exercises or tests, so the page can style it apart.
    """
    out: dict[str, tuple[RegionState, bool]] = {
        region_id: (state, False)
        for region_id, state in (await rt.service.region_states(frozenset({Status.ACTUAL}))).items()
    }
    if exercises:
        for region_id, state in (await rt.service.region_states(ACTIVE_STATUSES)).items():
            out.setdefault(region_id, (state, True))
    return out


# -- the public page ---------------------------------------------------------------------------------------------


def _wants_exercises(request: Request, rt: Runtime) -> bool:
    asked = request.query_params.get("exercises")
    if asked is not None:
        return asked.lower() in {"1", "true", "yes", "on"}
    return rt.settings.demo


async def public_page(request: Request, rt: Runtime, links: Mapping[str, str]) -> HTMLResponse:
    """``/`` for browsers: the live map, the list of regions under alert and the active alerts."""
    lang = messages.pick_language(request.headers.get("accept-language"))
    exercises = _wants_exercises(request, rt)
    view = map_view(request, rt)
    states = await visible_states(rt, exercises)
    wanted = frozenset(Status) if exercises else frozenset({Status.ACTUAL})
    alerts = sorted(await rt.service.active(wanted), key=lambda a: a.started_at)
    drawn = [d.region for d in view.regions]
    under = [r for r in drawn if r.id in states and states[r.id][0].state is not Coverage.CALM]
    t = messages.t
    alert_n = sum(1 for r in under if states[r.id][0].state is Coverage.ALERT)
    partly_n = len(under) - alert_n
    key = {(False, False): "none", (True, False): "alert", (False, True): "partly"}.get((alert_n > 0, partly_n > 0), "")
    summary = t("web.map.summary" + ("_" + key if key else ""), lang, alert=alert_n, total=len(drawn), partly=partly_n)
    if under and all(states[r.id][1] for r in under):
        summary = f"{t('web.exercise_word', lang)}: {summary}"
    region_items = (
        "".join(
            f'<li data-region="{html.escape(r.id)}" data-state="{states[r.id][0].state.value}">'
            f"{html.escape(r.name(lang))}: {html.escape(t('web.state.' + states[r.id][0].state.value, lang))}</li>"
            for r in sorted(under, key=lambda r: r.name(lang))
        )
        or f'<li class="none">{html.escape(t("web.map.regions_none", lang))}</li>'
    )
    demo = (
        f'<p class="demo-notice" data-i18n="web.demo_notice">{html.escape(t("web.demo_notice", lang))}</p>'
        if rt.settings.demo
        else ""
    )
    options = "".join(
        f'<option value="{html.escape(r.id)}">{html.escape(r.name(lang))}</option>'
        for r in sorted(drawn, key=lambda r: r.name(lang))
    )
    link_items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(t("page.link." + name, lang))}</a></li>'
        for name, href in links.items()
    )
    return render(
        "index.html",
        lang,
        {
            "demo": str(rt.settings.demo).lower(),
            "exercises": str(exercises).lower(),
            "exercises_checked": " checked" if exercises else "",
            "demo_notice": demo,
            "summary": html.escape(summary),
            "map": map_svg(view, lang, states, element_id="map"),
            "region_list": region_items,
            "alerts_heading": html.escape(f"{t('web.map.alerts_heading', lang)} ({len(alerts)})"),
            "alert_list": _alert_items(rt, alerts, lang),
            "region_options": options,
            "links": link_items,
        },
    )


def _alert_items(rt: Runtime, alerts: Iterable[Alert], lang: str) -> str:
    items = []
    for alert in alerts:
        names = ", ".join(rt.registry.get(r).name(lang) for r in alert.touched_regions[:8])
        if len(alert.touched_regions) > 8:
            names += f" +{len(alert.touched_regions) - 8}"
        mark = ""
        if alert.status is not Status.ACTUAL:
            mark = f'<strong class="status-mark">{html.escape(messages.t("alert.status." + alert.status.value, lang))}</strong> '
        items.append(
            f'<li class="alert-item level-{alert.level.value}" data-alert="{html.escape(alert.id)}" '
            f'data-status="{alert.status.value}">{mark}<strong>{html.escape(alert.headline.get(lang, ""))}</strong>: '
            f'{html.escape(names)} <time datetime="{format_time(alert.started_at)}">{format_time(alert.started_at)}</time></li>'
        )
    return "".join(items)


# -- console and history -----------------------------------------------------------------------------------------


@router.get("/console", include_in_schema=False)
async def console_page(request: Request) -> HTMLResponse:
    rt = runtime(request)
    lang = messages.pick_language(request.headers.get("accept-language"))
    view = map_view(request, rt)
    states = await visible_states(rt, True)
    return render(
        "console.html",
        lang,
        {
            "map": map_svg(view, lang, states, element_id="cmap"),
            "kind_options": _options(lang, [(k.value, "alert.kind." + k.value) for k in Kind]),
            "threat_choices": "".join(
                f'<label class="choice"><input type="checkbox" name="threat" value="{t.value}">'
                f'<svg aria-hidden="true"><use href="#{THREAT_ICONS[t]}"/></svg>'
                f'<span data-i18n="alert.threat.{t.value}">{html.escape(messages.t("alert.threat." + t.value, lang))}'
                "</span></label>"
                for t in ThreatType
            ),
            "template_options": _options(
                lang,
                [
                    (key.removeprefix("web.template."), "web.template_names." + key.removeprefix("web.template."))
                    for key in messages.catalogue()
                    if key.startswith("web.template.")
                ],
            ),
            "shelter_options": _options(lang, [("", "web.console.shelter_none")])
            + "".join(f'<option value="{s}">{_shelter_text(s, lang)}</option>' for s in SHELTER_CHOICES_S),
        },
    )


def _options(lang: str, items: Iterable[tuple[str, str]]) -> str:
    return "".join(
        f'<option value="{html.escape(value)}" data-i18n="{key}">{html.escape(messages.t(key, lang))}</option>'
        for value, key in items
    )


def _shelter_text(seconds: int, lang: str) -> str:
    if seconds < 120:
        return html.escape(messages.t("web.duration.secs", lang, s=seconds))
    return html.escape(messages.t("web.duration.minutes", lang, m=seconds // 60))


@router.get("/history", include_in_schema=False)
async def history_page(request: Request) -> HTMLResponse:
    rt = runtime(request)
    lang = messages.pick_language(request.headers.get("accept-language"))
    drawn = sorted((d.region for d in map_view(request, rt).regions), key=lambda r: r.name(lang))
    options = "".join(
        f'<option value="{html.escape(r.id)}" data-name-uk="{html.escape(r.name("uk"))}" '
        f'data-name-en="{html.escape(r.name("en"))}">{html.escape(r.name(lang))}</option>'
        for r in drawn
    )
    return render("history.html", lang, {"region_options": options, "root": html.escape(rt.registry.root_id)})


# -- data for the pages ------------------------------------------------------------------------------------------


@router.get("/api/v1/regions/outlines.geojson", summary="Outlines of the regions the map draws (GeoJSON)")
async def outlines(request: Request) -> Response:
    """The top-level regions' outlines (oblasts for Ukraine) in lon/lat, rounded to about 100 m, with their
    names: enough to draw a map of the country without any tile server."""
    rt = runtime(request)
    cached: tuple[object, bytes] | None = getattr(request.app.state, "sirena_outlines", None)
    if cached is None or cached[0] is not rt.registry:
        body = JSONResponse(outlines_geojson(rt.registry)).body
        cached = (rt.registry, bytes(body))
        request.app.state.sirena_outlines = cached
    return Response(cached[1], media_type="application/geo+json", headers={"Cache-Control": "no-cache"})


@router.get("/ui/regions.json", include_in_schema=False)
async def region_rows(request: Request) -> Response:
    """Every region as ``[id, parent, level, name_uk, name_en]``, tree order: names for lists and search."""
    rt = runtime(request)
    cached: tuple[object, bytes] | None = getattr(request.app.state, "sirena_region_rows", None)
    if cached is None or cached[0] is not rt.registry:
        rows = [[r.id, r.parent_id, r.level, r.name("uk"), r.name("en")] for r in _preorder(rt)]
        cached = (rt.registry, bytes(JSONResponse({"root": rt.registry.root_id, "regions": rows}).body))
        request.app.state.sirena_region_rows = cached
    return Response(cached[1], media_type="application/json", headers={"Cache-Control": "no-cache"})


def _cap_preview(rt: Runtime, alert: Alert) -> str | None:
    """The CAP 1.2 XML the alert would be sent as (unsigned), when this server emits CAP."""
    writer = getattr(getattr(rt, "cap", None), "writer", None)
    if writer is None:
        return None
    try:
        message = alert_to_cap(alert, sender=writer.config.sender, areas=writer.areas)
        return to_xml(message).decode("utf-8")
    except (SirenaError, ValueError):
        return None


def _preorder(rt: Runtime) -> list[Any]:
    out = []
    stack = [rt.registry.get(rt.registry.root_id)]
    while stack:
        region = stack.pop()
        out.append(region)
        stack.extend(reversed(rt.registry.children(region.id)))
    return out


@router.post("/ui/console/preview", include_in_schema=False)
async def console_preview(request: Request, body: Annotated[AlertIn, Body()]) -> dict[str, Any]:
    """What an alert would look like if issued now: resolved regions, headline and texts. Writes nothing."""
    rt = runtime(request)
    draft = body.draft("preview")
    regions, partial = rt.service.resolve(draft.target)
    draft = dataclasses.replace(draft, regions=regions, partial_regions=partial)
    now = rt.service.clock()
    alert, _ = domain.issue(draft, alert_id=new_id(now), now=now)
    return {
        "alert": alert_to_dict(alert),
        "cap": _cap_preview(rt, alert),
        "names": {
            region_id: dict(rt.registry.get(region_id).names) for region_id in (*alert.regions, *alert.partial_regions)
        },
    }
