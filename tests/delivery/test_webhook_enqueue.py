"""Queueing webhook messages from committed events: a bulk issue is queued from the events the bus hands on (not
read back one by one), each event's body is encoded once for all subscriptions, and events written by another
process (a gap in what the bus hands on) are read from the event log, in order, each once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from delivery_helpers import FAST_RETRIES, free_port

from sirena import testing
from sirena.delivery import SubscriptionFilter, WebhookSpec
from sirena.domain import AlertDraft, Target
from sirena.protocol.alert_json import dumps, event_to_dict
from sirena.runtime import Runtime
from sirena.service import AlertService
from sirena.store import SQLiteStore
from sirena.store.delivery import WebhookSubscription


async def queued(rt: Runtime, sub: WebhookSubscription, count: int, within: float = 30.0) -> list[str]:
    """The bodies queued for ``sub`` in order, once there are ``count`` of them."""
    async with asyncio.timeout(within):
        while True:
            messages = await rt.delivery.webhooks.messages(sub.id, limit=count + 10)
            if len(messages) >= count:
                return [m.body for m in reversed(messages)]
            await asyncio.sleep(0.05)


async def test_a_bulk_issue_is_queued_from_the_events_handed_on(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: the messages stay queued
    async with testing.running(testing.settings_for(tmp_path, **FAST_RETRIES)) as rt:
        enqueuer = rt.delivery.enqueuer
        assert enqueuer is not None
        subs = [await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody)) for _ in range(2)]
        kyiv = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody, filter=SubscriptionFilter(regions=("31",))))
        oblasts = [r.id for r in rt.registry.children(rt.registry.root_id)]
        drafts = [AlertDraft(target=Target(regions=(oblasts[i % len(oblasts)],))) for i in range(1000)]
        reads_before = enqueuer.log_reads
        results = await rt.service.issue_many(drafts)
        events = await rt.store.events_after(results[0].event.seq - 1, limit=2000)
        assert [e.seq for e in events] == [r.event.seq for r in results]
        bodies = [dumps(event_to_dict(e)) for e in events]
        for sub in subs:
            assert await queued(rt, sub, 1000) == bodies  # the stream's body, in order, each once
        in_kyiv = [b for b, e in zip(bodies, events, strict=True) if "31" in e.alert.regions]
        assert await queued(rt, kyiv, len(in_kyiv)) == in_kyiv
        assert enqueuer.log_reads - reads_before < 10  # not one read per event (nor per batch of 500)


async def test_events_written_by_another_process_are_read_from_the_log(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    settings = testing.settings_for(tmp_path, **FAST_RETRIES)
    async with testing.running(settings) as rt:
        sub = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody))
        first = await rt.service.issue(AlertDraft(target=Target(regions=("31",))))
        other = SQLiteStore(settings.database_url)  # as the command line would, in its own process
        await other.open()
        try:
            service = AlertService(other, rt.registry)
            written = [await service.issue(AlertDraft(target=Target(regions=(r,)))) for r in ("14", "8")]
        finally:
            await other.close()
        last = await rt.service.issue(AlertDraft(target=Target(regions=("9",))))
        bodies = await queued(rt, sub, 4)
        events = await rt.store.events_after(first.event.seq - 1)
        assert [e.seq for e in events] == [first.event.seq, *(w.event.seq for w in written), last.event.seq]
        assert bodies == [dumps(event_to_dict(e)) for e in events]
