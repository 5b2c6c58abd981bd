"""The webhook dispatcher's batched SQL on both backends: attempts of several subscriptions recorded at once give
the same log and states on SQLite and PostgreSQL as one by one."""

from __future__ import annotations

from typing import Any

from test_area_sql import both, both_urls, issue, plain, same_on_both  # noqa: F401 - fixtures

from sirena.store import Store
from sirena.store import delivery as delivery_sql


async def test_attempts_of_several_subscriptions_recorded_at_once(both: tuple[Store, Store]) -> None:  # noqa: F811
    async def scenario(store: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        await issue(store, "A1")
        for sub_id in ("S1", "S2"):
            sub = delivery_sql.WebhookSubscription(id=sub_id, url="https://example.org/h", secret="s", filter={})
            await store.transaction(lambda c, sub=sub: delivery_sql.create_subscription(c, sub))
        rows = [delivery_sql.NewMessage(s, f'{{"n": {n}}}', n, key=f"{n}:0") for s in ("S1", "S2") for n in (1, 2)]
        await store.transaction(lambda c: delivery_sql.insert_messages(c, rows, 100.0))
        heads = [await store.read(lambda c, s=s: delivery_sql.heads(c, s, 16)) for s in ("S1", "S2")]
        settled = [
            delivery_sql.Settled(heads[0][0], 200, None, 5, 101.0, delivery_sql.DELIVERED, 101.0),
            delivery_sql.Settled(heads[0][1], 200, None, 6, 101.0, delivery_sql.DELIVERED, 101.0),
            delivery_sql.Settled(heads[1][0], 503, "HTTP 503", 7, 101.0, delivery_sql.PENDING, 130.0),
        ]
        await store.transaction(lambda c: delivery_sql.record_attempts(c, settled))
        await store.transaction(lambda c: delivery_sql.record_attempts(c, settled[:1]))  # again: no longer pending
        await store.transaction(lambda c: delivery_sql.record_attempts(c, []))
        for sub_id in ("S1", "S2"):
            out[f"log {sub_id}"] = plain(await store.read(lambda c, s=sub_id: delivery_sql.attempts(c, s)), DROP)
            out[f"messages {sub_id}"] = plain(await store.read(lambda c, s=sub_id: delivery_sql.messages(c, s)), DROP)
            out[f"counts {sub_id}"] = await store.read(lambda c, s=sub_id: delivery_sql.message_counts(c, s))
        return out

    out = await same_on_both(both, scenario)
    assert out["counts S1"]["delivered"] == 2
    assert out["counts S2"] == {"pending": 2, "delivered": 0, "dead": 0, "cancelled": 0}
    assert [(r["attempt"], r["status_code"], r["state"]) for r in out["log S2"]] == [(1, 503, "pending")]
    assert [m["attempts"] for m in out["messages S2"]] == [0, 1]
    assert len(out["log S1"]) == 3  # the attempt recorded again is logged, the message stays delivered


DROP = frozenset({"msg_id", "id", "message_id"})
