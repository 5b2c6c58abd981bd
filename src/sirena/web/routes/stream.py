"""The live stream: Server-Sent Events with a snapshot on connect and resume by ``Last-Event-ID``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from sirena.advisories.channels import check_channel_id
from sirena.domain.model import Status
from sirena.errors import ValidationFailed
from sirena.protocol import sse
from sirena.protocol.alert_json import dumps
from sirena.runtime import Runtime
from sirena.stream import EventFilter, live
from sirena.web.deps import check_regions, enums, runtime, split

router = APIRouter(prefix="/api/v1", tags=["stream"])


def stream_filter(rt: Runtime, regions: str | None, statuses: str | None, channels: str | None = None) -> EventFilter:
    region_ids = split(regions)
    if region_ids is not None:
        check_regions(rt, region_ids, "regions")
    wanted = split(statuses)
    status_set = frozenset(Status) if wanted == ["all"] else enums(Status, wanted or ["actual"], "statuses")
    channel_ids = [check_channel_id(c, "channels") for c in split(channels) or ()]
    return EventFilter.build(rt.registry, region_ids, status_set, channel_ids)


def resume_point(header: str | None, query: int | None) -> int | None:
    if header is not None and header.strip():
        try:
            value = int(header.strip())
        except ValueError:
            raise ValidationFailed("error.bad_last_event_id", field="Last-Event-ID", value=header) from None
        return max(value, 0)
    return query


async def sse_events(rt: Runtime, flt: EventFilter, last_id: int | None) -> AsyncIterator[bytes]:
    """Snapshot (or the missed events, when resuming), then live events and heartbeats."""
    yield sse.retry(rt.settings.stream_retry_ms)
    items = live.session(rt.store, rt.hub, flt, last_id, rt.settings.stream_heartbeat_s)
    try:
        async for item in items:
            if item is None:
                yield sse.comment("heartbeat")
            elif isinstance(item, live.SnapshotItem):
                yield sse.frame(dumps({"seq": item.seq, "alerts": item.alerts}), event="snapshot", id=item.seq)
            else:
                yield item.frame
    finally:
        await items.aclose()


@router.get(
    "/stream",
    summary="Live alert events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    regions: Annotated[str | None, Query(description="Comma-separated region ids; descendants included.")] = None,
    statuses: Annotated[
        str | None, Query(description="Comma-separated: actual (default), exercise, test, all.")
    ] = None,
    channels: Annotated[
        str | None, Query(description="Comma-separated channel ids whose advisories you want, besides public ones.")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    since_seq: Annotated[int | None, Query(ge=0, description="Resume after this sequence number.")] = None,
) -> StreamingResponse:
    """Sends `snapshot` (active alerts) on connect, then `alert.issued`, `alert.updated`, `alert.ended` and
    `alert.cancelled` events with `id:` = sequence number, and the notices in the same sequence: public
    `advisory.issued|updated|ended` (and those of `channels`), `report.added` and `alert.all_clear`. Reconnect
    with `Last-Event-ID` to get exactly the events missed. A channel that does not exist is refused (404
    `channel-not-found`)."""
    rt = runtime(request)
    flt = stream_filter(rt, regions, statuses, channels)
    start = resume_point(last_event_id, since_seq)
    await rt.advisories.channels.require(flt.channels)
    return StreamingResponse(
        sse_events(rt, flt, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
