"""Channels: the audiences of advisories ("Embassy of Canada in Kyiv: Canadian citizens", "Kyiv city
administration"). An administrator creates one; ``sirena user add NAME --role operator --channel ID`` lets an
issuer publish to it; anyone may subscribe to it on every live outlet."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sirena.advisories.access import Clock, audit, now_text, require_role
from sirena.advisories.errors import ChannelExists, ChannelNotFound
from sirena.advisories.model import ChannelDraft
from sirena.auth.accounts import CHANNEL
from sirena.auth.principal import Principal, Role
from sirena.auth.storage import sql_store
from sirena.errors import ValidationFailed
from sirena.messages import Phrase
from sirena.store import advisories as sql
from sirena.store.sql import Connection

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def check_channel_id(value: str, field: str = "channel") -> str:
    if not CHANNEL.fullmatch(value):
        raise ValidationFailed(
            "error.validation_field", field=field, value=value, reason=Phrase("validation.reason.channel_id")
        )
    return value


class Channels:
    def __init__(self, store: object, clock: Clock) -> None:
        self.sql = sql_store(store)
        self.clock = clock
        self.known: set[str] = set()
        """Ids of channels this process has seen in the store (channels are never deleted)."""

    async def create(self, who: Principal, draft: ChannelDraft) -> dict[str, Any]:
        """A new channel (administrators only); 409 when the id is taken."""
        require_role(who, Role.ADMIN, "channel.create")
        check_channel_id(draft.id, "id")
        if not draft.name.strip():
            raise ValidationFailed(
                "error.validation_field", field="name", value=draft.name, reason=Phrase("validation.reason.empty")
            )
        languages = tuple(dict.fromkeys(draft.languages))
        for i, lang in enumerate(languages):
            if not LANGUAGE.fullmatch(lang):
                raise ValidationFailed(
                    "error.validation_field",
                    field=f"languages.{i}",
                    value=lang,
                    reason=Phrase("validation.reason.language"),
                )
        if not languages:
            raise ValidationFailed(
                "error.validation_field", field="languages", reason=Phrase("validation.reason.no_language")
            )
        moment = self.clock()
        channel = {
            "id": draft.id,
            "name": draft.name.strip(),
            "audience": draft.audience.strip(),
            "languages": list(languages),
            "created_at": now_text(lambda: moment),
            "created_by": who.name,
        }

        def run(conn: Connection) -> dict[str, Any]:
            if not sql.insert_channel(conn, channel):
                raise ChannelExists("advisories.error.channel_exists", channel=draft.id)
            audit(conn, moment, who, "channel.create", f"channel:{draft.id}", dict(channel))
            return channel

        created = await self.sql.transaction(run)
        self.known.add(draft.id)
        return created

    async def get(self, channel_id: str) -> dict[str, Any]:
        found = await self.sql.read(lambda conn: sql.get_channel(conn, channel_id))
        if found is None:
            raise ChannelNotFound("advisories.error.channel_not_found", channel=channel_id)
        self.known.add(channel_id)
        return found

    def seen(self, ids: Iterable[str]) -> bool:
        """Whether every channel in ``ids`` is known to exist without reading the store."""
        return self.known.issuperset(ids)

    async def require(self, ids: Iterable[str]) -> None:
        """Every channel in ``ids`` exists; the first (in sorted order) that does not is ``404 channel-not-found``.
        Only channels this process has not seen are read, so one created by another process or node is found."""
        for channel_id in sorted(set(ids) - self.known):
            await self.get(channel_id)

    async def list(self) -> list[dict[str, Any]]:
        return await self.sql.read(sql.list_channels)
