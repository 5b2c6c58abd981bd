"""Shared pieces of the command line: the ``sirena`` group, option helpers, and running library calls."""

from __future__ import annotations

import asyncio
import math
import resource
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from sirena import __version__, messages
from sirena.advisories.allclear import AllClears
from sirena.domain.model import (
    Alert,
    Status,
)
from sirena.errors import SirenaError
from sirena.regions import RegionRegistry
from sirena.runtime import resolve_regions
from sirena.service import AlertService
from sirena.settings import Settings
from sirena.store import Store, open_store
from sirena.targeting import TimeToShelter

T = TypeVar("T")

database_option = click.option(
    "--database-url", envvar="SIRENA_DATABASE_URL", default=None, help="Overrides SIRENA_DATABASE_URL."
)


class Text(click.types.StringParamType):
    """Text Sirena stores or sends on. Bytes that are not UTF-8 (a terminal in another encoding, a binary pasted
    in) reach Python as lone surrogates, which no JSON answer could carry later: they are refused here."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(f"{text!r} is not UTF-8 text", param, ctx)
        return text


TEXT = Text()


class Int64(click.IntRange):
    """A whole number from ``min`` up to what a 64-bit database integer holds (sequence numbers, ids, limits); the
    help shows ``x>=min`` only."""

    def __init__(self, min: int = 0) -> None:
        super().__init__(min=min)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number > 2**63 - 1:
            self.fail(f"{number} is too large", param, ctx)
        return number


SEQ = Int64(0)
"""A sequence number (of the event or audit log)."""


class Finite(click.FloatRange):
    """A number in a range, and a number at all: ``nan`` passes click's range checks, so it is refused here."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def file_label(path: Path) -> str:
    """A file's name as text to store or show: bytes of the name that are not UTF-8 become U+FFFD."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def settings_from(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


def run(coro: Awaitable[T]) -> T:
    """Run ``coro``; a Sirena error becomes one line on stderr and exit status 1."""

    async def wrapped() -> T:
        return await coro

    try:
        return asyncio.run(wrapped())
    except SirenaError as exc:
        fail(exc)


def fail(exc: SirenaError) -> NoReturn:
    """End the command with the error on one line and exit status 1."""
    click.echo(f"sirena: {exc.detail()}", err=True)
    sys.exit(1)


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[Store, AlertService]]:
    store = open_store(settings.database_url, postgis=settings.postgis)
    await store.open()
    try:
        registry = await resolve_regions(settings, store)
        shelter_times = TimeToShelter.from_setting(settings.time_to_shelter_file, registry)
        service = AlertService(store, registry, time_to_shelter=shelter_times)
        if settings.all_clear_on_end:
            service.end_hook = AllClears(store, registry, service.clock, settings.all_clear_show_s).hook()
        yield store, service
    finally:
        await store.close()


def describe(alert: Alert, registry: RegionRegistry, lang: str = "en") -> str:
    names = ", ".join(registry.get(r).name(lang) if r in registry else r for r in alert.touched_regions[:4])
    if len(alert.touched_regions) > 4:
        names += f" +{len(alert.touched_regions) - 4}"
    threats = ", ".join(messages.t(f"alert.threat.{t.type.value}", lang) for t in alert.threats)
    status = "" if alert.status is Status.ACTUAL else f"[{messages.t('alert.status.' + alert.status.value, lang)}] "
    line = f"{alert.id}  {status}{alert.state.value:<9} {alert.level.value:<6} {alert.kind.value:<18} {names}"
    return line + (f"  ({threats})" if threats else "")


# -- the group ---------------------------------------------------------------------------------------------


class OneLineError(click.ClickException):
    """One of click's errors shown as every other error: ``sirena: <message>`` on one line (with, for a usage
    error, where to read more)."""

    def __init__(self, exc: click.ClickException) -> None:
        super().__init__(" ".join(exc.format_message().split()))  # click lists choices one per line
        ctx = exc.ctx if isinstance(exc, click.UsageError) else None
        self.hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""

    def show(self, file: Any = None) -> None:
        text = self.format_message().rstrip(".") + self.hint if self.hint else self.format_message()
        click.echo(f"sirena: {text}", err=True)


class OneLineUsageError(OneLineError):
    exit_code = 2


def one_line(exc: click.ClickException) -> OneLineError:
    if isinstance(exc, OneLineError):
        return exc
    return OneLineUsageError(exc) if isinstance(exc, click.UsageError) else OneLineError(exc)


class Sirena(click.Group):
    """The ``sirena`` group: click's errors, from parsing any command's options on, come out as one line."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise one_line(exc) from None


@click.group(cls=Sirena, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sirena")
def main() -> None:
    """Sirena: issue, deliver and retract public warnings."""


@main.command()
@database_option
@click.option("--host", default=None, help="Address to listen on (SIRENA_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (SIRENA_PORT, default 8000).")
@click.option("--demo/--no-demo", default=None, help="Replay a real day of history as exercise alerts.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes sharing the port (SIRENA_WORKERS, default 1).",
)
def serve(database_url: str | None, host: str | None, port: int | None, demo: bool | None, workers: int | None) -> None:
    """Serve the HTTP API, live streams and pages."""
    from sirena.cluster import shutdown
    from sirena.cluster import workers as per_core
    from sirena.web import create_app

    try:
        settings = settings_from(database_url=database_url, host=host, port=port, demo=demo, workers=workers)
        per_core.check_port(settings)
    except SirenaError as exc:
        fail(exc)
    run(_can_open(settings))  # a wrong database URL or region file is one line here, not a server's traceback
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # every live stream holds a socket
    if settings.workers > 1:
        try:
            sys.exit(per_core.run(settings))  # drains every worker's clients on SIGTERM
        except SirenaError as exc:
            fail(exc)
    app = create_app(settings)
    try:
        shutdown.serve(app, settings)  # drains live clients on SIGTERM
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has stopped cleanly: a normal stop, as with
        sys.exit(0)  # --workers


async def _can_open(settings: Settings) -> None:
    """Open the store and the region set once (migrating the schema), as the server is about to."""
    async with opened(settings):
        pass
