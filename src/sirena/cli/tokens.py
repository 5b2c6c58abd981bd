"""`sirena token …`: API tokens."""

from __future__ import annotations

import sys

import click

from sirena import auth
from sirena.cli.core import database_option, main, opened, run, settings_from
from sirena.protocol.alert_json import format_time

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
        async with opened(settings_from(database_url=database_url)) as (store, _):
            value, _record = await auth.create(store, name)
            return value

    click.echo(run(go()))


@token.command("list")
@database_option
def token_list(database_url: str | None) -> None:
    """List tokens (never their values)."""

    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (store, _):
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
        async with opened(settings_from(database_url=database_url)) as (store, _):
            return await store.revoke_token(token_id)

    if not run(go()):
        click.echo(f"sirena: no active token with id {token_id}", err=True)
        sys.exit(1)
