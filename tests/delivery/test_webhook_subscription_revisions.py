"""The enqueuer keeps the subscriptions it read while their revision (moved by the database with every change,
from any connection) is the one the store read in the transaction of each new event: a lone commit does not read
them again, and a change made by another process before an event is honoured for that event."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from delivery_helpers import FAST_RETRIES, free_port

from sirena import testing
from sirena.delivery import SubscriptionFilter, WebhookSpec
from sirena.delivery.channels import sql_runner
from sirena.delivery.nearby import Nearby
from sirena.delivery.outbox import Enqueuer
from sirena.delivery.webhooks import FormatContext, Webhooks
from sirena.domain import AlertDraft, Target
from sirena.runtime import Runtime
from sirena.service import AlertService
from sirena.store import SQLiteStore
from sirena.store.delivery import WebhookSubscription


async def seqs_queued(rt: Runtime, sub: WebhookSubscription) -> list[int]:
    return sorted(m.seq for m in await rt.delivery.webhooks.messages(sub.id, limit=1000) if m.seq is not None)


async def until_queued(rt: Runtime, sub: WebhookSubscription, seq: int, within: float = 30.0) -> list[int]:
    """The sequence numbers queued for ``sub``, once ``seq`` is among them (so every event before it was
    considered too: the enqueuer goes in order)."""
    async with asyncio.timeout(within):
        while True:
            found = await seqs_queued(rt, sub)
            if seq in found:
                return found
            await asyncio.sleep(0.02)


async def issue(rt: Runtime, region: str = "31") -> int:
    return (await rt.service.issue(AlertDraft(target=Target(regions=(region,))))).event.seq


async def lone_commits_read_nothing(rt: Runtime, sub: WebhookSubscription, count: int) -> list[int]:
    """Issue one alert, then ``count`` more one at a time: all are queued for ``sub`` and, nothing having changed,
    the enqueuer reads the subscriptions no more after the first. The sequence numbers queued."""
    enqueuer = rt.delivery.enqueuer
    assert enqueuer is not None
    first = await issue(rt)
    assert await until_queued(rt, sub, first) == [first]
    reads = enqueuer.subscription_reads
    later = [await issue(rt) for _ in range(count)]
    assert await until_queued(rt, sub, later[-1]) == [first, *later]
    assert enqueuer.subscription_reads == reads  # the revision did not move: the kept list was used
    return [first, *later]


async def test_a_lone_commit_does_not_read_the_subscriptions_again(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: the messages stay queued
    async with testing.running(testing.settings_for(tmp_path, **FAST_RETRIES)) as rt:
        sub = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody))
        _first, *later = await lone_commits_read_nothing(rt, sub, 5)
        assert rt.store.revision_at(later[0]) == rt.store.revision_at(later[-1]) is not None


async def test_events_a_poll_reads_from_the_log_use_the_kept_list_too(tmp_path: Path) -> None:
    # a poll can read this store's events from the log before the bus hands them on; an enqueuer that no bus
    # feeds reads every batch that way
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    settings = testing.settings_for(tmp_path, webhooks=False, **FAST_RETRIES)
    async with testing.running(settings) as rt:
        webhooks = rt.delivery.webhooks
        context = FormatContext(rt.registry, rt.service, Nearby(rt.registry, 0, rt.shelters))
        enqueuer = Enqueuer(
            rt.store, sql_runner(rt.store), webhooks, context, rt.delivery.metrics, lambda _: None, poll_s=3600
        )
        await enqueuer.start()
        sub = await webhooks.subscribe(WebhookSpec(url=nobody))
        first = await issue(rt)
        await enqueuer.drain()
        reads, log_reads = enqueuer.subscription_reads, enqueuer.log_reads
        later = [await issue(rt) for _ in range(3)]
        await enqueuer.drain()
        assert enqueuer.log_reads > log_reads
        assert enqueuer.subscription_reads == reads
        assert await seqs_queued(rt, sub) == [first, *later]

        added = await webhooks.subscribe(WebhookSpec(url=nobody))  # a change: the next batch reads the list again
        last = await issue(rt)
        await enqueuer.drain()
        assert enqueuer.subscription_reads == reads + 1
        assert await seqs_queued(rt, added) == [last]
        assert await seqs_queued(rt, sub) == [first, *later, last]


async def test_changes_made_by_another_process_are_honoured_for_the_next_event(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    settings = testing.settings_for(tmp_path, **FAST_RETRIES)
    async with testing.running(settings) as rt:
        enqueuer = rt.delivery.enqueuer
        assert enqueuer is not None
        every = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody))  # unchanged: shows what was queued
        kyiv = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody, filter=SubscriptionFilter(regions=("31",))))
        e1 = await issue(rt)
        assert await until_queued(rt, every, e1) == [e1]

        # created by another process (a second store on the same file, as the command line would open it)
        other = SQLiteStore(settings.database_url)
        await other.open()
        try:
            elsewhere = Webhooks(other, settings, lambda _: None)
            added = await elsewhere.subscribe(WebhookSpec(url=nobody))
        finally:
            await other.close()
        reads = enqueuer.subscription_reads
        e2 = await issue(rt)
        assert await until_queued(rt, every, e2) == [e1, e2]
        assert await seqs_queued(rt, added) == [e2]
        assert enqueuer.subscription_reads == reads + 1

        # a filter changed by a bare connection: Kyiv's subscription now takes Sumy's alerts only
        conn = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
        try:
            sumy = SubscriptionFilter(regions=("18",)).to_dict()
            with conn:
                conn.execute("UPDATE webhook_subscriptions SET filter = ? WHERE id = ?", (json.dumps(sumy), kyiv.id))
            e3, e4 = await issue(rt, "31"), await issue(rt, "18")
            assert await until_queued(rt, every, e4) == [e1, e2, e3, e4]
            assert await seqs_queued(rt, kyiv) == [e1, e2, e4]

            # deleted (marked so, as the API does) and removed outright by another connection
            with conn:
                conn.execute(
                    "UPDATE webhook_subscriptions SET deleted_at = '2026-01-01T00:00:00Z' WHERE id = ?", (kyiv.id,)
                )
                conn.execute("DELETE FROM webhook_subscriptions WHERE id = ?", (added.id,))
            e5 = await issue(rt, "18")
            assert await until_queued(rt, every, e5) == [e1, e2, e3, e4, e5]
            assert await seqs_queued(rt, kyiv) == [e1, e2, e4]
            assert await seqs_queued(rt, added) == [e2, e3, e4]
        finally:
            conn.close()


async def test_events_of_another_process_read_the_subscriptions_again(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    settings = testing.settings_for(tmp_path, **FAST_RETRIES)
    async with testing.running(settings) as rt:
        sub = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody))
        first = await issue(rt)
        await until_queued(rt, sub, first)
        other = SQLiteStore(settings.database_url)
        await other.open()
        try:
            added = await Webhooks(other, settings, lambda _: None).subscribe(WebhookSpec(url=nobody))
            result = await AlertService(other, rt.registry).issue(AlertDraft(target=Target(regions=("31",))))
            written = result.event.seq
            assert other.revision_at(written) is not None
        finally:
            await other.close()
        assert rt.store.revision_at(written) is None  # not this store's commit
        last = await issue(rt)
        assert await until_queued(rt, sub, last) == [first, written, last]
        assert await seqs_queued(rt, added) == [written, last]


async def test_on_postgresql_too_the_list_is_kept_and_changes_by_another_node_are_honoured(tmp_path: Path) -> None:
    import psycopg

    from sirena.cluster.testing import scratch_database
    from sirena.store import open_store

    nobody = f"http://127.0.0.1:{free_port()}/hook"
    with scratch_database(prefix="sirena_rev") as url:
        settings = testing.settings_for(tmp_path, database_url=url, **FAST_RETRIES)
        async with testing.running(settings) as rt:
            every = await rt.delivery.webhooks.subscribe(WebhookSpec(url=nobody))
            first, *later = await lone_commits_read_nothing(rt, every, 3)

            other = open_store(url)  # another node on the same database
            await other.open()
            try:
                added = await Webhooks(other, settings, lambda _: None).subscribe(WebhookSpec(url=nobody))
            finally:
                await other.close()
            e2 = await issue(rt)
            assert await until_queued(rt, every, e2) == [first, *later, e2]
            assert await seqs_queued(rt, added) == [e2]

            # a filter changed by an operator's own SQL: the subscription now takes Sumy's alerts only
            sumy = json.dumps(SubscriptionFilter(regions=("18",)).to_dict())
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("UPDATE webhook_subscriptions SET filter = %s WHERE id = %s", (sumy, added.id))
            e3, e4 = await issue(rt, "31"), await issue(rt, "18")
            assert await until_queued(rt, every, e4) == [first, *later, e2, e3, e4]
            assert await seqs_queued(rt, added) == [e2, e4]
