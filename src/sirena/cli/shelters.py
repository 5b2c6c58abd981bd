"""`sirena shelters import FILE` and `sirena shelters nearest --lat --lon`: shelters from the terminal.

An import replaces the shelters of its source at once. A bad row refuses the whole file (exit 1, each bad row
listed with its line on stderr) unless ``--partial`` imports the valid rows and lists the others.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click

from sirena import messages
from sirena.cli.core import Finite, database_option, file_label, main, run, settings_from
from sirena.shelters import FORMATS, ImportReport, RowProblem, ShelterDirectory, ShelterImportRefused, default_source
from sirena.store import open_store

lang_option = click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)


@main.group()
def shelters() -> None:
    """Shelters: import them from GeoJSON or CSV, find the nearest."""


@asynccontextmanager
async def _directory(database_url: str | None) -> AsyncIterator[ShelterDirectory]:
    settings = settings_from(database_url=database_url)
    store = open_store(settings.database_url, postgis=settings.postgis)
    await store.open()
    try:
        yield ShelterDirectory(store)
    finally:
        await store.close()


def _problem_line(problem: RowProblem | dict[str, Any], lang: str) -> str:
    item = problem.to_json(lang) if isinstance(problem, RowProblem) else problem
    where = messages.t("shelters.cli.line", lang, line=item["line"])
    return f"  {where}: {messages.t('shelters.cli.severity.' + item['severity'], lang)}: {item['message']}"


def _print_report(report: ImportReport, lang: str) -> None:
    click.echo(
        messages.t(
            "shelters.cli.imported",
            lang,
            source=report.source,
            count=len(report.shelters),
            file=report.file,
            replaced=report.replaced,
        )
    )
    body = report.to_json(lang)
    if body["errors_total"] or body["skipped_total"] or body["warnings_total"]:
        click.echo(
            messages.t(
                "shelters.cli.problems",
                lang,
                errors=body["errors_total"],
                skipped=body["skipped_total"],
                warnings=body["warnings_total"],
            ),
            err=True,
        )
        for problem in report.problems:
            click.echo(_problem_line(problem, lang), err=True)


@shelters.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Name of the set these shelters belong to (default: the file name).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from the file.")
@click.option("--partial", is_flag=True, help="Import the valid rows even when others are bad (and list those).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@lang_option
@database_option
def import_(
    file: Path, source: str | None, fmt: str | None, partial: bool, as_json: bool, lang: str, database_url: str | None
) -> None:
    """Import shelters from FILE (GeoJSON or CSV), replacing the earlier shelters of the same source."""
    name = source or default_source(file.name)

    data = file.read_bytes()

    async def go() -> ImportReport:
        async with _directory(database_url) as directory:
            try:
                return await directory.import_file(
                    data, source=name, name=file_label(file), fmt=fmt, partial=partial, actor="local"
                )
            except ShelterImportRefused as refused:  # list the rows, then the one-line error and exit 1
                for problem in refused.data.get("errors", []):
                    click.echo(_problem_line(problem, lang), err=True)
                raise

    report = run(go())
    if as_json:
        click.echo(json.dumps(report.to_json(lang), ensure_ascii=False, indent=2))
    else:
        _print_report(report, lang)


@shelters.command("nearest")
@click.option("--lat", type=Finite(-90, 90), required=True)
@click.option("--lon", type=Finite(-180, 180), required=True)
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as the API gives it.")
@lang_option
@database_option
def nearest(lat: float, lon: float, limit: int, as_json: bool, lang: str, database_url: str | None) -> None:
    """The shelters nearest to a point, by great-circle distance."""

    async def go() -> list[tuple[Any, float]]:
        async with _directory(database_url) as directory:
            return await directory.nearest(lat, lon, limit)

    found = run(go())
    if as_json:
        click.echo(
            json.dumps(
                {"shelters": [{**s.to_json(), "distance_m": round(d, 1)} for s, d in found]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not found:
        click.echo(messages.t("shelters.cli.none", lang))
        return
    for shelter, metres in found:
        extra = []
        if shelter.capacity is not None:
            extra.append(messages.t("shelters.cli.capacity", lang, capacity=shelter.capacity))
        if shelter.accessibility is not None:
            extra.append(messages.t("shelters.cli.accessibility", lang, value=shelter.accessibility.value))
        name = shelter.name or shelter.address or shelter.id
        details = f"  ({', '.join(extra)})" if extra else ""
        click.echo(f"{metres:>8.0f} m  {name}  {shelter.lat:.6f}, {shelter.lon:.6f}{details}  [{shelter.id}]")
