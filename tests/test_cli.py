"""The command line: every command, through click's runner and as a real process."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from sirena.cli import main
from sirena.cluster.testing import free_port


@pytest.fixture
def cli(tmp_path: Path) -> tuple[CliRunner, list[str]]:
    return CliRunner(), ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]


def ok(runner: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(main, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_issue_update_list_end_cancel(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    alert_id = ok(
        runner,
        "issue",
        "--region",
        "31",
        "--threat",
        "ballistic_missiles",
        "--threat",
        "drones:yellow",
        "--headline",
        "en=Missiles",
        "--headline",
        "uk=Ракети",
        "--time-to-shelter",
        "90",
        *db,
    ).strip()
    assert len(alert_id) == 26
    listed = ok(runner, "list", *db)
    assert alert_id in listed and "Kyiv" in listed and "ballistic missiles" in listed
    updated = json.loads(ok(runner, "update", alert_id, "--level", "yellow", "--json", *db))
    assert updated["level"] == "yellow"
    assert updated["version"] == 2
    assert ok(runner, "end", alert_id, *db).strip() == f"{alert_id} ended"
    other = ok(runner, "issue", "--circle", "50.45,30.52,5", *db).strip()
    assert ok(runner, "cancel", other, *db).strip() == f"{other} cancelled"
    assert ok(runner, "list", *db).strip() == ""
    rows = [json.loads(line) for line in ok(runner, "list", "--state", "all", "--json", *db).splitlines()]
    assert {r["id"] for r in rows} == {alert_id, other}
    drill = ok(runner, "issue", "--region", "14", "--status", "exercise", *db).strip()
    assert drill not in ok(runner, "list", *db)
    assert drill in ok(runner, "list", "--all-statuses", *db)
    newest = ok(runner, "list", "--state", "all", "--all-statuses", "--limit", "1", "--json", *db).splitlines()
    assert [json.loads(line)["id"] for line in newest] == [drill]
    assert runner.invoke(main, ["list", "--limit", "0", *db]).exit_code == 2


def test_tail_prints_readable_lines(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    alert_id = ok(runner, "issue", "--region", "31", *db).strip()
    ok(runner, "end", alert_id, *db)
    lines = ok(runner, "tail", "--after", "0", "--once", *db).splitlines()
    assert len(lines) == 3
    assert "#1" in lines[0] and "issued" in lines[0] and "Kyiv" in lines[0]
    assert "ended" in lines[1]
    assert "all clear" in lines[2] and "Kyiv" in lines[2]  # every end sends an all-clear
    uk = ok(runner, "tail", "--after", "0", "--once", "--lang", "uk", *db)
    assert "оголошено" in uk and "м. Київ" in uk


def test_errors_are_one_line_and_non_zero(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    for args in (["end", "NOPE"], ["issue", "--region", "99999"], ["regions", "show", "nope"]):
        result = runner.invoke(main, [*args, *db])
        assert result.exit_code == 1
        assert result.output.count("\n") == 1
        assert result.output.startswith("sirena: ")
    alert_id = ok(runner, "issue", "--region", "31", *db).strip()
    ok(runner, "end", alert_id, *db)
    again = runner.invoke(main, ["end", alert_id, *db])
    assert again.exit_code == 1 and "cannot end" in again.output
    usage = runner.invoke(main, ["issue", *db])
    assert usage.exit_code == 2
    bad = runner.invoke(main, ["issue", "--region", "31", "--threat", "ufo", *db])
    assert bad.exit_code == 2


def test_tokens_create_list_revoke(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    token = ok(runner, "token", "create", "--name", "ops", *db)
    assert token.startswith("sir_") and token.count("\n") == 1
    listed = ok(runner, "token", "list", *db)
    assert "ops" in listed and "active" in listed and token.strip() not in listed
    assert ok(runner, "token", "revoke", "1", *db) == "token 1 revoked; it no longer works\n"
    assert "revoked" in ok(runner, "token", "list", *db)
    again = runner.invoke(main, ["token", "revoke", "1", *db])
    assert (again.exit_code, again.output) == (1, "sirena: no active token with id 1\n")


def test_regions_show_and_load(cli: tuple[CliRunner, list[str]], tmp_path: Path) -> None:
    runner, db = cli
    country = ok(runner, "regions", *db)
    assert country.splitlines()[0] == "UA\tcountry\tUkraine"
    assert "31\toblast\tKyiv" in country
    assert "м. Київ" in ok(runner, "regions", "--lang", "uk", *db)
    island = {
        "format": "sirena-regions/1",
        "country": "XI",
        "regions": [
            {"id": "XI", "level": "country", "names": {"en": "Example Isles", "uk": "Приклад"}},
            {"id": "N", "parent": "XI", "level": "province", "names": {"en": "North"}},
            {"id": "S", "parent": "XI", "level": "province", "names": {"en": "South"}},
        ],
    }
    path = tmp_path / "isles.json"
    path.write_text(json.dumps(island))
    loaded = runner.invoke(main, ["regions", "load", str(path), *db])
    if loaded.exit_code != 0:  # the file format's exact keys live in docs/regions.md
        pytest.fail(loaded.output)
    assert "loaded 3 regions of XI" in loaded.output
    assert ok(runner, "regions", *db).splitlines()[0] == "XI\tcountry\tExample Isles"
    alert_id = ok(runner, "issue", "--region", "N", *db).strip()
    assert "North" in ok(runner, "list", *db) and alert_id
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                **island,
                "regions": [
                    *island["regions"],
                    {"id": "Q", "parent": "nowhere", "level": "province", "names": {"en": "Q"}},
                ],
            }
        )
    )
    failed = runner.invoke(main, ["regions", "load", str(broken), *db])
    assert failed.exit_code == 1 and "nowhere" in failed.output


def test_settings_are_listed_with_env_names(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    out = ok(runner, "settings", *db)
    assert "SIRENA_DATABASE_URL=sqlite:///" in out
    assert "SIRENA_BUS_URL=memory://" in out


def test_migrate_and_help_for_every_command(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    assert "up to date" in ok(runner, "migrate", *db)
    for name, command in main.commands.items():
        assert command.help or command.callback.__doc__, name  # type: ignore[union-attr]
        assert runner.invoke(main, [name, "--help"]).exit_code == 0


def test_the_installed_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "sirena", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("serve", "issue", "end", "cancel", "list", "tail", "regions", "token"):
        assert command in done.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_another_program_holds_is_one_line_and_non_zero(
    cli: tuple[CliRunner, list[str]], workers: str
) -> None:
    runner, db = cli
    with socket.socket() as taken:  # as another `sirena serve --workers` holds it: SO_REUSEPORT must not let us in
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = runner.invoke(main, ["serve", "--port", port, "--workers", workers, *db])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"sirena: Cannot listen on 127.0.0.1:{port}: ")


def one_line_error(result: Result, code: int = 1) -> str:
    """The error a command failed with: exactly one line on stderr starting `sirena: `, no traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sirena: "), result.stderr
    return result.stderr


def test_database_url_mistakes_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a database\n")
    (tmp_path / "random.db").write_bytes(bytes(range(256)) * 20)
    runner = CliRunner()
    for url in ("", "sqlite:///", "sqlite:notes.db", "sqlite:/abs.db", "sqlit:///x.db"):
        assert "Unsupported database URL" in one_line_error(runner.invoke(main, ["list", "--database-url", url]))
    assert "IPv6" in one_line_error(runner.invoke(main, ["list", "--database-url", "postgresql://[bad"]))
    for name, reason in (("notes.txt", "not a database"), ("random.db", "not a database"), (".", "unable to open")):
        error = one_line_error(runner.invoke(main, ["list", "--database-url", f"sqlite:///{tmp_path / name}"]))
        assert reason in error
    for file in ("notes.txt", "random.db"):
        assert (tmp_path / file).stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "random.db"]  # no folder named `sqlite:`


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_a_database_it_cannot_open_is_one_line(tmp_path: Path, workers: str) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n")
    url = f"sqlite:///{tmp_path / 'notes.txt'}"
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--workers", workers, "--database-url", url])
    assert "not a database" in one_line_error(result)


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_on_a_port_that_does_not_exist_is_one_line(cli: tuple[CliRunner, list[str]], port: str) -> None:
    runner, db = cli
    assert f"no port {port}" in one_line_error(runner.invoke(main, ["serve", "--port", port, *db]))


def test_usage_errors_are_one_line_too(cli: tuple[CliRunner, list[str]], tmp_path: Path) -> None:
    """Click's usage errors read like every other error: one line naming the help to read, exit status 2 (the
    runner calls the program `main`)."""
    runner, db = cli
    (tmp_path / "bytes.json").write_bytes(b"\xff\xfe\x00{")
    for args, says in (
        (["issue", *db], "give a target: --region, --area or --circle; see `main issue --help`"),
        (["issue", "--area", str(tmp_path / "bytes.json"), *db], "Invalid value for --area"),
        (["issue", "--area", str(tmp_path / "missing.json"), *db], "No such file or directory"),
        (["user", "add", "x", *db], "Choose from: viewer, operator, approver, admin; see `main user add --help`"),
        (["token", "revoke", *db], "Missing argument 'TOKEN_ID'"),
        (["--bogus"], "No such option '--bogus'; see `main --help`"),
        (["nosuch"], "No such command 'nosuch'"),
    ):
        assert says in one_line_error(runner.invoke(main, args), code=2)


def test_text_that_is_not_utf8_is_refused_and_nothing_is_written(cli: tuple[CliRunner, list[str]]) -> None:
    """Bytes that are not UTF-8 in a text argument (they reach Python as lone surrogates) would make every later
    JSON answer carrying the text fail; they are a usage error instead, and the alert list stays readable."""
    runner, db = cli
    alert_id = ok(runner, "issue", "--region", "31", *db).strip()
    for args in (
        ["issue", "--region", "31", "--headline", "en=\udcff\udcfe"],
        ["update", alert_id, "--instruction", "uk=до укриття \udcc0"],
        ["end", alert_id, "--all-clear-text", "en=\udcff"],
        ["token", "create", "--name", "ops\udcff"],
    ):
        assert "is not UTF-8 text" in one_line_error(runner.invoke(main, [*args, *db]), code=2)
    rows = [json.loads(line) for line in ok(runner, "list", "--state", "all", "--json", *db).splitlines()]
    assert [(r["id"], r["version"], r["state"]) for r in rows] == [(alert_id, 1, "active")]
    assert ok(runner, "token", "list", *db) == ""


def test_token_values_out_of_range_are_usage_errors(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    for args, says in (
        (["token", "create", "--name", "ops", "--expires-in", "99999999999999999999d"], "at most 100 years"),
        (["token", "create", "--name", " "], "say what the token is for"),
        (["token", "revoke", "99999999999999999999999"], "is too large"),
    ):
        assert says in one_line_error(runner.invoke(main, [*args, *db]), code=2)
    assert ok(runner, "token", "list", *db) == ""
    token = ok(runner, "token", "create", "--name", "ops", "--expires-in", "36500d", *db)
    assert token.startswith("sir_")
    assert "active until 2" in ok(runner, "token", "list", *db)


def test_numbers_a_database_cannot_hold_or_that_are_not_numbers_are_usage_errors(
    cli: tuple[CliRunner, list[str]],
) -> None:
    runner, db = cli
    huge = "99999999999999999999999"
    for args, says in (
        (["tail", "--once", "--after", huge], "is too large"),
        (["tail", "--once", "--interval", "nan"], "'nan' is not a number"),
        (["tail", "--interval", "0"], "0.01<=x<=3600"),
        (["audit", "list", "--after", huge], "is too large"),
        (["audit", "list", "--limit", "0"], "x>=1"),
        (["shelters", "nearest", "--lat", "nan", "--lon", "30"], "'nan' is not a number"),
    ):
        assert says in one_line_error(runner.invoke(main, [*args, *db]), code=2)
    ok(runner, "issue", "--region", "31", *db)
    assert len(ok(runner, "tail", "--once", "--after", "0", "--interval", "0.01", *db).splitlines()) == 1


def test_a_password_on_stdin_that_is_not_utf8_is_refused(cli: tuple[CliRunner, list[str]]) -> None:
    runner, db = cli
    result = runner.invoke(
        main, ["user", "add", "dan", "--role", "operator", "--password-stdin", *db], input=b"x" * 12 + b"\xff\n"
    )
    assert "the password on stdin is not UTF-8 text" in one_line_error(result, code=2)
    assert "dan" not in ok(runner, "user", "list", *db)
    added = runner.invoke(
        main, ["user", "add", "dan", "--role", "operator", "--password-stdin", *db], input="пароль-довгий-1\n".encode()
    )
    assert added.exit_code == 0, added.output


def test_dates_at_the_ends_of_the_calendar_and_nan_speeds_are_one_line(cli: tuple[CliRunner, list[str]]) -> None:
    """0001-01-01 in Kyiv is before year 1 in UTC: a bad time like any other, not an overflow's traceback."""
    runner, db = cli
    for args in (
        ["stats", "--from", "0001-01-01", "--to", "2024-01-01"],
        ["stats", "--from", "2024-01-01", "--to", "9999-12-31T23:00:00-05:00"],
        ["export", "--from", "0001-01-01"],
        ["replay", "--from", "0001-01-01T00:00:00+05:00", "--to", "2024-01-01"],
    ):
        assert "is neither a date (YYYY-MM-DD) nor an ISO 8601 time" in one_line_error(
            runner.invoke(main, [*args, *db])
        )
    speed = ["replay", "--from", "2024-01-01", "--to", "2024-01-02", "--speed", "nan", *db]
    assert "'nan' is not a number" in one_line_error(runner.invoke(main, speed), code=2)


def test_docs_into_a_folder_that_cannot_be_made_is_one_line() -> None:
    assert "cannot write /proc/sirena-docs" in one_line_error(
        CliRunner().invoke(main, ["docs", "--write", "/proc/sirena-docs"])
    )


def test_ctrl_c_stops_the_server_quietly_with_status_0(tmp_path: Path) -> None:
    """Ctrl-C is how a server in a terminal is stopped: no "Aborted!" and exit status 0 (as with --workers)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sirena",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's foreground process
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, err.decode()
    assert b"Aborted" not in err and b"Traceback" not in err
