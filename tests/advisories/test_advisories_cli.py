"""`sirena end --all-clear-text` writes the all-clear with the end; `sirena tail` shows notices (never the
coordination line)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sirena.cli import main


def ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_end_with_an_all_clear_and_tail(tmp_path: Path) -> None:
    runner, db = CliRunner(), ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    first = ok(runner, "issue", "--region", "14", *db).strip()
    second = ok(runner, "issue", "--region", "31", *db).strip()
    assert ok(runner, "end", first, "--all-clear-text", "uk=Відбій на Київщині", *db).strip() == f"{first} ended"
    assert ok(runner, "end", second, "--no-all-clear", *db).strip() == f"{second} ended"
    third = ok(runner, "issue", "--region", "31", *db).strip()
    assert ok(runner, "end", third, *db).strip() == f"{third} ended"  # the default: an all-clear on every end
    lines = ok(runner, "tail", "--after", "0", "--once", "--lang", "uk", *db).splitlines()
    assert [line.split()[1] for line in lines] == [f"#{n}" for n in range(1, 9)]
    assert "оголошено відбій" in lines[3] and "Відбій: Повітряна тривога" in lines[3] and "Київська" in lines[3]
    assert "оголошено відбій" not in lines[4] and "оголошено відбій" not in lines[5]  # --no-all-clear sent none
    assert "оголошено відбій" in lines[7] and "Відбій: Повітряна тривога · м. Київ" in lines[7]
    english = ok(runner, "tail", "--after", "3", "--once", *db).splitlines()[0]
    assert "all clear" in english and "All clear: Air-raid alert" in english


def test_user_add_notes_a_channel_that_does_not_exist_yet(tmp_path: Path) -> None:
    runner, db = CliRunner(), ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    result = runner.invoke(main, ["user", "add", "embassy-ca", "--role", "operator", "--channel", "embassy-ca", *db])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "user embassy-ca added (operator)"
    assert "no channel embassy-ca yet" in result.stderr
    listed = ok(runner, "user", "list", *db)
    assert "embassy-ca" in listed  # granted all the same
