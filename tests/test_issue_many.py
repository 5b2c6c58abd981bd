"""Bulk issue: many alerts in one transaction, in order, on every channel, with one audit entry; all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sirena import auth, testing
from sirena.domain import AlertDraft, Target
from sirena.domain.model import Circle
from sirena.errors import UnknownRegion


async def test_a_batch_is_committed_in_order_and_streamed(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt, testing.serve(rt) as base:
        await rt.service.issue(AlertDraft(target=Target(regions=("31",))))
        oblasts = [r.id for r in rt.registry.children(rt.registry.root_id)]
        drafts = [AlertDraft(target=Target(regions=(oblast,))) for oblast in oblasts]
        drafts.append(AlertDraft(target=Target(circle=Circle(lat=50.45, lon=30.52, radius_km=30))))
        async with testing.stream(base, "/api/v1/stream?since_seq=1") as reader:
            results = await rt.service.issue_many(drafts, actor="feed")
            assert [r.event.seq for r in results] == list(range(2, len(drafts) + 2))
            streamed = [(await reader.next())["data"] for _ in results]
        assert [s["seq"] for s in streamed] == [r.event.seq for r in results]
        assert [s["alert"]["id"] for s in streamed] == [r.event.alert.id for r in results]
        assert streamed[-1]["alert"]["partial_regions"]  # the circle was resolved like a single issue
        stored = await rt.store.events_after(1)
        assert [(e.seq, e.alert) for e in stored] == [(r.event.seq, r.event.alert) for r in results]
        assert {a.id for a in (await rt.store.snapshot()).alerts} >= {r.event.alert.id for r in results}
        entries = await auth.audit.entries(rt.store, action="alert.issue_many")
        assert len(entries) == 1
        assert entries[0].actor == "feed"
        assert json.loads(entries[0].details)["count"] == len(drafts)
        assert (await auth.audit.verify(rt.store)).ok
        kharkiv = await rt.service.find(region="14")
        assert results[oblasts.index("14")].event.alert.id in {a.id for a in kharkiv}


async def test_a_bad_draft_writes_nothing(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        drafts = [AlertDraft(target=Target(regions=("31",))), AlertDraft(target=Target(regions=("nope",)))]
        with pytest.raises(UnknownRegion):
            await rt.service.issue_many(drafts)
        assert await rt.store.last_seq() == 0
        assert await rt.service.issue_many([]) == []
