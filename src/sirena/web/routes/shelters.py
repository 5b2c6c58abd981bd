"""Shelters: the nearest ones to a point, all of them as GeoJSON for the map, and imports (operators only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from sirena import messages
from sirena.auth.errors import ScopeMissing
from sirena.auth.principal import Principal, Role
from sirena.errors import ValidationFailed
from sirena.messages import Phrase
from sirena.protocol.alert_json import format_time
from sirena.shelters import Shelter
from sirena.web.deps import require_principal, runtime

router = APIRouter(prefix="/api/v1/shelters", tags=["shelters"])

GEOJSON = "application/geo+json"
IMPORT_BODY = {
    "required": True,
    "content": {
        GEOJSON: {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


def nearest_json(found: list[tuple[Shelter, float]]) -> dict[str, Any]:
    return {"shelters": [{**s.to_json(), "distance_m": round(d, 1)} for s, d in found]}


@router.get("/nearest", summary="The shelters nearest to a point")
async def nearest(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> dict[str, Any]:
    """Nearest first, by great-circle distance (`distance_m`, metres); empty when no shelters are imported."""
    return nearest_json(await runtime(request).shelters.nearest(lat, lon, limit))


def _bbox(value: str | None) -> tuple[float, float, float, float]:
    if value is None:
        return -180.0, -90.0, 180.0, 90.0
    parts = value.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ValidationFailed(
            "error.validation_field", field="bbox", reason=Phrase("validation.reason.bbox")
        ) from None
    if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
        raise ValidationFailed("error.validation_field", field="bbox", reason=Phrase("validation.reason.bbox_degrees"))
    return west, south, east, north


@router.get("", summary="Shelters as GeoJSON, for the map", response_class=JSONResponse)
async def shelters_geojson(
    request: Request,
    bbox: Annotated[str | None, Query(description="`west,south,east,north` in degrees.")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> JSONResponse:
    """A FeatureCollection of Point features; `properties` hold the shelter's fields. At most `limit`, in
    import order; ask for a `bbox` to get those on screen."""
    found = await runtime(request).shelters.within(*_bbox(bbox), limit=limit)
    features = [
        {
            "type": "Feature",
            "id": s.id,
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {k: v for k, v in s.to_json().items() if k not in {"lat", "lon"}},
        }
        for s in found
    ]
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type=GEOJSON)


def _operator(who: Principal) -> Principal:
    if not who.has_role(Role.OPERATOR):
        raise ScopeMissing(
            "error.scope_missing_role",
            action="shelters.import",
            missing_scope=f"role:{Role.OPERATOR.value}",
            role=who.role.value,
            required_role=Role.OPERATOR.value,
        )
    return who


@router.post("/import", summary="Import shelters from GeoJSON or CSV", openapi_extra={"requestBody": IMPORT_BODY})
async def import_shelters(
    request: Request,
    who: Annotated[Principal, Depends(require_principal)],
    source: Annotated[str, Query(min_length=1, max_length=64, description="Whose shelters these are.")] = "upload",
    fmt: Annotated[
        Literal["geojson", "csv"] | None, Query(alias="format", description="Default: from Content-Type.")
    ] = None,
    partial: Annotated[bool, Query(description="Import the valid rows even if others are bad.")] = False,
) -> dict[str, Any]:
    """The body is the file (GeoJSON or CSV). It replaces every shelter of `source` at once. A row that cannot
    be imported refuses the whole file (422, `errors` lists each with its `line`) unless `partial=true`,
    which imports the valid rows and reports the others. Needs the operator role."""
    _operator(who)
    data = await request.body()
    report = await runtime(request).shelters.import_file(
        data,
        source=source,
        name=f"{source}.{fmt}" if fmt else "",
        fmt=fmt,
        content_type=request.headers.get("content-type"),
        partial=partial,
        actor=who.actor,
    )
    return report.to_json(messages.pick_language(request.headers.get("accept-language")))


@router.get("/imports", summary="The last shelter imports")
async def shelter_imports(request: Request, who: Annotated[Principal, Depends(require_principal)]) -> dict[str, Any]:
    found = await runtime(request).shelters.imports()
    return {
        "imports": [
            {
                "revision": i.revision,
                "source": i.source,
                "file": i.file,
                "format": i.format,
                "imported": i.imported,
                "replaced": i.replaced,
                "rejected": i.rejected,
                "at": format_time(i.at),
                "actor": i.actor,
            }
            for i in found
        ]
    }
