"""The authorisation matrix: every role × every write action × in scope / out of scope, and the issuer shapes
the product must support (a regional operator, a city issuer, an embassy issuer)."""

from __future__ import annotations

from typing import Any

import pytest
from authworld import World, assert_problem

ROLES = ("viewer", "operator", "approver", "admin")
ACTIONS = ("issue", "update", "end", "cancel", "approve", "reject")

# What each role may do inside its scope. Outside its scope nobody may do anything.
ALLOWED = {
    "viewer": set(),
    "operator": {"issue", "update", "end", "cancel"},
    "approver": {"issue", "update", "end", "cancel", "approve", "reject"},
    "admin": {"issue", "update", "end", "cancel", "approve", "reject"},
}
REQUIRED_ROLE = {"issue": "operator", "update": "operator", "end": "operator", "cancel": "operator"} | {
    "approve": "approver",
    "reject": "approver",
}
SUCCESS = {"issue": 201, "update": 200, "end": 200, "cancel": 200, "approve": 200, "reject": 200}


async def attempt(world: World, headers: dict[str, str], action: str, region: str, requesters: dict[str, Any]) -> Any:
    """Try ``action`` on something in ``region``; returns the response."""
    client = world.client
    if action == "issue":
        return await world.issue(headers, regions=[region])
    if action in {"update", "end", "cancel"}:
        alert = await world.issued(regions=[region])
        if action == "update":
            return await client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=headers)
        return await client.post(f"/api/v1/alerts/{alert['id']}/{action}", headers=headers)
    waiting = await world.issue(requesters[region], regions=[region], kind="nuclear")
    assert waiting.status_code == 202, waiting.text
    approval = waiting.json()["approval"]["id"]
    return await client.post(f"/api/v1/approvals/{approval}/{action}", headers=headers)


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_every_write_action_in_and_out_of_scope(world: World, role: str) -> None:
    inside, outside = world.raion("14"), world.raion("27")  # a raion of Kyiv oblast, one of Lviv oblast
    who = await world.user(f"{role}-kyiv", role, scopes=("14",))
    requesters = {
        inside: await world.user("asker-kyiv", "operator", scopes=("14",)),
        outside: await world.user("asker-lviv", "operator", scopes=("27",)),
    }
    seen: dict[tuple[str, str], tuple[int, str | None]] = {}
    expected: dict[tuple[str, str], tuple[int, str | None]] = {}
    for action in ACTIONS:
        for where, region in (("in", inside), ("out", outside)):
            response = await attempt(world, who, action, region, requesters)
            missing = response.json().get("missing_scope") if response.status_code == 403 else None
            if response.status_code == 403:
                assert_problem(response, 403, "scope-missing")
            seen[action, where] = (response.status_code, missing)
            if action not in ALLOWED[role]:
                expected[action, where] = (403, f"role:{REQUIRED_ROLE[action]}")
            elif where == "out":
                expected[action, where] = (403, f"region:{outside}")
            else:
                expected[action, where] = (SUCCESS[action], None)
    assert seen == expected


async def test_the_built_in_administrator_may_act_everywhere(world: World) -> None:
    asker = await world.user("asker", "operator", scopes=("UA",))
    for region in (world.raion("14"), world.raion("27"), "31"):
        alert = await world.issued(regions=[region])
        patched = await world.client.patch(
            f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=world.admin
        )
        assert patched.status_code == 200
        assert (await world.client.post(f"/api/v1/alerts/{alert['id']}/cancel", headers=world.admin)).status_code == 200
        waiting = await world.issue(asker, regions=[region], kind="chemical")
        approval = waiting.json()["approval"]["id"]
        approved = await world.client.post(f"/api/v1/approvals/{approval}/approve", headers=world.admin)
        assert approved.status_code == 200, approved.text


async def test_a_regional_operator_acts_on_the_oblast_and_everything_below_it(world: World) -> None:
    ops = await world.user("kyiv-oblast", "operator", scopes=("14",))
    raion = world.raion("14", 1)
    for region in ("14", raion, world.hromada(raion)):
        assert (await world.issue(ops, regions=[region])).status_code == 201
    refused = await world.issue(ops, regions=["31"])  # Kyiv city is its own top-level region, not in the oblast
    assert assert_problem(refused, 403, "scope-missing")["missing_scope"] == "region:31"
    mixed = await world.issue(ops, regions=[raion, "27"])
    assert mixed.json()["missing_scope"] == "region:27"


async def test_a_city_issuer_for_one_hromada(world: World) -> None:
    raion = world.raion("27")
    city, neighbour = world.hromada(raion, 0), world.hromada(raion, 1)
    mayor = await world.user("city-hall", "operator", scopes=(city,))
    assert (await world.issue(mayor, regions=[city])).status_code == 201
    for elsewhere in (neighbour, raion, "27"):
        refused = await world.issue(mayor, regions=[elsewhere])
        assert assert_problem(refused, 403, "scope-missing")["missing_scope"] == f"region:{elsewhere}"
    # a shape is resolved to the regions it touches before the scope check: a circle in Lviv touches the oblast
    wide = await world.issue(mayor, regions=None, circle={"lat": 49.84, "lon": 24.03, "radius_km": 10})
    assert assert_problem(wide, 403, "scope-missing")["missing_scope"] == "region:27"


async def test_an_embassy_issuer_holds_only_its_channel_never_a_public_alert(world: World) -> None:
    embassy = await world.user("embassy-pl", "operator", channels=("embassy-pl",))
    for regions in (["31"], ["UA"], [world.hromada(world.raion("14"))]):
        refused = await world.issue(embassy, regions=regions)
        body = assert_problem(refused, 403, "scope-missing")
        assert body["missing_scope"] == f"region:{regions[0]}"
        assert "outside your scope" in body["detail"]
    from sirena.auth.errors import ScopeMissing
    from sirena.auth.policy import require_channel
    from sirena.auth.principal import Principal, Role

    consul = Principal(1, "embassy-pl", Role.OPERATOR, frozenset(), frozenset({"embassy-pl"}))
    require_channel(consul, "embassy-pl", "advisory.publish")
    with pytest.raises(ScopeMissing) as refused_channel:
        require_channel(consul, "embassy-de", "advisory.publish")
    assert refused_channel.value.data["missing_scope"] == "channel:embassy-de"


async def test_moving_an_alert_out_of_scope_is_refused(world: World) -> None:
    ops = await world.user("ops", "operator", scopes=("14",))
    created = await world.issue(ops, regions=[world.raion("14")])
    moved = await world.client.patch(
        f"/api/v1/alerts/{created.json()['id']}", json={"regions": [world.raion("27")]}, headers=ops
    )
    assert assert_problem(moved, 403, "scope-missing")["missing_scope"] == f"region:{world.raion('27')}"
    unchanged = await world.client.get(f"/api/v1/alerts/{created.json()['id']}")
    assert unchanged.json()["version"] == 1


async def test_unauthenticated_and_disabled_callers_get_401(world: World) -> None:
    from sirena.auth import accounts

    ops = await world.user("leaver", "operator", scopes=("UA",))
    assert (await world.issue(ops)).status_code == 201
    await accounts.disable_user(world.runtime.store, "leaver")
    assert_problem(await world.issue(ops), 401, "unauthorized")
    assert_problem(await world.issue({}), 401, "unauthorized")
    assert_problem(await world.issue({"Authorization": "Bearer sir_nope"}), 401, "unauthorized")
