"""The two-person rule: what waits, who may decide, and that ending and cancelling never wait."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from authworld import World, assert_problem, world_at


async def waiting(world: World, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await world.issue(headers, **body)
    assert response.status_code == 202, response.text
    approval: dict[str, Any] = response.json()["approval"]
    assert approval["state"] == "pending"
    assert response.headers["location"] == f"/api/v1/approvals/{approval['id']}"
    return approval


async def active_ids(world: World) -> set[str]:
    response = await world.client.get("/api/v1/alerts?statuses=all")
    return {a["id"] for a in response.json()["alerts"]}


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        ({"regions": ["14", "31"]}, ["multi_oblast"]),
        ({"regions": ["UA"]}, ["nationwide", "multi_oblast"]),
        ({"regions": ["31"], "kind": "nuclear"}, ["nuclear"]),
        ({"regions": ["31"], "kind": "chemical", "status": "exercise"}, ["chemical"]),
        ({"regions": ["UA"], "status": "test"}, ["nationwide"]),
    ],
)
async def test_the_default_policy_holds_these_back(world: World, body: dict[str, Any], reasons: list[str]) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    approval = await waiting(world, ops, **body)
    assert approval["reasons"] == reasons
    assert approval["requested_by"] == "ops"
    assert approval["action"] == "alert.issue"
    assert approval["request"]["regions"] == body["regions"]
    assert await active_ids(world) == set()  # nothing was issued
    assert await world.runtime.store.last_seq() == 0  # not even an event


@pytest.mark.parametrize(
    "body",
    [
        {"regions": ["31"]},
        {"regions": ["14", "31"], "status": "exercise"},  # more than one oblast, but not actual
        {"regions": [f"{r}" for r in ("14",)], "kind": "artillery_shelling"},
    ],
)
async def test_the_default_policy_lets_these_through(world: World, body: dict[str, Any]) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    assert (await world.issue(ops, **body)).status_code == 201


async def test_another_approver_in_scope_approves_and_the_alert_goes_out(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    boss = await world.user("boss", "approver", scopes=("UA",))
    approval = await waiting(world, ops, regions=["14", "31"], headline={"uk": "Тривога", "en": "Alert"})
    listed = await world.client.get("/api/v1/approvals?state=pending", headers=boss)
    assert [a["id"] for a in listed.json()["approvals"]] == [approval["id"]]
    approved = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
    assert approved.status_code == 200, approved.text
    alert = approved.json()["alert"]
    assert (alert["regions"], alert["issuer"], alert["headline"]["en"]) == (["14", "31"], "ops", "Alert")
    decided = approved.json()["approval"]
    assert (decided["state"], decided["decided_by"], decided["alert_id"]) == ("approved", "boss", alert["id"])
    assert await active_ids(world) == {alert["id"]}
    again = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
    assert assert_problem(again, 409, "approval-closed")["detail"].endswith("can no longer be decided.")
    assert await active_ids(world) == {alert["id"]}  # approved once, issued once


async def test_self_approval_is_refused(world: World) -> None:
    boss = await world.user("boss", "approver", scopes=("UA",))
    approval = await waiting(world, boss, regions=["UA"])
    refused = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
    assert_problem(refused, 403, "self-approval")
    # another token of the same person is still the same person
    from sirena.auth import create_for

    second, _ = await create_for(world.runtime.store, "laptop", user="boss")
    other_token = {"Authorization": f"Bearer {second}"}
    assert_problem(
        await world.client.post(f"/api/v1/approvals/{approval['id']}/reject", headers=other_token), 403, "self-approval"
    )
    assert await active_ids(world) == set()


async def test_an_approver_out_of_scope_is_refused_naming_the_region(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    lviv_boss = await world.user("lviv-boss", "approver", scopes=("27",))
    viewer = await world.user("watcher", "viewer", scopes=("UA",))
    approval = await waiting(world, ops, regions=["27", "14"])
    refused = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=lviv_boss)
    assert assert_problem(refused, 403, "scope-missing")["missing_scope"] == "region:14"
    not_approver = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=viewer)
    assert assert_problem(not_approver, 403, "scope-missing")["missing_scope"] == "role:approver"
    hidden = await world.client.get(f"/api/v1/approvals/{approval['id']}", headers=lviv_boss)
    assert_problem(hidden, 404, "approval-not-found")
    assert await active_ids(world) == set()


async def test_a_rejected_request_writes_nothing_and_stays_closed(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    boss = await world.user("boss", "approver", scopes=("UA",))
    approval = await waiting(world, ops, regions=["31"], kind="nuclear")
    rejected = await world.client.post(
        f"/api/v1/approvals/{approval['id']}/reject", json={"reason": "drill mix-up"}, headers=boss
    )
    assert rejected.status_code == 200
    assert (rejected.json()["approval"]["state"], rejected.json()["approval"]["reason"]) == ("rejected", "drill mix-up")
    assert_problem(await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss), 409)
    assert await active_ids(world) == set()


async def test_pending_requests_expire(tmp_path: Path) -> None:
    async with world_at(tmp_path, approval_ttl_s=0.2) as world:
        ops = await world.user("ops", "operator", scopes=("UA",))
        boss = await world.user("boss", "approver", scopes=("UA",))
        approval = await waiting(world, ops, regions=["UA"])
        await asyncio.sleep(0.3)
        shown = await world.client.get(f"/api/v1/approvals/{approval['id']}", headers=boss)
        assert shown.json()["approval"]["state"] == "expired"
        late = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
        assert assert_problem(late, 409, "approval-closed")["state"] == "expired"
        assert await active_ids(world) == set()


async def test_ending_and_cancelling_never_wait(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    boss = await world.user("boss", "approver", scopes=("UA",))
    ids = []
    for body in ({"regions": ["UA"]}, {"regions": ["14", "31"], "kind": "nuclear"}):
        approval = await waiting(world, ops, **body)
        approved = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
        ids.append(approved.json()["alert"]["id"])
    ended = await world.client.post(f"/api/v1/alerts/{ids[0]}/end", headers=ops)
    cancelled = await world.client.post(f"/api/v1/alerts/{ids[1]}/cancel", headers=ops)
    assert (ended.status_code, ended.json()["state"]) == (200, "ended")
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")


async def test_an_update_that_spreads_an_alert_waits_and_is_applied_on_approval(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    boss = await world.user("boss", "approver", scopes=("UA",))
    alert = (await world.issue(ops, regions=["31"])).json()
    assert (
        await world.client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=ops)
    ).status_code == 200
    spread = await world.client.patch(f"/api/v1/alerts/{alert['id']}", json={"regions": ["31", "14"]}, headers=ops)
    assert spread.status_code == 202
    approval = spread.json()["approval"]
    assert (approval["action"], approval["alert_id"], approval["reasons"]) == (
        "alert.update",
        alert["id"],
        ["multi_oblast"],
    )
    assert (await world.client.get(f"/api/v1/alerts/{alert['id']}")).json()["regions"] == ["31"]
    approved = await world.client.post(f"/api/v1/approvals/{approval['id']}/approve", headers=boss)
    assert approved.json()["alert"]["regions"] == ["31", "14"]
    assert approved.json()["alert"]["version"] == 3
    # once approved for two oblasts, a change within them does not wait again
    calm = await world.client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "red"}, headers=ops)
    assert calm.status_code == 200


async def test_a_retry_with_the_same_idempotency_key_gets_the_same_request(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("UA",))
    headers = {**ops, "Idempotency-Key": "nationwide-1"}
    first = await world.issue(headers, regions=["UA"])
    second = await world.issue(headers, regions=["UA"])
    assert first.status_code == second.status_code == 202
    assert first.json()["approval"]["id"] == second.json()["approval"]["id"]
    listed = await world.client.get("/api/v1/approvals", headers=ops)
    assert len(listed.json()["approvals"]) == 1


async def test_the_built_in_administrator_is_exempt_only_while_the_setting_says_so(tmp_path: Path) -> None:
    async with world_at(tmp_path / "exempt") as world:
        assert (await world.issue(world.admin, regions=["UA"])).status_code == 201
    async with world_at(tmp_path / "strict", approval_builtin_exempt=False) as world:
        assert (await world.issue(world.admin, regions=["UA"])).status_code == 202


async def test_the_policy_comes_from_settings(tmp_path: Path) -> None:
    async with world_at(tmp_path / "all", approval_policy="all_actual") as world:
        ops = await world.user("ops", "operator", scopes=("UA",))
        assert (await world.issue(ops, regions=["31"])).status_code == 202
        assert (await world.issue(ops, regions=["31"], status="exercise")).status_code == 201
    async with world_at(tmp_path / "none", approval_policy="") as world:
        ops = await world.user("ops", "operator", scopes=("UA",))
        assert (await world.issue(ops, regions=["UA"], kind="nuclear")).status_code == 201
    from sirena.errors import ConfigurationError
    from sirena.testing import settings_for
    from sirena.web import create_app

    with pytest.raises(ConfigurationError, match="SIRENA_APPROVAL_POLICY"):
        create_app(settings_for(tmp_path, approval_policy="multi_oblast,everything"))
