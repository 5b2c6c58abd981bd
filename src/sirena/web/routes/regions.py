"""Region tree and per-region state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from sirena.domain.model import AlertState
from sirena.domain.state import Coverage
from sirena.errors import RegionNotFound
from sirena.protocol.alert_json import alert_to_dict, format_time
from sirena.web.deps import runtime, statuses_of

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])


@router.get("", summary="The region tree")
async def region_tree(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    return {"country": rt.registry.country, "root": rt.registry.to_tree()}


@router.get("/states", summary="Every region that is under alert or partly under alert")
async def region_states(
    request: Request,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
) -> dict[str, Any]:
    rt = runtime(request)
    states = await rt.service.region_states(statuses_of(statuses))
    return {
        "states": {
            region_id: {
                "state": s.state.value,
                "level": s.level.value if s.level else None,
                "threats": sorted(t.value for t in s.threats),
                "since": format_time(s.since),
                "alerts": s.alert_ids,
            }
            for region_id, s in sorted(states.items())
        }
    }


@router.get("/{region_id}", summary="One region with its current state and active alerts")
async def region_detail(
    request: Request,
    region_id: str,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
) -> dict[str, Any]:
    rt = runtime(request)
    if region_id not in rt.registry:
        raise RegionNotFound("error.region_not_found", region_id=region_id)
    region = rt.registry.get(region_id)
    wanted = statuses_of(statuses)
    alerts = await rt.service.find(states=frozenset({AlertState.ACTIVE}), region=region_id, statuses=wanted)
    states = await rt.service.region_states(wanted)
    state = states.get(region_id)
    return {
        "id": region.id,
        "level": region.level,
        "names": dict(region.names),
        "codes": dict(region.codes),
        "parent": region.parent_id,
        "children": list(region.children),
        "state": state.state.value if state else Coverage.CALM.value,
        "alert_level": state.level.value if state and state.level else None,
        "threats": sorted(t.value for t in state.threats) if state else [],
        "since": format_time(state.since) if state else None,
        "alerts": [alert_to_dict(a) for a in alerts],
    }
