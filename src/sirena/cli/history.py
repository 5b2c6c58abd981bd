"""`sirena import | stats | export | replay`: the alert history from the terminal.

Progress goes to stderr (a rich progress bar on a terminal), results to stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sirena import messages
from sirena.cli.core import Finite, database_option, fail, main, opened, run, settings_from
from sirena.cluster import Leases, node_name
from sirena.domain.model import Kind, Source
from sirena.errors import SirenaError, ValidationFailed
from sirena.history.archive import STATS_SOURCES, History, parse_choices
from sirena.history.export import Format, export
from sirena.history.follower import RollupFollower
from sirena.history.importer import IMPORT_LEASE, HistoryFile, builtin_files, read_file
from sirena.history.replay import Replay, ReplayStatus
from sirena.history.replay import end_leftovers as end_replay_leftovers
from sirena.history.report import ImportReport
from sirena.history.stats import DEFAULT_TZ, Group, StatsQuery, StatsResult, parse_bound, zone
from sirena.protocol.alert_json import format_time

SPARKS = "▁▂▃▄▅▆▇█"

lang_option = click.option("--lang", type=click.Choice(list(messages.LANGUAGES)), default="en", show_default=True)


def _err() -> Console:
    return Console(stderr=True)


def _progress(console: Console, enabled: bool, *, counts: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if counts else TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(int(v / top * (len(SPARKS) - 1) + 0.5), len(SPARKS) - 1)] for v in values)


# -- import --------------------------------------------------------------------------------------------------------


@main.command("import")
@database_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--builtin", is_flag=True, help="Import the Ukrainian record shipped with Sirena (works offline).")
@click.option(
    "--only",
    type=click.Choice(["official_data", "volunteer_data"]),
    multiple=True,
    help="With --builtin: only this dataset (repeat for both).",
)
@click.option(
    "--unmatched",
    "unmatched_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every row that was not imported, with the reason, to this CSV file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
@lang_option
def import_command(
    database_url: str | None,
    files: tuple[Path, ...],
    builtin: bool,
    only: tuple[str, ...],
    unmatched_path: Path | None,
    as_json: bool,
    progress: bool,
    lang: str,
) -> None:
    """Import alert history: the shipped record (--builtin), newer downloads of the same CSV datasets
    (plain or .gz), or CAP archives (a document, a feed, or a zip/tar of them). Importing again adds nothing.
    One import at a time per database: while another runs (or a demo server imports), this one waits for it."""
    if not builtin and not files:
        raise click.UsageError(messages.t("history.error.no_input", lang))
    inputs: list[HistoryFile] = builtin_files(only or None) if builtin else []
    try:
        inputs += [read_file(path) for path in files]
    except SirenaError as exc:
        raise click.ClickException(exc.detail(lang)) from None
    with contextlib.ExitStack() as stack:
        unmatched_file: TextIO | None = None
        if unmatched_path is not None:  # made before anything is imported: a place it cannot go stops the import
            try:
                unmatched_file = stack.enter_context(_written_beside(unmatched_path))
            except OSError as exc:
                raise click.FileError(str(unmatched_path), hint=exc.strerror or os.strerror(errno.EACCES)) from None
        report = _import(database_url, inputs, unmatched_path is not None, progress, lang)
        if unmatched_file is not None:
            writer = csv.writer(unmatched_file)
            writer.writerow(["file", "line", "reason", "row"])
            for row in report.unmatched_rows:
                writer.writerow([row.file, row.line, row.reason, row.text])
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_import(report, lang)
    if unmatched_path is not None:
        click.echo(messages.t("history.cli.unmatched_written", lang, path=str(unmatched_path)), err=True)


def _import(
    database_url: str | None, inputs: list[HistoryFile], keep_unmatched: bool, progress: bool, lang: str
) -> ImportReport:
    console = _err()

    def waiting() -> None:
        click.echo(messages.t("history.cli.waiting", lang), err=True)

    async def go() -> ImportReport:
        settings = settings_from(database_url=database_url)
        async with opened(settings) as (store, service):
            history = History(store, service.registry)

            async def work() -> ImportReport:
                with _progress(console, progress and console.is_terminal) as bar:
                    tasks = {
                        "read": bar.add_task(messages.t("history.cli.reading", lang), total=len(inputs)),
                        "write": bar.add_task(messages.t("history.cli.writing", lang), total=None),
                    }

                    def step(phase: str, done: int, total: int) -> None:
                        bar.update(tasks[phase], completed=done, total=total)

                    return await history.import_files(
                        inputs, progress=step, keep_unmatched=keep_unmatched, leases=leases
                    )

            # one import at a time per database, a server's included; this process's own name (host and process
            # id), never the node id of a server it shares its environment with
            async with Leases(store, node_name(0), settings.lease_ttl_s) as leases:
                return await leases.holding(IMPORT_LEASE, work, waiting=waiting)

    return run(go())


def _print_import(report: ImportReport, lang: str) -> None:
    table = Table(box=None)
    for key in ("file", "dataset", "rows", "matched", "unmatched", "repaired"):
        table.add_column(
            messages.t(f"history.cli.{key}", lang), justify="left" if key in {"file", "dataset"} else "right"
        )
    for item in report.files:
        table.add_row(
            item.name,
            item.dataset,
            str(item.rows),
            str(item.matched),
            str(sum(item.unmatched.values())),
            str(sum(item.repaired.values())),
        )
    console = Console(width=120)
    console.print(table)
    for reason, count in sorted(report.unmatched.items()):
        console.print(
            messages.t(
                "history.cli.unmatched_line", lang, count=count, reason=messages.t(f"history.reason.{reason}", lang)
            )
        )
    click.echo(report.summary(lang))


# -- stats ---------------------------------------------------------------------------------------------------------


@main.command()
@database_option
@click.option("--region", "regions", multiple=True, help="Region id; repeat for several (default: every oblast).")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD, in --tz) or an ISO 8601 time.")
@click.option("--to", "end", required=True, help="Day after the last (exclusive), or an ISO 8601 time.")
@click.option("--group", type=click.Choice([g.value for g in Group]), default="day", show_default=True)
@click.option(
    "--source",
    default=",".join(sorted(STATS_SOURCES)),
    show_default=True,
    help="Comma-separated sources (official, volunteer, sirena, cap) or all.",
)
@click.option("--kind", default="all", show_default=True, help="Comma-separated alert kinds, or all.")
@click.option("--tz", default=DEFAULT_TZ, show_default=True, help="Time zone of the buckets (IANA name).")
@click.option("--descendants", is_flag=True, help="Count alerts of the region's raions and hromadas too.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON, one line per region.")
@lang_option
def stats(
    database_url: str | None,
    regions: tuple[str, ...],
    start: str,
    end: str,
    group: str,
    source: str,
    kind: str,
    tz: str,
    descendants: bool,
    as_json: bool,
    lang: str,
) -> None:
    """Alerts started and hours under alert per bucket, from the rollups: a table and a sparkline per region."""

    async def go() -> list[tuple[str, StatsResult]]:
        async with opened(settings_from(database_url=database_url)) as (store, service):
            await RollupFollower(store).catch_up()
            history = History(store, service.registry)
            zone_info = zone(tz)
            registry = service.registry
            ids = list(regions) or list(registry.get(registry.root_id).children)
            results = []
            for region_id in ids:
                query = StatsQuery(
                    region_id=history.check_region(region_id),
                    start=parse_bound(start, zone_info, "from"),
                    end=parse_bound(end, zone_info, "to"),
                    group=Group(group),
                    tz=zone_info,
                    sources=parse_choices(source, Source, "source"),
                    kinds=parse_choices(kind, Kind, "kind"),
                    descendants=descendants,
                )
                results.append((registry.get(region_id).name(lang), await history.stats(query)))
            return results

    results = run(go())
    if as_json:
        for _, result in results:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    _print_stats(results, lang)


def _hours(ms: int) -> str:
    return f"{ms / 3_600_000:.1f}"


def _print_stats(results: list[tuple[str, StatsResult]], lang: str) -> None:
    console = Console(width=140)
    first = results[0][1].query
    sources = ",".join(sorted(first.sources)) if first.sources is not None else "all"
    console.print(
        messages.t(
            "history.cli.stats_title",
            lang,
            first=first.start.astimezone(first.tz).isoformat(),
            last=first.end.astimezone(first.tz).isoformat(),
            tz=first.tz.key,
            sources=sources,
        )
    )
    if len(results) == 1:
        result = results[0][1]
        table = Table(box=None)
        table.add_column(messages.t("history.cli.bucket", lang))
        table.add_column(messages.t("history.cli.alerts", lang), justify="right")
        table.add_column(messages.t("history.cli.hours", lang), justify="right")
        for bucket in result.buckets:
            table.add_row(bucket.start.isoformat(), str(bucket.alerts), _hours(bucket.ms))
        table.add_row(messages.t("history.cli.total", lang), str(result.alerts), _hours(result.ms))
        console.print(table)
    table = Table(box=None)
    table.add_column(messages.t("history.cli.region", lang))
    table.add_column(messages.t("history.cli.alerts", lang), justify="right")
    table.add_column(messages.t("history.cli.hours", lang), justify="right")
    table.add_column(messages.t("history.cli.trend", lang, group=first.group.value))
    for name, result in results:
        table.add_row(
            f"{result.query.region_id} {name}",
            str(result.alerts),
            _hours(result.ms),
            sparkline([b.ms for b in result.buckets]),
        )
    console.print(table)


# -- export --------------------------------------------------------------------------------------------------------


@main.command("export")
@database_option
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write (default: standard output).",
)
@click.option("--region", default=None, help="Only alerts of this region and (unless --no-descendants) below it.")
@click.option("--descendants/--no-descendants", default=True, show_default=True)
@click.option(
    "--from", "start", default=None, help="Alerts that started at or after (YYYY-MM-DD in --tz, or ISO 8601)."
)
@click.option("--to", "end", default=None, help="Alerts that started before (exclusive).")
@click.option("--tz", default=DEFAULT_TZ, show_default=True, help="Time zone of dates given without one.")
@click.option("--source", default="all", show_default=True, help="Comma-separated sources, or all.")
@click.option("--kind", default="all", show_default=True, help="Comma-separated alert kinds, or all.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress on stderr.")
@lang_option
def export_command(
    database_url: str | None,
    fmt: str,
    output: Path | None,
    region: str | None,
    descendants: bool,
    start: str | None,
    end: str | None,
    tz: str,
    source: str,
    kind: str,
    progress: bool,
    lang: str,
) -> None:
    """Export the history (actual alerts, one row per alert and region) as CSV, GeoJSON or Parquet."""
    console = _err()

    async def go(sink: BinaryIO) -> int:
        async with opened(settings_from(database_url=database_url)) as (store, service):
            history = History(store, service.registry)
            zone_info = zone(tz)
            where = history.history_filter(
                region,
                descendants=descendants,
                start=parse_bound(start, zone_info, "from") if start else None,
                end=parse_bound(end, zone_info, "to") if end else None,
                sources=parse_choices(source, Source, "source"),
                kinds=parse_choices(kind, Kind, "kind"),
            )
            written = [0]
            with _progress(console, progress and console.is_terminal) as bar:
                task = bar.add_task(messages.t("history.cli.exporting", lang), total=None)

                def count(rows: int) -> None:
                    written[0] += rows
                    bar.update(task, completed=written[0])

                async for chunk in export(history, where, Format(fmt), on_rows=count):
                    sink.write(chunk)
            return written[0]

    if output is None:
        rows = run(go(sys.stdout.buffer))
        sys.stdout.buffer.flush()
        return
    try:
        with _written_beside(output, binary=True) as handle:
            rows = run(go(handle))
    except OSError as exc:
        raise click.FileError(str(output), hint=exc.strerror or str(exc)) from None
    click.echo(messages.t("history.cli.exported", lang, rows=rows, path=str(output)), err=True)


@contextlib.contextmanager
def _written_beside(target: Path, *, binary: bool = False) -> Iterator[Any]:
    """A new file of its own in ``target``'s folder, moved over ``target`` when the block ends without error and
    removed otherwise: a refused or failed command leaves no empty or half-written file, an earlier file of that
    name stays as it was, and two commands writing the same name do not meet. The file gets the permissions the
    earlier one had, or else the usual ones (the umask's)."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(fd, stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask())
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- replay --------------------------------------------------------------------------------------------------------


def _utc(text: str, field: str) -> datetime:
    try:
        return parse_bound(text, zone("UTC"), field)
    except SirenaError as exc:
        fail(exc)


@main.command()
@database_option
@click.option("--from", "start", default=None, help="Start of the period (ISO 8601; no offset means UTC).")
@click.option("--to", "end", default=None, help="End of the period (exclusive).")
@click.option("--speed", type=Finite(min=0.001), default=60.0, show_default=True, help="Times faster than real.")
@click.option("--region", default=None, help="Only alerts of this region and below it.")
@click.option("--source", default="official", show_default=True, help="Comma-separated sources to replay.")
@click.option("--end-leftovers", is_flag=True, help="Only end the alerts an interrupted replay left active.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
@lang_option
def replay(
    database_url: str | None,
    start: str | None,
    end: str | None,
    speed: float,
    region: str | None,
    source: str,
    end_leftovers: bool,
    progress: bool,
    lang: str,
) -> None:
    """Re-issue a period of history as EXERCISE alerts through every channel, at --speed; Ctrl-C stops the
    replay and ends every alert it issued. Real alerts are never touched."""
    if end_leftovers:

        async def clean() -> int:
            async with opened(settings_from(database_url=database_url)) as (_, service):
                return await end_replay_leftovers(service)

        click.echo(messages.t("history.cli.leftovers", lang, count=run(clean())))
        return
    if start is None or end is None:
        raise click.UsageError("give --from and --to (or --end-leftovers)")
    first, last = _utc(start, "from"), _utc(end, "to")
    console = _err()
    state: dict[str, Replay] = {}

    async def go() -> ReplayStatus:
        async with opened(settings_from(database_url=database_url)) as (store, service):
            history = History(store, service.registry)
            sources = parse_choices(source, Source, "source") or frozenset(s.value for s in Source)
            items = await history.replay_plan(first, last, sources=sources, region_id=region)
            if not items:
                raise ValidationFailed(
                    "history.error.nothing_to_replay",
                    field="from",
                    sources=",".join(sorted(sources)),
                    start=format_time(first),
                    end=format_time(last),
                )
            click.echo(
                messages.t(
                    "history.cli.replay_plan",
                    lang,
                    count=len(items),
                    start=format_time(first),
                    end=format_time(last),
                    speed=f"{speed:g}",
                ),
                err=True,
            )
            engine = Replay(service, items, start=first, end=last, speed=speed)
            state["replay"] = engine
            span = max((last - first).total_seconds(), 1.0)
            with _progress(console, progress and console.is_terminal, counts=False) as bar:
                task = bar.add_task(messages.t("history.cli.replaying", lang), total=span)

                async def tick() -> None:
                    while True:
                        moment = engine.position()
                        bar.update(
                            task,
                            completed=(moment - engine.status.start_ms) / 1000,
                            description=f"{messages.t('history.cli.replaying', lang)} "
                            f"{datetime.fromtimestamp(moment / 1000, UTC):%Y-%m-%d %H:%M} UTC "
                            f"({engine.status.active} active)",
                        )
                        await asyncio.sleep(0.25)

                ticker = asyncio.create_task(tick())
                try:
                    return await engine.run()
                finally:
                    ticker.cancel()

    try:
        status = run(go())
    except KeyboardInterrupt:
        engine = state.get("replay")
        if engine is not None:
            position = datetime.fromtimestamp(engine.status.position_ms / 1000, UTC)
            click.echo(
                messages.t(
                    "history.cli.replay_stopped",
                    lang,
                    position=format_time(position),
                    issued=engine.status.issued,
                    ended=engine.status.ended,
                ),
                err=True,
            )
        sys.exit(130)
    click.echo(
        messages.t("history.cli.replay_done", lang, issued=status.issued, ended=status.ended, failed=status.failed)
    )
