"""The audit log: every action appends a chained entry in the same transaction as the change, and editing,
deleting or reordering entries directly in the database is caught by `sirena audit verify`."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from authworld import World, assert_problem, world_at
from click.testing import CliRunner

from sirena.cli import main
from sirena.store.auth import entry_hash


async def actions(world: World) -> list[tuple[str, str, str | None]]:
    response = await world.client.get("/api/v1/audit?limit=1000", headers=world.admin)
    assert response.status_code == 200, response.text
    return [(e["actor"], e["action"], e["target"]) for e in response.json()["entries"]]


async def make_history(world: World) -> None:
    """Log in, use tokens for writes, issue, update, end, cancel, approve, reject, and be refused once."""
    ops = await world.user("ops", "operator", scopes=("UA",), password="correct horse battery")
    boss = await world.user("boss", "approver", scopes=("UA",))
    login = await world.client.post("/api/v1/session", json={"name": "ops", "password": "correct horse battery"})
    assert login.status_code == 200
    world.client.cookies.clear()
    alert = (await world.issue(ops, regions=["31"])).json()
    await world.client.patch(f"/api/v1/alerts/{alert['id']}", json={"level": "yellow"}, headers=ops)
    await world.client.post(f"/api/v1/alerts/{alert['id']}/end", headers=ops)
    other = (await world.issue(ops, regions=["14"])).json()
    await world.client.post(f"/api/v1/alerts/{other['id']}/cancel", json={"reason": "wrong oblast"}, headers=ops)
    first = (await world.issue(ops, regions=["UA"])).json()["approval"]
    await world.client.post(f"/api/v1/approvals/{first['id']}/approve", headers=boss)
    second = (await world.issue(ops, regions=["31"], kind="nuclear")).json()["approval"]
    await world.client.post(f"/api/v1/approvals/{second['id']}/reject", headers=boss)
    await world.client.post(f"/api/v1/approvals/{second['id']}/approve", headers=ops)  # refused: self, and role


async def test_every_action_is_recorded_with_actor_and_target(world: World) -> None:
    await make_history(world)
    log = await actions(world)
    names = [action for _, action, _ in log]
    assert names == [
        "settings.change",
        "user.add",
        "token.create",
        "user.add",
        "token.create",
        "login",
        "alert.issue",
        "alert.update",
        "alert.end",
        "alert.issue",
        "alert.cancel",
        "approval.request",
        "approval.approve",
        "alert.issue",
        "approval.request",
        "approval.reject",
        "refused",
    ]
    assert log[6][0] == "user:ops"
    assert log[13][0] == "user:boss"  # the approved alert is issued by the approver's decision
    entries = (await world.client.get("/api/v1/audit?action=alert", headers=world.admin)).json()["entries"]
    assert [e["action"] for e in entries] == [
        "alert.issue",
        "alert.update",
        "alert.end",
        "alert.issue",
        "alert.cancel",
        "alert.issue",
    ]
    cancel = entries[4]
    assert cancel["details"]["reason"] == "wrong oblast"
    assert cancel["details"]["via"].startswith("token:")
    approved = entries[5]
    assert approved["details"]["approval"] and approved["details"]["requested_by"] == "ops"
    # hashes chain: each entry's prev_hash is the hash of the one before
    full = (await world.client.get("/api/v1/audit?limit=1000", headers=world.admin)).json()["entries"]
    for before, after in itertools.pairwise(full):
        assert after["prev_hash"] == before["hash"]
    verdict = (await world.client.get("/api/v1/audit/verify", headers=world.admin)).json()
    assert verdict["ok"] is True and verdict["entries"] == len(full)


async def test_the_audit_log_is_for_administrators_only(world: World) -> None:
    boss = await world.user("boss", "approver", scopes=("UA",))
    refused = await world.client.get("/api/v1/audit", headers=boss)
    assert assert_problem(refused, 403, "scope-missing")["missing_scope"] == "role:admin"
    assert_problem(await world.client.get("/api/v1/audit"), 401)
    admin = await world.user("auditor", "admin")
    assert (await world.client.get("/api/v1/audit", headers=admin)).status_code == 200


async def test_the_entry_is_written_with_the_change_or_not_at_all(world: World) -> None:
    """A refused write leaves no alert entry, only the refusal; a failed write (unknown alert) leaves none."""
    ops = await world.user("kyiv", "operator", scopes=("14",))
    before = len(await actions(world))
    assert (await world.issue(ops, regions=["27"])).status_code == 403
    assert (await world.client.post("/api/v1/alerts/nope/end", headers=ops)).status_code == 404
    after = await actions(world)
    assert [a for _, a, _ in after[before:]] == ["refused"]
    assert await world.runtime.store.last_seq() == 0


# -- tampering, caught by `sirena audit verify` -------------------------------------------------------------------


def swap(db: sqlite3.Connection, a: int, b: int) -> None:
    db.execute("UPDATE audit SET seq = -1 WHERE seq = ?", (a,))
    db.execute("UPDATE audit SET seq = ? WHERE seq = ?", (a, b))
    db.execute("UPDATE audit SET seq = ? WHERE seq = -1", (b,))


def rewrite_from(db: sqlite3.Connection, start: int) -> None:
    """An attacker who edits entry ``start`` and recomputes every hash after it, head included."""
    db.execute("UPDATE audit SET actor = 'user:nobody' WHERE seq = ?", (start,))
    prev = db.execute("SELECT hash FROM audit WHERE seq = ?", (start - 1,)).fetchone()[0]
    rows = db.execute(
        "SELECT seq, at, actor, action, target, details FROM audit WHERE seq >= ? ORDER BY seq", (start,)
    ).fetchall()
    for seq, at, actor, action, target, details in rows:
        digest = entry_hash(seq, at, actor, action, target, details, prev)
        db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest
    db.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))


TAMPERING: dict[str, tuple[Callable[[sqlite3.Connection], None], int, str]] = {
    "edit details": (lambda db: db.execute("UPDATE audit SET details = '{}' WHERE seq = 6"), 6, "edited or moved"),
    "edit actor": (lambda db: db.execute("UPDATE audit SET actor = 'user:boss' WHERE seq = 9"), 9, "edited or moved"),
    "delete": (lambda db: db.execute("DELETE FROM audit WHERE seq = 7"), 7, "deleted"),
    "reorder": (lambda db: swap(db, 8, 9), 8, "edited or moved"),
    "delete the newest": (
        lambda db: db.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)"),
        17,
        "newest entries were deleted",
    ),
    "renumber after a delete": (
        lambda db: (
            db.execute("DELETE FROM audit WHERE seq = 5"),
            db.execute("UPDATE audit SET seq = seq - 1 WHERE seq > 5"),
        ),
        5,
        "edited or moved",
    ),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the history above, made once for the tampering tests (each tampers with a copy)."""
    folder = tmp_path_factory.mktemp("audit")

    async def record() -> None:
        async with world_at(folder) as world:
            await make_history(world)
            assert len(await actions(world)) == 17

    asyncio.run(record())
    return folder / "sirena.db"


def verify(db: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", "--database-url", f"sqlite:///{db}", *extra])
    return result.exit_code, result.output


def test_an_intact_log_verifies(recorded: Path) -> None:
    code, output = verify(recorded)
    assert code == 0, output
    assert output.startswith("audit log intact: 17 entries, head 17:")


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_directly_in_the_database_is_caught(recorded: Path, tmp_path: Path, kind: str) -> None:
    tamper, bad_entry, says = TAMPERING[kind]
    copy = tmp_path / f"{kind.replace(' ', '-')}.db"
    shutil.copy(recorded, copy)
    with sqlite3.connect(copy) as db:
        tamper(db)
    code, output = verify(copy)
    assert code == 1, output
    assert f"audit log broken at entry {bad_entry}:" in output
    assert says in output


def test_a_saved_head_catches_a_rewritten_chain(recorded: Path, tmp_path: Path) -> None:
    code, output = verify(recorded)
    head = output.strip().rsplit(" ", 1)[-1]
    copy = tmp_path / "rewritten.db"
    shutil.copy(recorded, copy)
    with sqlite3.connect(copy) as db:
        rewrite_from(db, 10)
    code, output = verify(copy)
    assert code == 0, "a consistent rewrite of the chain cannot be caught without an outside anchor"
    code, output = verify(copy, "--anchor", head)
    assert code == 1
    assert "audit log broken at entry 17:" in output and "rewritten" in output
    assert verify(recorded, "--anchor", head)[0] == 0


def test_the_cli_lists_entries(recorded: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "list", "--json", "--database-url", f"sqlite:///{recorded}"])
    assert result.exit_code == 0
    entries = [json.loads(line) for line in result.output.splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, 18))


async def test_a_change_of_settings_is_recorded_once(tmp_path: Path) -> None:
    for ttl in (60, 60, 120):  # the second start has the same settings: nothing new
        async with world_at(tmp_path, approval_ttl_s=ttl) as world:
            entries = (await world.client.get("/api/v1/audit?action=settings", headers=world.admin)).json()
    assert [e["details"]["approval_ttl_s"] for e in entries["entries"]] == [60, 120]
    assert entries["entries"][1]["actor"] == "local"


async def test_a_group_commit_chains_its_entries_and_drops_those_of_failed_jobs(tmp_path: Path) -> None:
    from sirena.auth import audit
    from sirena.auth.principal import now
    from sirena.store import auth as audit_sql
    from sirena.store.sqlite import SQLiteStore

    store = SQLiteStore(f"sqlite:///{tmp_path / 'audit.db'}")
    await store.open()
    try:

        async def job(i: int) -> str:
            def run(conn: sqlite3.Connection) -> None:
                audit_sql.append_audit(conn, now(), "local", "test.entry", str(i), {"i": i})
                if i % 3 == 0:
                    raise RuntimeError("refused after its entry")

            try:
                await store.transaction(run)
            except RuntimeError:
                return "failed"
            return "kept"

        for _ in range(3):  # jobs queued together commit as one group, each in its own savepoint
            outcomes = await asyncio.gather(*(job(i) for i in range(60)))
            assert outcomes.count("kept") == 40
        verdict = await audit.verify(store)
        assert verdict.ok, verdict.explain()
        assert verdict.entries == 120
        kept = [e.target for e in await audit.entries(store, limit=1000) if e.action == "test.entry"]
        assert sorted(kept, key=int) == sorted([str(i) for i in range(60) if i % 3] * 3, key=int)
    finally:
        await store.close()
