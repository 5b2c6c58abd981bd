"""`sirena regions | settings | migrate | docs`: administration and generated reference pages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sirena import messages
from sirena import settings as settings_mod
from sirena.cli.core import database_option, main, opened, run, settings_from
from sirena.errors import SirenaError, ValidationFailed
from sirena.regions import load_file
from sirena.runtime import REGIONS_META_KEY
from sirena.store.postgis import unused_notice

# -- regions, settings, docs -------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@database_option
@click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)
@click.pass_context
def regions(ctx: click.Context, database_url: str | None, lang: str) -> None:
    """Show the region tree (`sirena regions show ID`) or load another country (`sirena regions load FILE`).

    Without a subcommand, shows the country and its top-level regions."""
    if ctx.invoked_subcommand is None:
        _show(database_url, lang, None)


@regions.command("show")
@database_option
@click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)
@click.argument("region_id", required=False)
def regions_show(database_url: str | None, lang: str, region_id: str | None) -> None:
    """Show a region and its children (the country when no id is given)."""
    _show(database_url, lang, region_id)


def _show(database_url: str | None, lang: str, region_id: str | None) -> None:
    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (_, service):
            registry = service.registry
            if region_id is not None and region_id not in registry:
                raise ValidationFailed("error.unknown_region", field="region", value=region_id)
            region = registry.get(region_id or registry.root_id)
            click.echo(f"{region.id}\t{region.level}\t{region.name(lang)}")
            for child in registry.children(region.id):
                click.echo(f"  {child.id}\t{child.level}\t{child.name(lang)}\t({len(child.children)} children)")

    run(go())


@regions.command("load")
@database_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def regions_load(database_url: str | None, file: Path) -> None:
    """Validate a region file and make it the region set of this database (see docs/regions.md)."""
    from sirena.regions import dump_data

    try:
        registry = load_file(file)
    except SirenaError as exc:
        click.echo(f"sirena: {exc.detail()}", err=True)
        sys.exit(1)

    async def go() -> None:
        async with opened(settings_from(database_url=database_url, regions="ua")) as (store, _):
            await store.set_meta(REGIONS_META_KEY, json.dumps(dump_data(registry), ensure_ascii=False))

    run(go())
    levels: dict[str, int] = {}
    for region in registry:
        levels[region.level] = levels.get(region.level, 0) + 1
    counts = ", ".join(f"{n} {level}" for level, n in levels.items())
    click.echo(f"loaded {len(registry)} regions of {registry.country} ({counts}); restart `sirena serve` to use them")


@main.command("settings")
@database_option
def showsettings_from(database_url: str | None) -> None:
    """Print every setting with its current value (secrets masked)."""
    try:
        current = settings_from(database_url=database_url)
    except SirenaError as exc:
        click.echo(f"sirena: {exc.detail()}", err=True)
        sys.exit(1)
    for info in settings_mod.table():
        click.echo(f"{info.env}={current.masked()[info.name]}")


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Create or upgrade the database schema."""

    async def go() -> str | None:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            return unused_notice(store)

    notice = run(go())
    click.echo("database is up to date")
    if notice:
        click.echo(notice, err=True)


@main.command()
@click.option("--write", "folder", type=click.Path(file_okay=False, path_type=Path), help="Write the pages here.")
@click.option("--check", "check", type=click.Path(file_okay=False, path_type=Path), help="Fail if pages differ.")
def docs(folder: Path | None, check: Path | None) -> None:
    """Generate docs/settings.md and docs/cli.md from the code."""
    pages = {"settings.md": settings_mod.markdown(), "cli.md": cli_markdown()}
    if check is not None:
        stale = [
            name for name, text in pages.items() if not (check / name).exists() or (check / name).read_text() != text
        ]
        if stale:
            click.echo(f"sirena: out of date: {', '.join(stale)}; run `make docs`", err=True)
            sys.exit(1)
        return
    if folder is None:
        for text in pages.values():
            click.echo(text)
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"sirena: cannot write {exc.filename or folder}: {exc.strerror or exc}", err=True)
        sys.exit(1)


def cli_markdown() -> str:
    """Every command's help, as Markdown."""
    parts = ["# Command line", "", "Generated by `sirena docs`; do not edit by hand.", ""]

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        # The root context carries main's help option names (-h, --help), as a real invocation does: click caches
        # each command's help option on first use, so contexts without them would make the page depend on which
        # commands ran before in the same process.
        names = None if parent is not None else list(main.context_settings.get("help_option_names", ["--help"]))
        ctx = click.Context(
            command,
            parent=parent,
            info_name=path[-1],
            terminal_width=100,
            max_content_width=100,
            help_option_names=names,
        )
        parts.extend([f"## `{' '.join(path)}`", "", "```", command.get_help(ctx), "```", ""])
        if isinstance(command, click.Group):
            for sub in sorted(command.commands):
                walk(command.commands[sub], [*path, sub], ctx)

    walk(main, ["sirena"], None)
    return "\n".join(parts)
