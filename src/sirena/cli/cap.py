"""`sirena cap check FILE...`: a verdict on each CAP document, storing nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sirena import messages
from sirena.cap.config import split_list
from sirena.cli.core import main, settings_from
from sirena.errors import SirenaError
from sirena.protocol.cap import ingest

KEYS = ("file", "format", "version", "schema_valid", "errors", "warnings", "repairs", "signature", "alerts")


@main.group()
def cap() -> None:
    """CAP (Common Alerting Protocol) tools."""


def _anchors(paths: Sequence[str]) -> list[bytes]:
    found: list[bytes] = []
    try:
        configured = split_list(settings_from().cap_trust_anchors)
    except SirenaError as exc:
        raise click.UsageError(exc.detail()) from None
    for path in (*configured, *paths):
        try:
            found.append(Path(path).read_bytes())
        except OSError as exc:
            raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--trust-anchor") from None
    return found


def unusable(name: str, code: str, detail: str) -> dict[str, Any]:
    """The line of a file that could not be read as CAP at all."""
    error = {"code": code, "message": detail, "path": None, "line": None}
    return {
        "file": name,
        "format": None,
        "version": None,
        "schema_valid": None,
        "errors": [error],
        "warnings": [],
        "repairs": [],
        "signature": None,
        "alerts": 0,
        "links": [],
        "usable": False,
    }


def verdict(name: str, data: bytes, anchors: Sequence[bytes]) -> dict[str, Any]:
    """One line of ``sirena cap check --json``: the report's keys, plus ``usable``."""
    try:
        report = ingest(data, trust_anchors=anchors)
    except SirenaError as exc:
        return unusable(name, exc.slug, exc.detail())
    return {"file": name, **report.to_json(), "usable": True}


def _issue_line(kind: str, issue: dict[str, Any]) -> str:
    where = " ".join(
        part for part in (issue.get("path") or "", f"line {issue['line']}" if issue.get("line") else "") if part
    )
    return (
        f"  {messages.t('cap.check.' + kind):<8} {issue['code']}"
        + (f" {where}" if where else "")
        + (f": {issue['message']}" if issue.get("message") else "")
    )


def human(line: dict[str, Any]) -> str:
    if not line["usable"]:
        return f"{line['file']}: {messages.t('cap.check.unusable')}: {line['errors'][0]['message']}"
    schema = {True: "cap.check.schema_valid", False: "cap.check.schema_invalid", None: "cap.check.no_schema"}
    head = ", ".join(
        part
        for part in (
            f"{line['format']} {line['version']}" if line["version"] else line["format"],
            messages.t(schema[line["schema_valid"]]),
            messages.t("cap.check.signature", verdict=line["signature"]),
            messages.t("cap.check.alerts", count=line["alerts"]),
        )
        if part
    )
    rows = [f"{line['file']}: {head}"]
    for kind in ("errors", "warnings", "repairs"):
        rows += [_issue_line(kind, issue) for issue in line[kind]]
    rows += [f"  {messages.t('cap.check.link')} {link}" for link in line.get("links", [])]
    return "\n".join(rows)


@cap.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line.")
@click.option(
    "--trust-anchor",
    "trust_anchors",
    multiple=True,
    help="A certificate or public key (PEM/DER) whose signatures count as verified; repeatable. "
    "Added to SIRENA_CAP_TRUST_ANCHORS.",
)
def check(files: tuple[Path, ...], as_json: bool, trust_anchors: tuple[str, ...]) -> None:
    """Check CAP files (CAP 1.0-1.2 XML, CAP-JSON, Atom/RSS) and print one verdict per file, storing nothing.

    Exit status 0 when every file could be read as CAP (even if schema-invalid), 1 when a file is unusable
    (not CAP, unsafe, unreadable), 2 on usage errors. JSON keys: file, format, version, schema_valid, errors,
    warnings, repairs (each a list of {code, message, path, line}), signature, alerts, links, usable."""
    anchors = _anchors(trust_anchors)
    failed = False
    for path in files:
        try:
            line = verdict(str(path), path.read_bytes(), anchors)
        except OSError as exc:
            reason = messages.t("cap.check.unreadable", reason=exc.strerror or type(exc).__name__)
            line = unusable(str(path), "unreadable", reason)
        failed = failed or not line["usable"]
        click.echo(json.dumps(line, ensure_ascii=False) if as_json else human(line))
    sys.exit(1 if failed else 0)
