"""Stored alerts out as CAP: one version as CAP 1.2 XML (signed when a key is configured) or CAP-JSON, and the
Atom feed of active alerts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sirena import __version__, messages
from sirena.cap.areas import RegionAreas
from sirena.cap.config import CapConfig
from sirena.cap.convention import incident
from sirena.cap.outbound import alert_to_cap
from sirena.cap.storage import sql
from sirena.domain.model import Alert
from sirena.errors import AlertNotFound
from sirena.protocol.alert_json import alert_from_dict
from sirena.protocol.cap import sign
from sirena.protocol.cap.atom import Entry, Link, atom_feed
from sirena.protocol.cap.emit import to_xml
from sirena.protocol.cap.emit_json import to_json
from sirena.protocol.cap.model import CapMessage
from sirena.protocol.cap.vocabulary import MIME_CAP_XML
from sirena.store import Store
from sirena.store import cap as sql_cap

MIME_CAP_JSON = "application/json"


class CapWriter:
    def __init__(self, config: CapConfig, store: Store, areas: RegionAreas) -> None:
        self.config = config
        self.store = store
        self.areas = areas

    async def alert(self, alert_id: str, version: int | None = None) -> Alert:
        """The alert as it stands, or as it stood at ``version``."""
        if version is None:
            found = await self.store.get_alert(alert_id)
            if found is None:
                raise AlertNotFound("error.alert_not_found", alert_id=alert_id)
            return found
        body = await sql(self.store).read(lambda conn: sql_cap.version_body(conn, alert_id, version))
        if body is None:
            raise AlertNotFound("cap.error.not_found", alert_id=alert_id, version=version)
        return alert_from_dict(json.loads(body))

    async def message(self, alert: Alert, *, web: str | None = None) -> CapMessage:
        earlier = await sql(self.store).read(lambda conn: sql_cap.version_times(conn, alert.id))
        return alert_to_cap(alert, sender=self.config.sender, areas=self.areas, earlier=earlier, web=web)

    def xml_bytes(self, message: CapMessage) -> bytes:
        body = to_xml(message)
        if self.config.signing_key is not None and self.config.signing_cert is not None:
            body = sign(body, self.config.signing_key, self.config.signing_cert)
        return body

    def json_bytes(self, message: CapMessage) -> bytes:
        return to_json(message)

    def feed(
        self,
        alerts: Sequence[Alert],
        *,
        base_url: str,
        self_url: str,
        lang: str,
        updated: datetime | None,
        extra: Sequence[Entry] = (),
        title: str | None = None,
    ) -> bytes:
        """The Atom feed of ``alerts``, each entry linking to its CAP XML and CAP-JSON; ``extra`` entries (the
        advisories, reports and all-clears of :mod:`sirena.advisories`) follow them, newest first."""
        base = base_url.rstrip("/")
        entries = []
        for alert in alerts:
            cap_url = f"{base}/api/v1/alerts/{alert.id}.cap"
            title = alert.headline.get(lang) or next(iter(alert.headline.values()), "") or alert.kind.value
            entries.append(
                Entry(
                    id=incident(self.config.sender, alert.id),
                    title=title,
                    updated=alert.updated_at,
                    published=alert.started_at,
                    summary=alert.instruction.get(lang) or self.areas.describe(alert.touched_regions, lang),
                    categories=(alert.kind.value, alert.status.value, alert.level.value),
                    links=(
                        Link(cap_url, type=MIME_CAP_XML),
                        Link(f"{cap_url}.json", rel="alternate", type=MIME_CAP_JSON),
                        Link(f"{base}/api/v1/alerts/{alert.id}", rel="related", type="application/json"),
                    ),
                )
            )
        entries.extend(sorted(extra, key=lambda e: e.updated, reverse=True))
        newest = max((e.updated for e in entries), default=None)
        moment = max(m for m in (updated, newest, datetime(2000, 1, 1, tzinfo=UTC)) if m is not None)
        return atom_feed(
            feed_id=f"urn:sirena:{self.config.sender}:feed",
            title=title or messages.t("cap.feed.title", lang),
            updated=moment,
            author=self.config.sender,
            entries=entries,
            links=(Link(self_url, rel="self", type="application/atom+xml"),),
            lang=lang,
            generator=f"Sirena {__version__}",
        )
