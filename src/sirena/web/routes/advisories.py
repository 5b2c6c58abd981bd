"""Advisories: issue, list, read, update and end; each as CAP; and the all-clear of an ended alert."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sirena.advisories.advisories import Query as AdvisoryQuery
from sirena.advisories.cap import advisory_to_cap, all_clear_to_cap
from sirena.advisories.errors import ChannelNotFound
from sirena.advisories.model import AdvisoryChanges, AdvisoryDraft, AdvisoryType, Severity
from sirena.auth.principal import Principal
from sirena.cap.storage import sql as cap_sql
from sirena.domain.model import Status
from sirena.protocol.cap.model import CapMessage
from sirena.protocol.cap.vocabulary import MIME_CAP_XML
from sirena.runtime import Runtime
from sirena.store import cap as sql_cap
from sirena.web.deps import check_regions, require_principal, runtime, statuses_of
from sirena.web.routes.cap import conditional
from sirena.web.routes.channels import channels_of, refusals
from sirena.web.schemas import Language, RegionId

router = APIRouter(tags=["advisories"])

Caller = Annotated[Principal, Depends(require_principal)]
Headline = dict[Language, Annotated[str, StringConstraints(max_length=300)]]
Text = dict[Language, Annotated[str, StringConstraints(max_length=5000)]]


class AdvisoryIn(BaseModel):
    """A new advisory: to one channel's subscribers (`channel`), or public (no `channel`: needs `regions`)."""

    model_config = ConfigDict(extra="forbid")
    channel: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    type: AdvisoryType
    severity: Severity | None = Field(None, description="CAP severity; default by type.")
    regions: Annotated[list[RegionId], Field(max_length=2000)] = Field(default_factory=list)
    headline: Headline = Field(description='Per language, e.g. `{"uk": "…", "en": "…"}`.')
    text: Text = Field(default_factory=dict)
    status: Status = Status.ACTUAL
    effective_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    alert_id: Annotated[str, StringConstraints(max_length=64)] | None = None

    def draft(self) -> AdvisoryDraft:
        return AdvisoryDraft(
            type=self.type,
            headline=self.headline,
            text=self.text,
            channel=self.channel,
            severity=self.severity,
            regions=tuple(self.regions),
            status=self.status,
            effective_at=self.effective_at,
            expires_at=self.expires_at,
            alert_id=self.alert_id,
        )


class AdvisoryPatch(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    severity: Severity | None = None
    regions: Annotated[list[RegionId], Field(max_length=2000)] | None = None
    headline: Headline | None = None
    text: Text | None = None
    expires_at: AwareDatetime | None = None

    def changes(self) -> AdvisoryChanges:
        return AdvisoryChanges(
            severity=self.severity,
            regions=tuple(self.regions) if self.regions is not None else None,
            headline=self.headline,
            text=self.text,
            expires_at=self.expires_at,
        )


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


@router.post("/api/v1/advisories", status_code=201, summary="Issue an advisory")
async def issue_advisory(request: Request, body: Annotated[AdvisoryIn, Body()], who: Caller) -> JSONResponse:
    """A channel advisory needs a grant for the channel (`sirena user add … --channel ID`) and a headline in
    each of the channel's languages; a public one needs the scope of every region. Refusals are `403` naming
    the missing scope (`channel:ID`, `region:ID`, `role:operator`)."""
    rt = runtime(request)
    target = f"channel:{body.channel}" if body.channel else None
    async with refusals(request, who, "advisory.issue", target):
        advisory = await rt.advisories.desk.issue(who, body.draft())
    headers = {"Location": f"/api/v1/advisories/{advisory['id']}"}
    return JSONResponse(advisory, status_code=201, headers=headers)


@router.get("/api/v1/advisories", summary="List advisories")
async def list_advisories(
    request: Request,
    state: Literal["active", "all"] = "active",
    channels: Annotated[str | None, Query(description="Comma-separated channel ids, besides public ones.")] = None,
    region: Annotated[str | None, Query(max_length=64, description="With its descendants and ancestors.")] = None,
    statuses: Annotated[
        str | None, Query(description="Comma-separated: actual (default), exercise, test, all.")
    ] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Public advisories, and those of `channels`, newest first; `active` (default): valid now."""
    rt = runtime(request)
    query = AdvisoryQuery(
        current=state == "active",
        channels=channels_of(channels),
        statuses=statuses_of(statuses),
        regions=_around(rt, region),
        since=since,
        limit=limit,
    )
    return {"advisories": await rt.advisories.desk.find(query)}


def _around(rt: Runtime, region: str | None) -> frozenset[str] | None:
    if region is None:
        return None
    check_regions(rt, [region], "region")
    return frozenset({region, *rt.registry.descendants(region), *rt.registry.ancestors(region)})


async def _advisory_cap(request: Request, advisory_id: str, version: int | None) -> CapMessage:
    rt = runtime(request)
    advisory = await rt.advisories.desk.get(advisory_id, version)
    earlier = await rt.advisories.desk.version_times(advisory_id)
    channel = None
    if advisory.get("channel"):
        try:
            channel = await rt.advisories.channels.get(advisory["channel"])
        except ChannelNotFound:
            channel = None
    return advisory_to_cap(advisory, sender=rt.cap.config.sender, areas=rt.cap.areas, earlier=earlier, channel=channel)


@router.get(
    "/api/v1/advisories/{advisory_id}.cap",
    summary="An advisory as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MIME_CAP_XML: {}}}},
)
async def advisory_cap(
    request: Request, advisory_id: str, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """`msgType` `Alert` (first version), `Update`, or `Cancel` once ended; `scope` `Public`, or `Restricted`
    (with the channel as `restriction`) for a channel's advisory."""
    rt = runtime(request)
    body = rt.cap.writer.xml_bytes(await _advisory_cap(request, advisory_id, version))
    return conditional(request, body, MIME_CAP_XML)


@router.get("/api/v1/advisories/{advisory_id}.cap.json", summary="An advisory as CAP-JSON", response_class=Response)
async def advisory_cap_json(
    request: Request, advisory_id: str, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    rt = runtime(request)
    body = rt.cap.writer.json_bytes(await _advisory_cap(request, advisory_id, version))
    return conditional(request, body, "application/json")


@router.get("/api/v1/advisories/{advisory_id}", summary="Read an advisory")
async def get_advisory(
    request: Request, advisory_id: str, version: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    return await runtime(request).advisories.desk.get(advisory_id, version)


@router.patch("/api/v1/advisories/{advisory_id}", summary="Update an active advisory")
async def update_advisory(
    request: Request, advisory_id: str, body: Annotated[AdvisoryPatch, Body()], who: Caller
) -> dict[str, Any]:
    async with refusals(request, who, "advisory.update", f"advisory:{advisory_id}"):
        return await runtime(request).advisories.desk.update(who, advisory_id, body.changes())


@router.post("/api/v1/advisories/{advisory_id}/end", summary="End an advisory before it expires")
async def end_advisory(
    request: Request, advisory_id: str, who: Caller, body: Annotated[EndIn | None, Body()] = None
) -> dict[str, Any]:
    reason = body.reason if body is not None and body.reason else "ended"
    async with refusals(request, who, "advisory.end", f"advisory:{advisory_id}"):
        return await runtime(request).advisories.desk.end(who, advisory_id, reason=reason)


# -- the all-clear of an ended alert ----------------------------------------------------------------------------


@router.get(
    "/api/v1/alerts/{alert_id}/all-clear.cap",
    summary="The all-clear of an ended alert as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MIME_CAP_XML: {}}}},
    tags=["alerts"],
)
async def all_clear_cap(request: Request, alert_id: str) -> Response:
    """An `Update` in the alert's chain (referencing every version) with `responseType` `AllClear`."""
    rt = runtime(request)
    body = await rt.advisories.all_clears.get(alert_id)
    versions = await cap_sql(rt.store).read(lambda conn: sql_cap.version_times(conn, alert_id))
    message = all_clear_to_cap(body, sender=rt.cap.config.sender, areas=rt.cap.areas, alert_versions=versions)
    return conditional(request, rt.cap.writer.xml_bytes(message), MIME_CAP_XML)


@router.get("/api/v1/all-clears", summary="All-clears still shown", tags=["alerts"])
async def current_all_clears(
    request: Request,
    statuses: Annotated[
        str | None, Query(description="Comma-separated: actual (default), exercise, test, all.")
    ] = None,
) -> dict[str, Any]:
    """The all-clears of alerts ended in the last `SIRENA_ALL_CLEAR_SHOW_S` seconds, newest first."""
    return {"all_clears": await runtime(request).advisories.all_clears.current(statuses_of(statuses))}


@router.get("/api/v1/alerts/{alert_id}/all-clear", summary="The all-clear of an ended alert", tags=["alerts"])
async def all_clear(request: Request, alert_id: str) -> dict[str, Any]:
    """What `POST /api/v1/alerts/{id}/end` with `all_clear` sent (404 when the end sent none)."""
    rt = runtime(request)
    await rt.service.get(alert_id)  # an unknown alert is alert-not-found, not an alert without an all-clear
    return await rt.advisories.all_clears.get(alert_id)
