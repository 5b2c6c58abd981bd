"""Accounts and credentials: Argon2id passwords, login with lockout and backoff, browser sessions with CSRF,
token expiry and revocation, and secrets that never reach the logs or the database in clear."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from authworld import World, assert_problem, world_at

from sirena.auth import accounts, create_for
from sirena.auth.principal import now
from sirena.auth.tokens import revoke

PASSWORD = "correct horse battery staple"


def database(world: World) -> Path:
    return Path(world.runtime.settings.database_url.removeprefix("sqlite:///"))


async def test_passwords_are_stored_as_argon2id_hashes(world: World) -> None:
    await world.user("ops", "operator", scopes=("31",), password=PASSWORD)
    with sqlite3.connect(database(world)) as db:
        stored = db.execute("SELECT password_hash FROM users WHERE name = 'ops'").fetchone()[0]
        dump = "\n".join(db.iterdump())
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in dump
    short = world.user("tiny", "operator", password="short")
    from sirena.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        await short


async def test_tokens_are_shown_once_and_stored_hashed(world: World) -> None:
    await world.user("ops", "operator", scopes=("31",))
    token, token_id = await create_for(world.runtime.store, "laptop", user="ops")
    with sqlite3.connect(database(world)) as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump and token.startswith("sir_")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await world.issue(headers)).status_code == 201
    assert await revoke(world.runtime.store, token_id)
    assert_problem(await world.issue(headers), 401, "unauthorized")


async def test_expired_tokens_stop_working(world: World) -> None:
    await world.user("ops", "operator", scopes=("31",))
    fresh, _ = await create_for(world.runtime.store, "day", user="ops", expires_at=now() + timedelta(hours=1))
    stale, _ = await create_for(world.runtime.store, "old", user="ops", expires_at=now() - timedelta(seconds=1))
    assert (await world.issue({"Authorization": f"Bearer {fresh}"})).status_code == 201
    body = assert_problem(await world.issue({"Authorization": f"Bearer {stale}"}), 401, "unauthorized")
    assert body["detail"] == "The token has expired."


async def test_login_sets_a_strict_http_only_cookie_and_writes_need_the_csrf_token(world: World) -> None:
    await world.user("ops", "operator", scopes=("31",), password=PASSWORD)
    login = await world.client.post("/api/v1/session", json={"name": "ops", "password": PASSWORD})
    assert login.status_code == 200, login.text
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    csrf = login.json()["csrf_token"]
    assert login.json()["user"] == {
        "name": "ops",
        "role": "operator",
        "scopes": ["31"],
        "channels": [],
        "builtin": False,
    }
    assert (await world.client.get("/api/v1/session")).json()["csrf_token"] == csrf
    # the cookie alone does not authorise a write: a cross-site form could send it
    assert_problem(await world.issue({}), 403, "csrf-failed")
    assert_problem(await world.issue({"X-CSRF-Token": "0" * 64}), 403, "csrf-failed")
    assert (await world.issue({"X-CSRF-Token": csrf})).status_code == 201
    # reads with the cookie need no CSRF token
    assert (await world.client.get("/api/v1/approvals")).status_code == 200
    assert_problem(await world.client.delete("/api/v1/session"), 403, "csrf-failed")
    assert (await world.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status_code == 204
    world.client.cookies.clear()
    world.client.cookies.set("sirena_session", login.cookies["sirena_session"])
    assert_problem(await world.issue({"X-CSRF-Token": csrf}), 401)  # the session ended on the server too


async def test_wrong_passwords_lock_the_account_with_growing_backoff(tmp_path: Path) -> None:
    async with world_at(tmp_path, login_lockout_after=3, login_lockout_s=30, rate_limit_logins=0) as world:
        await world.user("ops", "operator", scopes=("31",), password=PASSWORD)

        async def attempt(password: str) -> tuple[int, int | None]:
            response = await world.client.post("/api/v1/session", json={"name": "ops", "password": password})
            world.client.cookies.clear()
            if response.status_code == 200:
                return 200, None
            body = assert_problem(response, response.status_code)
            if response.status_code == 429:
                assert response.headers["retry-after"] == str(body["retry_after"])
            return response.status_code, body.get("retry_after")

        def time_passes() -> None:
            """The lock runs out (as if its time had passed)."""
            with sqlite3.connect(database(world)) as db:
                db.execute("UPDATE users SET locked_until = '2000-01-01T00:00:00.000Z' WHERE name = 'ops'")

        assert [await attempt("wrong password!") for _ in range(3)] == [(401, None)] * 3
        status, retry = await attempt(PASSWORD)  # locked: even the right password is refused
        assert status == 429 and retry is not None and 25 <= retry <= 30
        time_passes()
        assert await attempt("still wrong!!") == (401, None)  # fourth failure in a row: the lock doubles
        status, retry = await attempt(PASSWORD)
        assert status == 429 and retry is not None and 55 <= retry <= 60
        time_passes()
        assert await attempt(PASSWORD) == (200, None)
        assert await attempt("wrong password!") == (401, None)  # the success reset the count
        assert await attempt(PASSWORD) == (200, None)
        entries = (await world.client.get("/api/v1/audit?action=login.failed", headers=world.admin)).json()
        assert [e["details"]["failures"] for e in entries["entries"]] == [1, 2, 3, 4, 1]


async def test_unknown_names_disabled_users_and_the_builtin_administrator_cannot_log_in(world: World) -> None:
    await world.user("gone", "operator", scopes=("31",), password=PASSWORD)
    await accounts.disable_user(world.runtime.store, "gone")
    for name in ("nobody", "gone", "admin"):
        response = await world.client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
        body = assert_problem(response, 401, "login-failed")
        assert body["detail"] == "The name or the password is wrong."


async def test_disabling_a_user_ends_their_sessions_and_tokens(world: World) -> None:
    token_headers = await world.user("ops", "operator", scopes=("31",), password=PASSWORD)
    login = await world.client.post("/api/v1/session", json={"name": "ops", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    assert (await world.issue({"X-CSRF-Token": csrf})).status_code == 201
    await accounts.disable_user(world.runtime.store, "ops")
    assert_problem(await world.issue({"X-CSRF-Token": csrf}), 401)
    world.client.cookies.clear()
    assert_problem(await world.issue(token_headers), 401)


async def test_secrets_never_reach_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    headers = await world.user("ops", "operator", scopes=("31",), password=PASSWORD)
    token = headers["Authorization"].removeprefix("Bearer ")
    await world.client.post("/api/v1/session", json={"name": "ops", "password": PASSWORD})
    await world.client.post("/api/v1/session", json={"name": "ops", "password": "a wrong one, logged?"})
    world.client.cookies.clear()
    await world.issue(headers)
    await world.issue(headers, regions=["nowhere"])
    await world.client.get("/api/v1/audit?limit=1000", headers=world.admin)
    text = caplog.text
    for secret in (PASSWORD, "a wrong one, logged?", token):
        assert secret not in text
    audit = (await world.client.get("/api/v1/audit?limit=1000", headers=world.admin)).text
    for secret in (PASSWORD, "a wrong one, logged?", token):
        assert secret not in audit
