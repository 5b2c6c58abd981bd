"""The alert history: statistics from the rollups, a region's alerts, and export (CSV, GeoJSON, Parquet)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from sirena.domain.model import Kind, Source, Status
from sirena.errors import RegionNotFound
from sirena.history.archive import STATS_SOURCES, History, parse_choices
from sirena.history.export import Format, export
from sirena.history.stats import DEFAULT_TZ, Group, StatsQuery, parse_bound, zone
from sirena.protocol.alert_json import alert_to_dict
from sirena.web.deps import runtime

router = APIRouter(prefix="/api/v1", tags=["history"])

SourceParam = Annotated[
    str | None,
    Query(description="Comma-separated: official, volunteer, sirena, cap; or all."),
]
KindParam = Annotated[str | None, Query(description="Comma-separated alert kinds; default all.")]
TzParam = Annotated[str, Query(max_length=64, description="IANA time zone of the buckets and of bare dates.")]


def _history(request: Request) -> History:
    rt = runtime(request)
    return History(rt.store, rt.registry)


@router.get("/stats", summary="Alerts and minutes under alert per hour, day or month, from the rollups")
async def stats(
    request: Request,
    region: Annotated[str, Query(max_length=64, description="Region id.")],
    from_: Annotated[str, Query(alias="from", max_length=40, description="YYYY-MM-DD (in tz) or ISO 8601.")],
    to: Annotated[str, Query(max_length=40, description="Exclusive end: YYYY-MM-DD (in tz) or ISO 8601.")],
    group: Group = Group.DAY,
    source: SourceParam = None,
    kind: KindParam = None,
    tz: TzParam = DEFAULT_TZ,
    descendants: bool = False,
) -> dict[str, Any]:
    """`alerts` counts the alerts that started in a bucket, `minutes` the time under alert clipped to it; both
    for alerts targeting the region itself unless `descendants=true` (then summed over the region and every
    region below it). Buckets are local to `tz`. `source` defaults to every source but `volunteer`, which records
    the official channel's alerts a second time. `reports` sums the situation reports of actual alerts per
    bucket: drones (and other threats) `reported` moving, `intercepted` and `impacts`, by threat type."""
    history = _history(request)
    zone_info = zone(tz)
    query = StatsQuery(
        region_id=history.check_region(region),
        start=parse_bound(from_, zone_info, "from"),
        end=parse_bound(to, zone_info, "to"),
        group=group,
        tz=zone_info,
        sources=STATS_SOURCES if source is None else parse_choices(source, Source, "source"),
        kinds=parse_choices(kind, Kind, "kind"),
        descendants=descendants,
    )
    body = (await history.stats(query)).to_json()
    body["reports"] = await runtime(request).advisories.reports.stats(query, history.scope(region, descendants))
    return body


@router.get("/regions/{region_id}/history", summary="A region's alerts, newest first, a page at a time")
async def region_history(
    request: Request,
    region_id: str,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    source: SourceParam = None,
    kind: KindParam = None,
    statuses: Annotated[str | None, Query(description="Comma-separated statuses; default actual.")] = None,
    tz: TzParam = DEFAULT_TZ,
    descendants: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100, description="`next` of the previous page.")] = None,
) -> dict[str, Any]:
    """The alerts behind the statistics (same region, period, source and kind rules), each in the native alert
    shape. Imported alerts carry `source` `official`, `volunteer` or `cap`."""
    history = _history(request)
    if region_id not in history.registry:
        raise RegionNotFound("error.region_not_found", region_id=region_id)
    zone_info = zone(tz)
    where = history.history_filter(
        region_id,
        descendants=descendants,
        start=parse_bound(from_, zone_info, "from") if from_ else None,
        end=parse_bound(to, zone_info, "to") if to else None,
        sources=STATS_SOURCES if source is None else parse_choices(source, Source, "source"),
        kinds=parse_choices(kind, Kind, "kind"),
        statuses=parse_choices(statuses or "actual", Status, "statuses"),
    )
    alerts, next_cursor = await history.alerts(where, limit=limit, cursor=cursor)
    return {"region": region_id, "alerts": [alert_to_dict(a) for a in alerts], "next": next_cursor}


@router.get("/export", summary="The history as CSV, GeoJSON or Parquet, streamed")
async def export_history(
    request: Request,
    format: Literal["csv", "geojson", "parquet"] = "csv",
    region: Annotated[str | None, Query(max_length=64)] = None,
    descendants: bool = True,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    source: SourceParam = None,
    kind: KindParam = None,
    tz: TzParam = DEFAULT_TZ,
) -> StreamingResponse:
    """One row per actual alert and region it targeted, in start order: every source unless `source` says
    otherwise; `region` includes the regions below it unless `descendants=false`. Parquet needs the server's
    optional `parquet` extra (501 without it)."""
    history = _history(request)
    zone_info = zone(tz)
    where = history.history_filter(
        region,
        descendants=descendants,
        start=parse_bound(from_, zone_info, "from") if from_ else None,
        end=parse_bound(to, zone_info, "to") if to else None,
        sources=parse_choices(source, Source, "source"),
        kinds=parse_choices(kind, Kind, "kind"),
    )
    fmt = Format(format)
    chunks = export(history, where, fmt)
    first = await anext(chunks)  # errors (a missing extra) surface here, before the response starts

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    name = f"sirena-history.{fmt.suffix}"
    return StreamingResponse(
        body(), media_type=fmt.media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
