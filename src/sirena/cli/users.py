"""`sirena user add | list | disable`: accounts with a role, a region scope and channel grants."""

from __future__ import annotations

import sys

import click

from sirena import messages
from sirena.auth import accounts
from sirena.auth.principal import Role
from sirena.auth.storage import sql_store
from sirena.cli.core import database_option, main, opened, run, settings_from
from sirena.protocol.alert_json import format_time
from sirena.store import advisories as sql


@main.group()
def user() -> None:
    """Add, list and disable user accounts."""


@user.command("add")
@database_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Region id whose subtree the user may act on; repeat for several (`UA`: the whole country).",
)
@click.option(
    "--channel", "channels", multiple=True, help="Channel id the user may publish advisories to; repeat for several."
)
@click.option("--password-stdin", is_flag=True, help="Read a password (for the browser console) from stdin.")
def user_add(
    database_url: str | None,
    name: str,
    role: str,
    scopes: tuple[str, ...],
    channels: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Add a user. Without --scope the user may act on no region (an embassy issuer, say, holds only channels).

    Give the user a token with `sirena token create --name N --user NAME`, or a password for the console."""
    password = None
    if password_stdin:
        line = sys.stdin.buffer.readline()
        try:
            password = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise click.BadParameter("the password on stdin is not UTF-8 text", param_hint="--password-stdin") from None

    async def go() -> list[str]:
        async with opened(settings_from(database_url=database_url)) as (store, service):
            await accounts.add_user(
                store, service.registry, name, role, scopes=scopes, channels=channels, password=password
            )
            found = await sql_store(store).read(lambda conn: [c for c in channels if sql.get_channel(conn, c)])
            return [c for c in channels if c not in found]

    missing = run(go())
    click.echo(messages.t("user.added", name=name, role=role))
    for channel in missing:  # granted all the same: the channel may be created next
        click.echo(messages.t("user.channel_missing", channel=channel), err=True)


@user.command("list")
@database_option
def user_list(database_url: str | None) -> None:
    """List users: name, role, scope, channels, state."""

    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            for found in await accounts.list_users(store):
                scope = "*" if found.builtin else ",".join(found.scopes) or "-"
                channels = ",".join(found.channels) or "-"
                if found.disabled_at:
                    state = f"disabled {format_time(found.disabled_at)}"
                else:
                    state = "built-in" if found.builtin else "active"
                click.echo(f"{found.name}\t{found.role}\t{scope}\t{channels}\t{state}")

    run(go())


@user.command("disable")
@database_option
@click.argument("name")
def user_disable(database_url: str | None, name: str) -> None:
    """Disable a user: their tokens and sessions stop working at once."""

    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            await accounts.disable_user(store, name)

    run(go())
    click.echo(messages.t("user.disabled", name=name))
