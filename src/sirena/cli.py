"""``sirena``: the command line, a thin adapter over the library.

Every command takes ``--database-url``; errors print one line on stderr and exit non-zero.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import click

from sirena import __version__, auth, messages
from sirena import settings as settings_mod
from sirena.domain.model import (
    Alert,
    AlertChanges,
    AlertDraft,
    AlertState,
    Circle,
    Event,
    Kind,
    Level,
    Status,
    Target,
    Threat,
    ThreatType,
)
from sirena.errors import SirenaError, ValidationFailed
from sirena.protocol.alert_json import alert_to_dict, dumps, format_time
from sirena.regions import RegionRegistry, load_file
from sirena.runtime import REGIONS_META_KEY, resolve_regions
from sirena.service import AlertService
from sirena.settings import Settings
from sirena.store import Store, open_store

T = TypeVar("T")

database_option = click.option(
    "--database-url", envvar="SIRENA_DATABASE_URL", default=None, help="Overrides SIRENA_DATABASE_URL."
)


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


def run(coro: Awaitable[T]) -> T:
    """Run ``coro``; a Sirena error becomes one line on stderr and exit status 1."""

    async def wrapped() -> T:
        return await coro

    try:
        return asyncio.run(wrapped())
    except SirenaError as exc:
        click.echo(f"sirena: {exc.detail()}", err=True)
        sys.exit(1)


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[Store, AlertService]]:
    store = open_store(settings.database_url)
    await store.open()
    try:
        registry = await resolve_regions(settings, store)
        yield store, AlertService(store, registry)
    finally:
        await store.close()


def _describe(alert: Alert, registry: RegionRegistry, lang: str = "en") -> str:
    names = ", ".join(registry.get(r).name(lang) if r in registry else r for r in alert.touched_regions[:4])
    if len(alert.touched_regions) > 4:
        names += f" +{len(alert.touched_regions) - 4}"
    threats = ", ".join(messages.t(f"alert.threat.{t.type.value}", lang) for t in alert.threats)
    status = "" if alert.status is Status.ACTUAL else f"[{messages.t('alert.status.' + alert.status.value, lang)}] "
    line = f"{alert.id}  {status}{alert.state.value:<9} {alert.level.value:<6} {alert.kind.value:<18} {names}"
    return line + (f"  ({threats})" if threats else "")


# -- the group ---------------------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sirena")
def main() -> None:
    """Sirena: issue, deliver and retract public warnings."""


@main.command()
@database_option
@click.option("--host", default=None, help="Address to listen on (SIRENA_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (SIRENA_PORT, default 8000).")
@click.option("--demo/--no-demo", default=None, help="Replay a real day of history as exercise alerts.")
def serve(database_url: str | None, host: str | None, port: int | None, demo: bool | None) -> None:
    """Serve the HTTP API, live streams and pages."""
    import uvicorn

    from sirena.web import create_app

    try:
        settings = _settings(database_url=database_url, host=host, port=port, demo=demo)
    except SirenaError as exc:
        raise click.ClickException(exc.detail()) from None
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, lifespan="on")


# -- tokens ------------------------------------------------------------------------------------------------


@main.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@database_option
@click.option("--name", required=True, help="What the token is for (shown in listings and audit).")
def token_create(database_url: str | None, name: str) -> None:
    """Create a token and print it alone on stdout. Only its hash is stored: keep it now."""

    async def go() -> str:
        async with opened(_settings(database_url=database_url)) as (store, _):
            value, _record = await auth.create(store, name)
            return value

    click.echo(run(go()))


@token.command("list")
@database_option
def token_list(database_url: str | None) -> None:
    """List tokens (never their values)."""

    async def go() -> None:
        async with opened(_settings(database_url=database_url)) as (store, _):
            for record in await store.list_tokens():
                revoked = f"revoked {format_time(record.revoked_at)}" if record.revoked_at else "active"
                click.echo(f"{record.id}\t{record.name}\t{format_time(record.created_at)}\t{revoked}")

    run(go())


@token.command("revoke")
@database_option
@click.argument("token_id", type=int)
def token_revoke(database_url: str | None, token_id: int) -> None:
    """Revoke the token with this id (see `sirena token list`)."""

    async def go() -> bool:
        async with opened(_settings(database_url=database_url)) as (store, _):
            return await store.revoke_token(token_id)

    if not run(go()):
        click.echo(f"sirena: no active token with id {token_id}", err=True)
        sys.exit(1)


# -- alerts ------------------------------------------------------------------------------------------------


def _texts(values: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or not lang.strip() or not text.strip():
            raise click.BadParameter(f"expected LANG=TEXT, got {value!r}", param_hint=option)
        out[lang.strip()] = text.strip()
    return out


def _threats(values: Sequence[str]) -> tuple[Threat, ...]:
    out = []
    for value in values:
        name, _, level = value.partition(":")
        try:
            out.append(Threat(ThreatType(name), Level(level or "red")))
        except ValueError:
            choices = ", ".join(t.value for t in ThreatType)
            raise click.BadParameter(
                f"{value!r}: use TYPE[:red|yellow], TYPE one of {choices}", param_hint="--threat"
            ) from None
    return tuple(out)


def _target(regions: Sequence[str], area: Path | None, circle: str | None) -> Target | None:
    given = sum((bool(regions), area is not None, circle is not None))
    if given == 0:
        return None
    if given > 1:
        raise click.UsageError("give only one of --region, --area or --circle")
    if area is not None:
        try:
            geojson = json.loads(area.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint="--area") from None
        if geojson.get("type") == "Feature":
            geojson = geojson.get("geometry") or {}
        return Target(area=geojson)
    if circle is not None:
        try:
            lat, lon, radius = (float(x) for x in circle.split(","))
        except ValueError:
            raise click.BadParameter("expected LAT,LON,RADIUS_KM", param_hint="--circle") from None
        return Target(circle=Circle(lat, lon, radius))
    return Target(regions=tuple(regions))


def alert_options(issuing: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--region", "regions", multiple=True, help="Region id; repeat for several."),
            click.option("--area", type=click.Path(path_type=Path, dir_okay=False), help="GeoJSON polygon file."),
            click.option("--circle", help="LAT,LON,RADIUS_KM."),
            click.option("--kind", type=click.Choice([k.value for k in Kind]), default="air_raid" if issuing else None),
            click.option("--threat", "threats", multiple=True, help="TYPE[:red|yellow]; repeat for several."),
            click.option("--level", type=click.Choice([lv.value for lv in Level]), default="red" if issuing else None),
            click.option("--headline", "headlines", multiple=True, help="LANG=TEXT; repeat per language."),
            click.option("--instruction", "instructions", multiple=True, help="LANG=TEXT; repeat per language."),
            click.option("--time-to-shelter", "time_to_shelter_s", type=click.IntRange(0, 86_400), help="Seconds."),
            database_option,
        ]
        if issuing:
            options.append(
                click.option(
                    "--status",
                    type=click.Choice([s.value for s in Status]),
                    default="actual",
                    show_default=True,
                )
            )
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _print_alert(alert: Alert, as_json: bool) -> None:
    click.echo(dumps(alert_to_dict(alert)) if as_json else alert.id)


@main.command()
@alert_options(issuing=True)
@click.option("--json", "as_json", is_flag=True, help="Print the alert as JSON instead of its id.")
def issue(
    regions: tuple[str, ...],
    area: Path | None,
    circle: str | None,
    kind: str,
    threats: tuple[str, ...],
    level: str,
    headlines: tuple[str, ...],
    instructions: tuple[str, ...],
    time_to_shelter_s: int | None,
    database_url: str | None,
    status: str,
    as_json: bool,
) -> None:
    """Issue an alert for regions, a polygon or a circle; prints its id."""
    target = _target(regions, area, circle)
    if target is None:
        raise click.UsageError("give a target: --region, --area or --circle")
    draft = AlertDraft(
        target=target,
        kind=Kind(kind),
        level=Level(level),
        status=Status(status),
        threats=_threats(threats),
        issuer="cli",
        headline=_texts(headlines, "--headline"),
        instruction=_texts(instructions, "--instruction"),
        time_to_shelter_s=time_to_shelter_s,
    )

    async def go() -> Alert:
        async with opened(_settings(database_url=database_url)) as (_, service):
            return (await service.issue(draft)).event.alert

    _print_alert(run(go()), as_json)


@main.command()
@click.argument("alert_id")
@alert_options(issuing=False)
@click.option("--json", "as_json", is_flag=True, help="Print the alert as JSON instead of its id.")
def update(
    alert_id: str,
    regions: tuple[str, ...],
    area: Path | None,
    circle: str | None,
    kind: str | None,
    threats: tuple[str, ...],
    level: str | None,
    headlines: tuple[str, ...],
    instructions: tuple[str, ...],
    time_to_shelter_s: int | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Change an active alert; options left out stay as they are."""
    changes = AlertChanges(
        target=_target(regions, area, circle),
        kind=Kind(kind) if kind else None,
        level=Level(level) if level else None,
        threats=_threats(threats) if threats else None,
        headline=_texts(headlines, "--headline") or None,
        instruction=_texts(instructions, "--instruction") or None,
        time_to_shelter_s=time_to_shelter_s,
    )
    if changes.is_empty():
        raise click.UsageError("nothing to change")

    async def go() -> Alert:
        async with opened(_settings(database_url=database_url)) as (_, service):
            return (await service.update(alert_id, changes)).event.alert

    _print_alert(run(go()), as_json)


def _lifecycle_command(name: str, doc: str) -> None:
    @main.command(name, help=doc)
    @click.argument("alert_id")
    @database_option
    def command(alert_id: str, database_url: str | None) -> None:
        async def go() -> Alert:
            async with opened(_settings(database_url=database_url)) as (_, service):
                step = service.end if name == "end" else service.cancel
                return (await step(alert_id)).event.alert

        alert = run(go())
        click.echo(f"{alert.id} {alert.state.value}")


_lifecycle_command("end", "End an alert: the threat is over (all clear).")
_lifecycle_command("cancel", "Cancel an alert that was issued in error.")


@main.command("list")
@database_option
@click.option("--state", type=click.Choice(["active", "ended", "all"]), default="active", show_default=True)
@click.option("--region", default=None, help="Only alerts touching this region (with descendants/ancestors).")
@click.option("--all-statuses", is_flag=True, help="Include exercise and test alerts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_alerts(database_url: str | None, state: str, region: str | None, all_statuses: bool, as_json: bool) -> None:
    """List alerts, newest first."""
    states = {
        "active": frozenset({AlertState.ACTIVE}),
        "ended": frozenset({AlertState.ENDED, AlertState.CANCELLED}),
        "all": None,
    }[state]

    async def go() -> None:
        async with opened(_settings(database_url=database_url)) as (_, service):
            statuses = None if all_statuses else frozenset({Status.ACTUAL})
            for alert in await service.find(states=states, region=region, statuses=statuses):
                click.echo(dumps(alert_to_dict(alert)) if as_json else _describe(alert, service.registry))

    run(go())


def _event_line(event: Event, registry: RegionRegistry, lang: str) -> str:
    what = messages.t(f"alert.event.{event.type.value}", lang)
    return f"{format_time(event.at)}  #{event.seq:<6} {what:<10} {_describe(event.alert, registry, lang)}"


@main.command()
@database_option
@click.option("--after", "after_seq", type=int, default=None, help="Start after this sequence number (default: now).")
@click.option("--all-statuses", is_flag=True, help="Include exercise and test alerts.")
@click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)
@click.option("--once", is_flag=True, help="Print what is there and stop instead of following.")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between looks at the log.")
def tail(
    database_url: str | None,
    after_seq: int | None,
    all_statuses: bool,
    lang: str,
    once: bool,
    interval: float,
) -> None:
    """Follow the event log and print one readable line per event."""

    async def go() -> None:
        async with opened(_settings(database_url=database_url)) as (store, service):
            last = after_seq if after_seq is not None else await store.last_seq()
            while True:
                events = await store.events_after(last, limit=500)
                for event in events:
                    last = event.seq
                    if all_statuses or event.alert.status is Status.ACTUAL:
                        click.echo(_event_line(event, service.registry, lang))
                if once and not events:
                    return
                if not events:
                    await asyncio.sleep(interval)

    with suppress(KeyboardInterrupt):
        run(go())


# -- regions, settings, docs -------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@database_option
@click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)
@click.argument("region_id", required=False)
@click.pass_context
def regions(ctx: click.Context, database_url: str | None, lang: str, region_id: str | None) -> None:
    """Show a region and its children (the country when no id is given)."""
    if ctx.invoked_subcommand is not None:
        return

    async def go() -> None:
        async with opened(_settings(database_url=database_url)) as (_, service):
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
        async with opened(_settings(database_url=database_url, regions="ua")) as (store, _):
            await store.set_meta(REGIONS_META_KEY, json.dumps(dump_data(registry), ensure_ascii=False))

    run(go())
    levels: dict[str, int] = {}
    for region in registry:
        levels[region.level] = levels.get(region.level, 0) + 1
    counts = ", ".join(f"{n} {level}" for level, n in levels.items())
    click.echo(f"loaded {len(registry)} regions of {registry.country} ({counts}); restart `sirena serve` to use them")


@main.command("settings")
@database_option
def show_settings(database_url: str | None) -> None:
    """Print every setting with its current value (secrets masked)."""
    try:
        current = _settings(database_url=database_url)
    except SirenaError as exc:
        click.echo(f"sirena: {exc.detail()}", err=True)
        sys.exit(1)
    for info in settings_mod.table():
        click.echo(f"{info.env}={current.masked()[info.name]}")


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Create or upgrade the database schema."""

    async def go() -> None:
        async with opened(_settings(database_url=database_url)):
            pass

    run(go())
    click.echo("database is up to date")


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
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")


def cli_markdown() -> str:
    """Every command's help, as Markdown."""
    parts = ["# Command line", "", "Generated by `sirena docs`; do not edit by hand.", ""]

    def walk(command: click.Command, path: list[str]) -> None:
        name = " ".join(path)
        with click.Context(command, info_name=name, terminal_width=100, max_content_width=100) as ctx:
            parts.extend([f"## `{name}`", "", "```", command.get_help(ctx), "```", ""])
        if isinstance(command, click.Group):
            for sub in sorted(command.commands):
                walk(command.commands[sub], [*path, sub])

    walk(main, ["sirena"])
    return "\n".join(parts)
