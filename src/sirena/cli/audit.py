"""`sirena audit verify | list`: the tamper-evident audit log."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click

from sirena.auth import audit as audit_log
from sirena.cli.core import SEQ, Int64, database_option, main, run, settings_from
from sirena.store import Store, open_store


@asynccontextmanager
async def store_at(database_url: str | None) -> AsyncIterator[Store]:
    """The store alone (no region set needed to read the log)."""
    settings = settings_from(database_url=database_url)
    store = open_store(settings.database_url, postgis=settings.postgis)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@main.group()
def audit() -> None:
    """Check and read the audit log."""


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("expected SEQ:HASH as printed by `sirena audit verify`", param_hint="--anchor")
    return int(seq), digest


@audit.command("verify")
@database_option
@click.option("--anchor", default=None, help="SEQ:HASH printed by an earlier verify; fails if the log was rewritten.")
def audit_verify(database_url: str | None, anchor: str | None) -> None:
    """Check the hash chain. Exits 0 and prints the head (SEQ:HASH, worth keeping elsewhere) when intact;
    exits 1 naming the first entry that was edited, deleted or moved."""
    expected = _anchor(anchor)

    async def go() -> audit_log.Verdict:
        async with store_at(database_url) as store:
            return await audit_log.verify(store, expected)

    verdict = run(go())
    if not verdict.ok:
        click.echo(f"sirena: {verdict.explain()}", err=True)
        sys.exit(1)
    click.echo(verdict.explain())


@audit.command("list")
@database_option
@click.option("--after", type=SEQ, default=0, show_default=True, help="Entries after this sequence number.")
@click.option("--limit", type=Int64(1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_list(database_url: str | None, after: int, limit: int, as_json: bool) -> None:
    """Print audit entries in order."""

    async def go() -> None:
        async with store_at(database_url) as store:
            for entry in await audit_log.entries(store, after=after, limit=limit):
                if as_json:
                    click.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
                else:
                    click.echo(f"{entry.seq}\t{entry.at}\t{entry.actor}\t{entry.action}\t{entry.target or '-'}")

    run(go())
