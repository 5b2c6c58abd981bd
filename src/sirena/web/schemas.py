"""Request bodies of the native API, as pydantic models (they also document the OpenAPI schema).

A check of the API's own raises ``PydanticCustomError(type, English text)``; the problem names its reason by that
type from the message catalogue (``validation.type.<type>``), in the client's language."""

from __future__ import annotations

import math
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sirena.domain.model import (
    AlertChanges,
    AlertDraft,
    Circle,
    Kind,
    Level,
    Status,
    Target,
    Threat,
    ThreatType,
)

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
Texts = dict[Language, Annotated[str, StringConstraints(max_length=2000)]]
RegionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
_INT_LIMIT = 2**63


def _plain_json(value: Any) -> Any:
    """``value`` when every part of it can be stored and sent back as JSON as it came: finite numbers, integers
    within 64 bits, text that is valid Unicode (no lone surrogate from a ``\\ud800`` escape)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise PydanticCustomError("text_not_unicode", "text must be valid Unicode") from None
        elif isinstance(item, float) and not math.isfinite(item):
            raise PydanticCustomError("number_not_finite", "numbers must be finite")
        elif isinstance(item, int) and not isinstance(item, bool) and not -_INT_LIMIT <= item < _INT_LIMIT:
            raise PydanticCustomError("integer_too_big", "integers must fit in 64 bits")
    return value


PlainJSON = Annotated[dict[str, Any], AfterValidator(_plain_json)]


class ThreatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ThreatType
    level: Level = Level.RED


class CircleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=2000)


class _TargetFields(BaseModel):
    regions: Annotated[list[RegionId], Field(min_length=1, max_length=2000)] | None = Field(
        None, description='Region ids (e.g. `"31"` for Kyiv city, `"UA"` for the whole country).'
    )
    area: PlainJSON | None = Field(None, description="A GeoJSON Polygon or MultiPolygon (lon, lat).")
    circle: CircleIn | None = None

    def _targets(self) -> int:
        return sum(x is not None for x in (self.regions, self.area, self.circle))

    def target(self) -> Target:
        return Target(
            regions=tuple(self.regions or ()),
            area=self.area,
            circle=Circle(self.circle.lat, self.circle.lon, self.circle.radius_km) if self.circle else None,
        )


class AlertIn(_TargetFields):
    """A new alert. Give exactly one target: `regions`, `area` or `circle`."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind = Kind.AIR_RAID
    threats: Annotated[list[ThreatIn], Field(max_length=20)] = []
    level: Level = Level.RED
    status: Status = Status.ACTUAL
    headline: Texts = {}
    instruction: Texts = {}
    time_to_shelter_s: int | None = Field(None, ge=0, le=86_400)
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self._targets() != 1:
            raise PydanticCustomError("target_exactly_one", "give exactly one of regions, area or circle")
        return self

    def draft(self, issuer: str) -> AlertDraft:
        return AlertDraft(
            target=self.target(),
            kind=self.kind,
            level=self.level,
            status=self.status,
            threats=tuple(Threat(t.type, t.level) for t in self.threats),
            issuer=issuer,
            headline=dict(self.headline),
            instruction=dict(self.instruction),
            time_to_shelter_s=self.time_to_shelter_s,
            expires_at=self.expires_at,
        )


class AlertPatch(_TargetFields):
    """Changes to an active alert; fields left out stay as they are. Status cannot change."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind | None = None
    threats: Annotated[list[ThreatIn], Field(max_length=20)] | None = None
    level: Level | None = None
    headline: Texts | None = None
    instruction: Texts | None = None
    time_to_shelter_s: int | None = Field(None, ge=0, le=86_400)
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _at_most_one_target(self) -> Self:
        if self._targets() > 1:
            raise PydanticCustomError("target_at_most_one", "give at most one of regions, area or circle")
        if not self.model_fields_set:
            raise PydanticCustomError("nothing_to_change", "nothing to change")
        return self

    def changes(self) -> AlertChanges:
        return AlertChanges(
            target=self.target() if self._targets() else None,
            kind=self.kind,
            level=self.level,
            threats=tuple(Threat(t.type, t.level) for t in self.threats) if self.threats is not None else None,
            headline=dict(self.headline) if self.headline is not None else None,
            instruction=dict(self.instruction) if self.instruction is not None else None,
            time_to_shelter_s=self.time_to_shelter_s,
            expires_at=self.expires_at,
        )
