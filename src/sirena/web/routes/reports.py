"""Situation reports on active alerts: add, list (with map arrows for movements), read, and each as CAP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sirena import messages
from sirena.advisories.cap import report_to_cap
from sirena.advisories.model import Location, ReportDraft, ReportKind
from sirena.advisories.reports import arrow
from sirena.advisories.text import report_headline
from sirena.auth.principal import Principal
from sirena.cap.storage import sql as cap_sql
from sirena.domain.model import ThreatType
from sirena.protocol.cap.vocabulary import MIME_CAP_XML
from sirena.runtime import Runtime
from sirena.store import cap as sql_cap
from sirena.web.deps import require_principal, runtime, statuses_of
from sirena.web.routes.cap import conditional
from sirena.web.routes.channels import refusals
from sirena.web.schemas import Language, RegionId

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Caller = Annotated[Principal, Depends(require_principal)]


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ReportIn(BaseModel):
    """A situation report on an active alert. `region`: where it was seen, shot down or hit."""

    model_config = ConfigDict(extra="forbid")
    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: ReportKind
    threat: ThreatType
    count: int = Field(1, ge=1, le=100_000)
    region: RegionId
    observed_at: AwareDatetime | None = Field(None, description="Default: now.")
    heading_deg: float | None = Field(None, ge=0, lt=360, description="Movement: 0 = north, clockwise.")
    target_region: RegionId | None = Field(None, description="Movement: where it is heading.")
    location: LocationIn | None = Field(None, description="Where it was seen, if known more exactly than a region.")
    text: dict[Language, Annotated[str, StringConstraints(max_length=1000)]] = Field(default_factory=dict)
    follow_up: bool = Field(False, description="Movement of a group already reported: not counted again.")

    def draft(self) -> ReportDraft:
        return ReportDraft(
            alert_id=self.alert_id,
            kind=self.kind,
            threat=self.threat,
            region=self.region,
            count=self.count,
            observed_at=self.observed_at,
            heading_deg=self.heading_deg,
            target_region=self.target_region,
            location=Location(self.location.lat, self.location.lon) if self.location else None,
            text=self.text,
            follow_up=self.follow_up,
        )


def with_arrow(rt: Runtime, report: dict[str, Any]) -> dict[str, Any]:
    """The report with ``arrow`` (``{"from": [lon, lat], "to": [lon, lat]}`` or null) for the map, and a one-line
    ``summary`` in every catalogue language."""
    summary = {lang: report_headline(report, rt.registry, lang) for lang in messages.LANGUAGES}
    return {**report, "arrow": arrow(report, rt.registry), "summary": summary}


@router.post("", status_code=201, summary="Add a situation report to an active alert")
async def add_report(request: Request, body: Annotated[ReportIn, Body()], who: Caller) -> JSONResponse:
    """Needs the operator role and the scope of `region`; the alert must be active (`409 alert-not-active`).
    Counts of reports on actual alerts go into the statistics (`reports` of `/api/v1/stats`)."""
    rt = runtime(request)
    async with refusals(request, who, "report.add", f"alert:{body.alert_id}"):
        report = await rt.advisories.reports.add(who, body.draft())
    return JSONResponse(
        with_arrow(rt, report), status_code=201, headers={"Location": f"{router.prefix}/{report['id']}"}
    )


@router.get("", summary="List situation reports")
async def list_reports(
    request: Request,
    alert: Annotated[str | None, Query(max_length=64, description="Reports of this alert.")] = None,
    active: Annotated[bool, Query(description="Only reports of alerts active now.")] = False,
    statuses: Annotated[
        str | None, Query(description="Comma-separated: actual (default), exercise, test, all.")
    ] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Newest first, each with its map `arrow`."""
    rt = runtime(request)
    found = await rt.advisories.reports.find(
        alert_id=alert, active=active, statuses=statuses_of(statuses), since=since, limit=limit
    )
    return {"reports": [with_arrow(rt, r) for r in found]}


@router.get(
    "/{report_id}.cap",
    summary="A situation report as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MIME_CAP_XML: {}}}},
)
async def report_cap(request: Request, report_id: str) -> Response:
    """An `Alert` in the alert's incident, referencing the alert version it was added to."""
    rt = runtime(request)
    report = await rt.advisories.reports.get(report_id)
    versions = await cap_sql(rt.store).read(lambda conn: sql_cap.version_times(conn, report["alert_id"]))
    message = report_to_cap(report, sender=rt.cap.config.sender, areas=rt.cap.areas, alert_versions=versions)
    return conditional(request, rt.cap.writer.xml_bytes(message), MIME_CAP_XML)


@router.get("/{report_id}", summary="Read a situation report")
async def get_report(request: Request, report_id: str) -> dict[str, Any]:
    rt = runtime(request)
    return with_arrow(rt, await rt.advisories.reports.get(report_id))
