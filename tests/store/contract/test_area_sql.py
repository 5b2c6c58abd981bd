"""Every area's SQL on both backends: the same calls on a SQLite and a PostgreSQL store must give the same answers.

Each test runs one scenario per area (accounts and audit, delivery, compatible APIs, CAP, history, targeting,
leases) against both stores and compares everything the functions return, so a difference in ordering, typing
or conflict handling between the dialects shows up as a failing comparison, not in production.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sirena import domain
from sirena.cluster.testing import scratch_database
from sirena.domain import AlertDraft, Status, Target
from sirena.store import Store, open_store
from sirena.store import auth as auth_sql
from sirena.store import cap as cap_sql
from sirena.store import compat as compat_sql
from sirena.store import delivery as delivery_sql
from sirena.store import history as history_sql
from sirena.store import leases as lease_sql
from sirena.store import targeting as targeting_sql
from sirena.store.sql import Connection

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Scenario = Callable[[Any], Awaitable[dict[str, Any]]]


@pytest.fixture
def both_urls(tmp_path: Path, pg_template: str) -> Iterator[tuple[str, str]]:
    with scratch_database(template=pg_template) as url:
        yield f"sqlite:///{tmp_path / 'db.sqlite'}", url


@pytest.fixture
async def both(both_urls: tuple[str, str]) -> AsyncIterator[tuple[Store, Store]]:
    stores = (open_store(both_urls[0]), open_store(both_urls[1]))
    for store in stores:
        await store.open()
    yield stores
    for store in stores:
        await store.close()


async def same_on_both(both: tuple[Store, Store], scenario: Scenario) -> dict[str, Any]:
    on_sqlite = await scenario(both[0])
    on_postgres = await scenario(both[1])
    for key in on_sqlite:
        assert on_postgres[key] == on_sqlite[key], key
    assert on_postgres.keys() == on_sqlite.keys()
    return on_sqlite


def plain(value: Any, drop: frozenset[str] = frozenset({"msg_id"})) -> Any:
    """Dataclasses as dicts, minus fields made at random or at migration time (``drop``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: plain(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list | tuple):
        return [plain(v, drop) for v in value]
    return value


async def issue(store: Any, alert_id: str, regions: tuple[str, ...] = ("31",), **kw: Any) -> None:
    draft = AlertDraft(target=Target(regions=regions), regions=regions, **kw)
    await store.write(alert_id, lambda current: domain.issue(draft, alert_id=alert_id, now=T0))


async def test_accounts_sessions_tokens_audit_and_approvals(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}

        def users(conn: Connection) -> Any:
            ops = auth_sql.insert_user(conn, "ops", "issuer", "pw", ["31", "14", "31"], ["web"], T0)
            return ops, auth_sql.login_failed(conn, ops.id, T0, 2, 10.0, 60.0)

        ops, out["failed"] = await store.transaction(users)
        out["failed2"] = await store.transaction(lambda c: auth_sql.login_failed(c, ops.id, T0, 2, 10.0, 60.0))
        await store.transaction(lambda c: auth_sql.login_succeeded(c, ops.id))
        made_by_migration = frozenset({"created_at"})  # the built-in administrator's, when the schema was made
        out["users"] = plain(await store.read(auth_sql.list_users), made_by_migration)
        out["builtin"] = plain(await store.read(auth_sql.builtin_user), made_by_migration)
        out["by_name"] = plain(await store.read(lambda c: auth_sql.user_by_name(c, "ops")))
        token_id = await store.transaction(
            lambda c: auth_sql.insert_token(c, "t", "hash-1", ops.id, T0 + timedelta(days=1), T0)
        )
        out["owner"] = plain(await store.read(lambda c: auth_sql.token_owner(c, "hash-1")))
        out["tokens"] = await store.read(auth_sql.list_tokens)
        out["revoked"] = await store.transaction(lambda c: auth_sql.revoke_token(c, token_id, T0))
        await store.transaction(lambda c: auth_sql.insert_session(c, "s1", ops.id, T0, T0 + timedelta(hours=1)))
        out["session"] = plain(await store.read(lambda c: auth_sql.session_user(c, "s1", T0)))
        out["ended"] = await store.transaction(lambda c: auth_sql.end_session(c, "s1", T0))
        out["disabled"] = plain(await store.transaction(lambda c: auth_sql.disable_user(c, "ops", T0)))
        for i in range(3):
            await store.transaction(
                lambda c, i=i: auth_sql.append_audit(c, T0, "ops", f"alert.issue.{i}", "A", {"n": i, "ж": "ї"})
            )
        out["audit"] = plain(await store.read(lambda c: auth_sql.audit_entries(c, 0, 10, "alert")))
        out["audit_all"] = plain(await store.read(lambda c: list(auth_sql.iter_audit(c, batch=2))))
        out["audit_head"] = await store.read(auth_sql.audit_head)
        out["last_details"] = await store.read(lambda c: auth_sql.last_audit_details(c, "alert.issue.2"))
        record = auth_sql.ApprovalRecord(
            id="AP1",
            action="issue",
            alert_id=None,
            state="pending",
            requested_by=ops.id,
            requester="ops",
            requested_at=T0,
            expires_at=T0 + timedelta(hours=1),
            regions=("31",),
            reasons=("nationwide",),
            request={"regions": ["31"]},
            idempotency_key="k1",
        )
        await store.transaction(lambda c: auth_sql.insert_approval(c, record))
        out["approval"] = plain(await store.read(lambda c: auth_sql.get_approval(c, "AP1")))
        out["by_key"] = plain(await store.read(lambda c: auth_sql.approval_by_key(c, ops.id, "k1")))
        out["decided"] = await store.transaction(
            lambda c: auth_sql.decide_approval(c, "AP1", "approved", ops.id, "ops", T0, "ok", "A")
        )
        out["again"] = await store.transaction(
            lambda c: auth_sql.decide_approval(c, "AP1", "approved", ops.id, "ops", T0, "ok", "A")
        )
        out["approvals"] = plain(await store.read(auth_sql.list_approvals))
        return out

    out = await same_on_both(both, scenario)
    assert out["failed2"][0] == 2
    assert out["decided"] and not out["again"]
    assert [e["action"] for e in out["audit"]] == ["alert.issue.0", "alert.issue.1", "alert.issue.2"]


async def test_webhooks_outbox_attempts_cursors_and_push(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        await issue(store, "A1")
        sub = delivery_sql.WebhookSubscription(id="S1", url="https://example.org/h", secret="s", filter={"r": ["31"]})
        made = await store.transaction(lambda c: delivery_sql.create_subscription(c, sub))
        out["sub"] = plain(dataclasses.replace(made, created_at=None))
        out["updated"] = plain(
            dataclasses.replace(
                await store.transaction(lambda c: delivery_sql.update_subscription(c, "S1", url="https://x.org")),
                created_at=None,
            )
        )
        out["subs"] = len(await store.read(lambda c: delivery_sql.list_subscriptions(c, "native", None)))
        out["cursor"] = await store.transaction(lambda c: delivery_sql.init_cursor(c, "webhooks"))
        out["cursor_again"] = await store.transaction(lambda c: delivery_sql.init_cursor(c, "webhooks"))
        rows = [
            delivery_sql.NewMessage("S1", '{"n": 1}', 1, key="1:0"),
            delivery_sql.NewMessage("S1", '{"n": 2}', 2, key="2:0"),
            delivery_sql.NewMessage("S1", '{"n": 2}', 2, key="2:0"),
            delivery_sql.NewMessage("S1", "", 3, key="3:error", error="format failed"),
        ]
        out["enqueued"] = len(
            await store.transaction(lambda c: delivery_sql.enqueue_batch(c, "webhooks", 1, 3, rows, 100.0))
        )
        with pytest.raises(delivery_sql.CursorMoved):
            await store.transaction(lambda c: delivery_sql.move_cursor(c, "webhooks", 1, 4))
        head = await store.read(lambda c: delivery_sql.head(c, "S1"))
        out["head"] = plain(head)
        await store.transaction(
            lambda c: delivery_sql.record_attempt(
                c, head, status_code=500, error="HTTP 500", latency_ms=12, at=101.0, state="pending", next_at=110.0
            )
        )
        head2 = await store.read(lambda c: delivery_sql.head(c, "S1"))
        await store.transaction(
            lambda c: delivery_sql.record_attempt(
                c, head2, status_code=200, error=None, latency_ms=5, at=111.0, state="delivered", next_at=111.0
            )
        )
        out["attempts"] = plain(await store.read(lambda c: delivery_sql.attempts(c, "S1")))
        out["pending_subs"] = await store.read(delivery_sql.subscriptions_with_pending)
        out["expired"] = await store.transaction(lambda c: delivery_sql.expire(c, "S1", 1000.0, 200.0, "expired"))
        out["counts"] = await store.read(lambda c: delivery_sql.message_counts(c, "S1"))
        out["redriven"] = await store.transaction(lambda c: delivery_sql.redrive(c, "S1", 300.0))
        out["depths"] = await store.read(delivery_sql.queue_depths)
        out["messages"] = plain(await store.read(lambda c: delivery_sql.messages(c, "S1", None, 10)))
        out["pruned"] = await store.transaction(lambda c: delivery_sql.prune(c, 10_000.0))
        out["deleted"] = await store.transaction(lambda c: delivery_sql.delete_subscription(c, "S1", 400.0))
        push = delivery_sql.PushRecord("P1", "https://push.example/1", "key", "auth", {"regions": ["31"]})
        record, created = await store.transaction(lambda c: delivery_sql.upsert_push(c, push))
        again, created_again = await store.transaction(
            lambda c: delivery_sql.upsert_push(c, dataclasses.replace(push, id="P2", lang="en"))
        )
        out["push"] = (record.id, created, again.id, again.lang, created_again)
        await store.transaction(lambda c: delivery_sql.push_failed(c, "P1"))
        out["push_failures"] = (await store.read(lambda c: delivery_sql.get_push(c, "P1"))).failures
        await store.transaction(lambda c: delivery_sql.push_succeeded(c, "P1"))
        out["push_list"] = [p.failures for p in await store.read(delivery_sql.list_push)]
        out["push_deleted"] = await store.transaction(lambda c: delivery_sql.delete_push(c, "P1"))
        out["meta"] = [
            await store.transaction(lambda c: delivery_sql.ensure_meta(c, "vapid", "first")),
            await store.transaction(lambda c: delivery_sql.ensure_meta(c, "vapid", "second")),
        ]
        return out

    out = await same_on_both(both, scenario)
    assert out["enqueued"] == 3
    assert out["counts"] == {"pending": 0, "delivered": 1, "dead": 2, "cancelled": 0}
    assert out["meta"] == ["first", "first"]


async def test_compatible_api_views_and_webhook_registrations(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        await issue(store, "A1", ("31",))
        await issue(store, "A2", ("14",), status=Status.EXERCISE)
        token = await store.create_token("k", "h")
        view = await store.read(lambda c: compat_sql.load_view(c, 0))
        out["view"] = (view.seq, [a.id for a in view.alerts], view.issued, view.last_change)
        out["bases"] = plain(await store.read(lambda c: compat_sql.record_bases(c, ["A1", "A2", "nope"])))
        out["covering"] = await store.read(lambda c: compat_sql.last_change_covering(c, ["31", "14"]))
        compat = compat_sql.CompatStore(store)
        out["put"] = plain(await compat.put_webhook(token.id, "https://a.example", T0, "S1"))
        out["update"] = plain(await compat.update_webhook(token.id, "https://b.example", T0))
        out["live"] = await compat.token_live(token.id)
        out["list"] = plain(await store.read(compat_sql.list_webhooks))
        out["delete"] = await store.transaction(lambda c: compat_sql.delete_webhook(c, token.id))
        return out

    out = await same_on_both(both, scenario)
    assert out["view"][1] == ["A1"]
    assert out["bases"]["bases"] == {"A1": 1, "A2": 2}


async def test_cap_message_record_and_versions(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        await issue(store, "A1")
        first = cap_sql.StoredMessage(
            "s@x", "id-1", "2026-03-01T12:00:00+00:00", "Alert", "Actual", "A1", "issued", "push", "none", T0
        )
        update = dataclasses.replace(first, identifier="id-2", msg_type="Update", references=(first.key,))
        out["inserted"] = [
            await store.transaction(lambda c: cap_sql.insert_message(c, first, "<alert>1</alert>")),
            await store.transaction(lambda c: cap_sql.insert_message(c, first, "<alert>1</alert>")),
            await store.transaction(lambda c: cap_sql.insert_message(c, update, "<alert>2%</alert>")),
        ]
        out["found"] = plain(await store.read(lambda c: cap_sql.find_message(c, update.key)))
        out["referencing"] = plain(await store.read(lambda c: cap_sql.referencing(c, first.key)))
        out["of_alert"] = [m.identifier for m in await store.read(lambda c: cap_sql.messages_of_alert(c, "A1"))]
        out["body"] = await store.read(lambda c: cap_sql.message_body(c, update.key))
        out["times"] = await store.read(lambda c: cap_sql.version_times(c, "A1"))
        out["version"] = (await store.read(lambda c: cap_sql.version_body(c, "A1", 1)))[:10]
        out["last"] = await store.read(cap_sql.last_change)
        return out

    out = await same_on_both(both, scenario)
    assert out["inserted"] == [True, False, True]
    assert out["of_alert"] == ["id-1", "id-2"]
    assert out["body"] == "<alert>2%</alert>"


async def test_history_import_rollups_statistics_and_export(both: tuple[Store, Store]) -> None:
    from sirena.history.importer import HistoryFile, builtin_files, import_history
    from sirena.history.rollup import Rollup
    from sirena.regions import load_builtin

    registry = load_builtin("ua")
    every_line = gzip.decompress(builtin_files(["official_data_en"])[0].data).decode().splitlines()
    lines = every_line[:1500]
    part = HistoryFile("official_part.csv", ("\n".join(lines) + "\n").encode())
    more = HistoryFile("official_more.csv", ("\n".join([lines[0], *every_line[1500:3000]]) + "\n").encode())

    class Stop(Exception):
        pass

    def stop_after_two_batches(phase: str, done: int, total: int) -> None:
        if phase == "write" and done >= 1000:
            raise Stop

    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        report = await import_history(store, registry, [part])
        again = await import_history(store, registry, [part])
        out["report"] = (report.added, report.updated, again.added, again.unchanged)
        everything = history_sql.HistoryFilter()
        kyiv = history_sql.HistoryFilter(regions=frozenset({"31", "14"}), start="2022-03-20T00:00:00.000Z")
        out["buckets"] = await store.read(
            lambda c: history_sql.rollup_buckets(c, "day", [(0, 2_000_000_000)], None, ["official"], ["air_raid"])
        )
        out["buckets_kyiv"] = await store.read(
            lambda c: history_sql.rollup_buckets(c, "hour", [(0, 1_650_000_000)], ["31", "14"], None, None)
        )
        out["bodies"] = await store.read(lambda c: history_sql.find_alert_bodies(c, kyiv, 7))
        last = out["bodies"][-1]
        out["next"] = await store.read(lambda c: history_sql.find_alert_bodies(c, kyiv, 3, (last[0], last[1])))
        page = await store.read(lambda c: history_sql.export_page(c, everything, None, 50))
        out["export"] = page
        out["export_next"] = await store.read(
            lambda c: history_sql.export_page(
                c, everything, page[-1][6:7] and (page[-1][6], page[-1][0], page[-1][1]), 50
            )
        )
        out["overlapping"] = await store.read(
            lambda c: history_sql.overlapping(
                c, "2022-03-16T00:00:00.000Z", "2022-03-16T06:00:00.000Z", ["official"], None
            )
        )
        out["coverage"] = await store.read(history_sql.coverage)
        ids = [row[0] for row in page[:5]]
        out["lookup"] = sorted(
            (k, plain(v)) for k, v in (await store.read(lambda c: history_sql.lookup(c, ids))).items()
        )

        def every_bucket(c: Connection) -> Any:
            return history_sql.rollup_buckets(c, "hour", [(0, 2_000_000_000)], None, None, None)

        before = (await store.read(every_bucket), await store.read(history_sql.coverage))
        with pytest.raises(Stop):  # an import stopped after two batches takes them back
            await import_history(store, registry, [more], batch_size=500, progress=stop_after_two_batches)
        out["stopped"] = (await store.read(every_bucket), await store.read(history_sql.coverage))
        assert out["stopped"] == before
        rollup = Rollup()
        rollup.add(("31",), "sirena", "air_raid", 1_700_000_000_000, 1_700_000_900_000)
        out["live"] = [
            await store.transaction(lambda c: history_sql.apply_live_rollups(c, 0, 5, rollup)),
            await store.transaction(lambda c: history_sql.apply_live_rollups(c, 0, 6, rollup)),
            await store.read(history_sql.rollup_cursor),
        ]
        return out

    out = await same_on_both(both, scenario)
    assert out["report"][0] > 1000
    assert out["report"][2] == 0
    assert out["live"] == [True, False, 5]
    assert len(out["export"]) == 50


async def test_places_log_and_shelters(both: tuple[Store, Store]) -> None:
    from sirena.shelters.model import Accessibility, Shelter
    from sirena.targeting.place import Place, PlaceKind

    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        places = [
            Place(
                id=f"P{i}",
                subscriber=f"sub{i % 2}",
                kind=PlaceKind.POINT,
                regions=("31",),
                created_at=T0,
                lat=50.45 + i / 100,
                lon=30.52,
                label="дім",
            )
            for i in range(4)
        ]
        for place in places:
            await store.transaction(lambda c, p=place: targeting_sql.insert_place(c, p, 3))
        with pytest.raises(targeting_sql.TooManyPlaces):
            await store.transaction(lambda c: targeting_sql.insert_place(c, dataclasses.replace(places[0], id="P9"), 2))
        seq, rows = await store.read(targeting_sql.load_places)
        out["loaded"] = (seq, plain(rows))
        out["deleted"] = plain(await store.transaction(lambda c: targeting_sql.delete_place(c, "P1")))
        out["deleted_sub"] = await store.transaction(lambda c: targeting_sql.delete_subscriber(c, "sub0"))
        out["changes"] = plain(await store.read(lambda c: targeting_sql.place_changes(c, seq)))
        out["list"] = plain(await store.read(lambda c: targeting_sql.list_places(c, "sub1")))
        out["by_key"] = plain(await store.read(lambda c: targeting_sql.places_by_key(c, [4, 2, 99])))
        out["counts"] = await store.read(targeting_sql.count_places)
        shelters = [
            Shelter(
                id=f"osm:node/{i}",
                source="osm",
                ref=f"node/{i}",
                lat=50.4,
                lon=30.5 + i,
                capacity=i * 10,
                accessibility=Accessibility.YES if i else None,
                line=i + 2,
            )
            for i in range(3)
        ]
        for _ in range(2):
            done = await store.transaction(
                lambda c: targeting_sql.replace_shelters(
                    c, "osm", shelters, file="s.csv", fmt="csv", rejected=1, at=T0, actor="ops"
                )
            )
        out["import"] = plain(done)
        out["revision"] = await store.read(targeting_sql.shelter_revision)
        revision, loaded = await store.read(targeting_sql.load_shelters)
        out["shelters"] = (revision, plain(loaded))
        out["imports"] = plain(await store.read(targeting_sql.list_imports))
        return out

    out = await same_on_both(both, scenario)
    assert out["counts"] == (1, 1)
    assert out["revision"] == 2


async def test_leases_are_held_by_one_owner_until_they_expire(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        take = lease_sql.acquire
        out["take"] = [
            await store.transaction(lambda c: take(c, "push", "a", 100.0, 10.0)),
            await store.transaction(lambda c: take(c, "push", "b", 105.0, 10.0)),
            await store.transaction(lambda c: take(c, "push", "a", 108.0, 10.0)),
            await store.transaction(lambda c: take(c, "push", "b", 117.0, 10.0)),
            await store.transaction(lambda c: take(c, "push", "b", 119.0, 10.0)),
        ]
        out["holders"] = await store.read(lambda c: lease_sql.holders(c, "push"))
        out["release"] = [
            await store.transaction(lambda c: lease_sql.release(c, "push", "a")),
            await store.transaction(lambda c: lease_sql.release(c, "push", "b")),
        ]
        out["after"] = await store.read(lambda c: lease_sql.holders(c, ""))
        return out

    out = await same_on_both(both, scenario)
    assert out["take"] == [True, False, True, False, True]
    assert out["release"] == [False, True]


async def test_the_subscriptions_revision_moves_with_every_change(both: tuple[Store, Store]) -> None:
    async def scenario(store: Any) -> dict[str, Any]:
        async def live() -> tuple[int, list[str]]:
            rev, subs = await store.read(lambda c: delivery_sql.live_subscriptions(c))
            return rev, [s.id for s in subs]

        out: dict[str, Any] = {"start": await live()}
        sub = delivery_sql.WebhookSubscription(id="S1", url="https://example.org/h", secret="s", filter={})
        await store.transaction(lambda c: delivery_sql.create_subscription(c, sub))
        out["created"] = await live()
        await store.transaction(lambda c: delivery_sql.update_subscription(c, "S1", filter={"regions": ["31"]}))
        out["updated"] = await live()
        await store.transaction(lambda c: delivery_sql.delete_subscription(c, "S1", 1.0))
        out["deleted"] = await live()
        await store.transaction(lambda c: c.execute("DELETE FROM webhook_subscriptions WHERE id = ?", ("S1",)))
        out["removed"] = await live()
        return out

    out = await same_on_both(both, scenario)
    assert out == {
        "start": (0, []),
        "created": (1, ["S1"]),
        "updated": (2, ["S1"]),
        "deleted": (3, []),
        "removed": (4, []),
    }
