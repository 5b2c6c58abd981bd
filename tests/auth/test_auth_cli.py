"""`sirena user …`, `sirena token …` and `sirena audit verify` from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from authworld import assert_problem
from click.testing import CliRunner

from sirena import testing
from sirena.cli import main


def cli(db: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--database-url", f"sqlite:///{db}"], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_users_are_added_listed_and_disabled(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    assert cli(db, "user", "add", "kyiv-ops", "--role", "operator", "--scope", "14", "--scope", "31")[0] == 0
    code, out, _ = cli(
        db,
        "user",
        "add",
        "boss",
        "--role",
        "approver",
        "--scope",
        "UA",
        "--password-stdin",
        stdin="long enough password\n",
    )
    assert (code, out.strip()) == (0, "user boss added (approver)")
    assert cli(db, "user", "add", "embassy-pl", "--role", "operator", "--channel", "embassy-pl")[0] == 0
    code, out, _ = cli(db, "user", "list")
    assert out.splitlines() == [
        "admin\tadmin\t*\t-\tbuilt-in",
        "kyiv-ops\toperator\t14,31\t-\tactive",
        "boss\tapprover\tUA\t-\tactive",
        "embassy-pl\toperator\t-\tembassy-pl\tactive",
    ]
    code, _, err = cli(db, "user", "add", "boss", "--role", "viewer")
    assert code == 1 and "already exists" in err
    code, _, err = cli(db, "user", "add", "ghost", "--role", "operator", "--scope", "no-such-region")
    assert code == 1 and "no-such-region" in err
    code, _, err = cli(db, "user", "add", "weak", "--role", "operator", "--password-stdin", stdin="short\n")
    assert code == 1 and "between 12 and 1024" in err
    assert cli(db, "user", "add", "x", "--role", "king")[0] == 2
    assert cli(db, "user", "disable", "kyiv-ops")[0] == 0
    assert "disabled" in cli(db, "user", "list")[1].splitlines()[1]
    assert cli(db, "user", "disable", "kyiv-ops")[0] == 1
    assert cli(db, "user", "disable", "admin")[0] == 1  # the built-in administrator stays


def test_tokens_for_users_print_only_the_token_and_work(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    cli(db, "user", "add", "kyiv-ops", "--role", "operator", "--scope", "14")
    code, out, err = cli(db, "token", "create", "--name", "laptop", "--user", "kyiv-ops", "--expires-in", "30d")
    assert code == 0 and err == ""
    token = out.strip()
    assert out == token + "\n" and token.startswith("sir_")
    code, out, _ = cli(db, "token", "create", "--name", "bootstrap")
    assert code == 0 and out.count("\n") == 1
    listed = cli(db, "token", "list")[1].splitlines()
    assert listed[0].startswith("1\tlaptop\tkyiv-ops\t") and "active until" in listed[0]
    assert listed[1].startswith("2\tbootstrap\tadmin\t") and listed[1].endswith("\tactive")
    assert token not in "\n".join(listed)
    assert cli(db, "token", "create", "--name", "x", "--user", "nobody")[0] == 1
    assert cli(db, "token", "create", "--name", "x", "--expires-in", "soon")[0] == 2

    async def use() -> None:
        async with testing.api(tmp_path, database_url=f"sqlite:///{db}") as api:
            headers = {"Authorization": f"Bearer {token}"}
            ok = await api.client.post("/api/v1/alerts", json={"regions": ["14"]}, headers=headers)
            assert ok.status_code == 201 and ok.json()["issuer"] == "kyiv-ops"
            refused = await api.client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=headers)
            assert assert_problem(refused, 403, "scope-missing")["missing_scope"] == "region:31"

    asyncio.run(use())
    assert cli(db, "user", "disable", "kyiv-ops")[0] == 0
    code, _, err = cli(db, "token", "create", "--name", "y", "--user", "kyiv-ops")
    assert code == 1 and "disabled" in err
    assert cli(db, "token", "revoke", "1")[0] == 0
    code, out, _ = cli(db, "audit", "verify")
    assert code == 0 and out.startswith("audit log intact:")
