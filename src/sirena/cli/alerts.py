"""`sirena issue | update | end | cancel | list | tail`: alerts from the terminal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import click

from sirena import messages
from sirena.advisories.allclear import AllClears
from sirena.advisories.text import notice_line
from sirena.auth.audit import Recorder
from sirena.cli.core import SEQ, TEXT, Finite, database_option, describe, main, opened, run, settings_from
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
from sirena.domain.notice import Notice
from sirena.protocol.alert_json import alert_to_dict, dumps, format_time
from sirena.regions import RegionRegistry
from sirena.service import LOCAL

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
            click.option("--headline", "headlines", type=TEXT, multiple=True, help="LANG=TEXT; repeat per language."),
            click.option(
                "--instruction", "instructions", type=TEXT, multiple=True, help="LANG=TEXT; repeat per language."
            ),
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
        async with opened(settings_from(database_url=database_url)) as (_, service):
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
        async with opened(settings_from(database_url=database_url)) as (_, service):
            return (await service.update(alert_id, changes)).event.alert

    _print_alert(run(go()), as_json)


def _lifecycle_command(name: str, doc: str) -> None:
    @main.command(name, help=doc)
    @click.argument("alert_id")
    @database_option
    def command(alert_id: str, database_url: str | None) -> None:
        async def go() -> Alert:
            async with opened(settings_from(database_url=database_url)) as (_, service):
                step = service.end if name == "end" else service.cancel
                return (await step(alert_id)).event.alert

        alert = run(go())
        click.echo(f"{alert.id} {alert.state.value}")


_lifecycle_command("cancel", "Cancel an alert that was issued in error.")


@main.command("end")
@click.argument("alert_id")
@database_option
@click.option(
    "--all-clear/--no-all-clear",
    default=None,
    help="Send an all-clear on every outlet and channel (default: SIRENA_ALL_CLEAR_ON_END, on unless set to false).",
)
@click.option(
    "--all-clear-text",
    "clear_texts",
    type=TEXT,
    multiple=True,
    metavar="LANG=TEXT",
    help="The all-clear's text in one language, instead of the prepared one (sends an all-clear); repeat per language.",
)
def end(alert_id: str, database_url: str | None, all_clear: bool | None, clear_texts: tuple[str, ...]) -> None:
    """End an alert: the threat is over (all clear)."""
    texts = _texts(clear_texts, "--all-clear-text")
    settings = settings_from(database_url=database_url)
    send = all_clear if all_clear is not None else bool(texts) or settings.all_clear_on_end

    async def go() -> Alert:
        async with opened(settings) as (store, service):
            clears = AllClears(store, service.registry, service.clock, settings.all_clear_show_s)
            ctx = Recorder(LOCAL, "alert.end", also=clears.hook(texts or None) if send else None)
            return (await service.end(alert_id, ctx=ctx)).event.alert

    alert = run(go())
    click.echo(f"{alert.id} {alert.state.value}")


@main.command("list")
@database_option
@click.option("--state", type=click.Choice(["active", "ended", "all"]), default="active", show_default=True)
@click.option("--region", default=None, help="Only alerts touching this region (with descendants/ancestors).")
@click.option("--all-statuses", is_flag=True, help="Include exercise and test alerts.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=1000, show_default=True, help="At most this many alerts."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_alerts(
    database_url: str | None, state: str, region: str | None, all_statuses: bool, limit: int, as_json: bool
) -> None:
    """List alerts, newest first."""
    states = {
        "active": frozenset({AlertState.ACTIVE}),
        "ended": frozenset({AlertState.ENDED, AlertState.CANCELLED}),
        "all": None,
    }[state]

    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (_, service):
            statuses = None if all_statuses else frozenset({Status.ACTUAL})
            for alert in await service.find(states=states, region=region, statuses=statuses, limit=limit):
                click.echo(dumps(alert_to_dict(alert)) if as_json else describe(alert, service.registry))

    run(go())


def _event_line(event: Event, registry: RegionRegistry, lang: str) -> str:
    what = messages.t(f"alert.event.{event.type.value}", lang)
    return f"{format_time(event.at)}  #{event.seq:<6} {what:<10} {describe(event.alert, registry, lang)}"


@main.command()
@database_option
@click.option("--after", "after_seq", type=SEQ, default=None, help="Start after this sequence number (default: now).")
@click.option("--all-statuses", is_flag=True, help="Include exercise and test alerts.")
@click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)
@click.option("--once", is_flag=True, help="Print what is there and stop instead of following.")
@click.option(
    "--interval", type=Finite(0.01, 3600), default=0.5, show_default=True, help="Seconds between looks at the log."
)
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
        async with opened(settings_from(database_url=database_url)) as (store, service):
            last = after_seq if after_seq is not None else await store.last_seq()
            while True:
                events = await store.events_after(last, limit=500)
                for event in events:
                    last = event.seq
                    if isinstance(event, Notice):
                        if not event.reach.private and (all_statuses or event.reach.status is Status.ACTUAL):
                            click.echo(notice_line(event, service.registry, lang))
                    elif all_statuses or event.alert.status is Status.ACTUAL:
                        click.echo(_event_line(event, service.registry, lang))
                if once and not events:
                    return
                if not events:
                    await asyncio.sleep(interval)

    with suppress(KeyboardInterrupt):
        run(go())
