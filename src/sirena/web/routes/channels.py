"""Channels: the audiences of advisories. Administrators create them; anyone may read them and subscribe (the
live stream, WebSocket, webhooks and push take ``channels``; MQTT has ``<prefix>/channels/<id>``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sirena import messages
from sirena.advisories.advisories import Query as AdvisoryQuery
from sirena.advisories.channels import check_channel_id
from sirena.advisories.model import ChannelDraft
from sirena.auth import audit
from sirena.auth.principal import Principal
from sirena.cap.storage import sql as cap_sql
from sirena.errors import Forbidden
from sirena.protocol.cap.atom import MIME_ATOM
from sirena.runtime import Runtime
from sirena.store import cap as sql_cap
from sirena.web.deps import require_principal, runtime, split, statuses_of
from sirena.web.routes.cap import conditional
from sirena.web.schemas import Language

router = APIRouter(prefix="/api/v1/channels", tags=["advisories"])

Caller = Annotated[Principal, Depends(require_principal)]


@asynccontextmanager
async def refusals(request: Request, who: Principal, action: str, target: str | None = None) -> AsyncIterator[None]:
    """Audit a refused action (403) before the refusal goes back to the caller."""
    try:
        yield
    except Forbidden as exc:
        details = {"action": action, "via": who.via, "refused": exc.slug, **exc.extensions()}
        await audit.record(runtime(request).store, who.actor, "refused", target, details)
        raise


def channels_of(value: str | None) -> tuple[str, ...]:
    """``?channels=a,b`` checked (ids as ``sirena user add --channel`` takes them)."""
    return tuple(check_channel_id(c, "channels") for c in split(value) or ())


async def existing_channels(rt: Runtime, ids: Iterable[str]) -> tuple[str, ...]:
    """``ids`` checked, each once; an unknown channel is ``404 channel-not-found``, so that a misspelt channel is
    not a subscription that silently never receives anything."""
    checked = tuple(dict.fromkeys(check_channel_id(c, "channels") for c in ids))
    await rt.advisories.channels.require(checked)
    return checked


class ChannelIn(BaseModel):
    """A channel: an audience advisories are published to."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Letters, digits and `. _ : -`; what `sirena user add --channel` and `?channels=` name."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    audience: Annotated[str, StringConstraints(max_length=500)] = Field(
        "", description="Who it is for, e.g. `Canadian citizens in Ukraine` (CAP `audience`)."
    )
    languages: Annotated[list[Language], Field(min_length=1, max_length=10)] = Field(
        default_factory=lambda: ["uk", "en"], description="Languages every advisory to it must have a headline in."
    )


@router.post("", status_code=201, summary="Create a channel (administrators)")
async def create_channel(request: Request, body: Annotated[ChannelIn, Body()], who: Caller) -> JSONResponse:
    rt = runtime(request)
    async with refusals(request, who, "channel.create", f"channel:{body.id}"):
        draft = ChannelDraft(body.id, body.name, body.audience, tuple(body.languages))
        channel = await rt.advisories.channels.create(who, draft)
    return JSONResponse(channel, status_code=201, headers={"Location": f"{router.prefix}/{channel['id']}"})


@router.get("", summary="List channels")
async def list_channels(request: Request) -> dict[str, Any]:
    return {"channels": await runtime(request).advisories.channels.list()}


@router.get(
    "/{channel_id}/feed.atom",
    summary="Atom feed of a channel's advisories",
    response_class=Response,
    responses={200: {"content": {MIME_ATOM: {}}}},
)
async def channel_feed(
    request: Request,
    channel_id: str,
    statuses: Annotated[str | None, Query(description="Comma-separated: actual, exercise, test, or all.")] = None,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The channel's current advisories (CAP scope `Restricted`) and current all-clears, each entry linking to
    its CAP."""
    rt = runtime(request)
    channel = await rt.advisories.channels.get(channel_id)
    language = lang if lang in messages.LANGUAGES else messages.pick_language(request.headers.get("accept-language"))
    status_set = statuses_of(statuses)
    base = str(request.base_url).rstrip("/")
    sender = rt.cap.config.sender
    entries = await rt.advisories.feed_entries(
        base=base, sender=sender, lang=language, statuses=status_set, regions=None, channel=channel_id
    )
    _, changed = await cap_sql(rt.store).read(sql_cap.last_change)
    body = rt.cap.writer.feed(
        [],
        base_url=base,
        self_url=str(request.url),
        lang=language,
        updated=changed,
        extra=entries,
        title=channel["name"],
    )
    return conditional(request, body, MIME_ATOM, changed, vary="Accept-Language")


@router.get("/{channel_id}/advisories", summary="A channel's advisories")
async def channel_advisories(
    request: Request,
    channel_id: str,
    state: Literal["active", "all"] = "active",
    statuses: Annotated[str | None, Query(description="Comma-separated statuses; default actual.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    rt = runtime(request)
    await rt.advisories.channels.get(channel_id)
    query = AdvisoryQuery(
        current=state == "active", channels=(channel_id,), public=False, statuses=statuses_of(statuses), limit=limit
    )
    return {"advisories": await rt.advisories.desk.find(query)}


@router.get("/{channel_id}", summary="Read a channel")
async def get_channel(request: Request, channel_id: str) -> dict[str, Any]:
    return await runtime(request).advisories.channels.get(channel_id)
