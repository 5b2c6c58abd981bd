"""`sirena token …`: API tokens."""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import click

from sirena import auth, messages
from sirena.auth.principal import now
from sirena.auth.tokens import listing, revoke
from sirena.cli.core import TEXT, Int64, database_option, main, opened, run, settings_from
from sirena.protocol.alert_json import parse_time

DURATION = re.compile(r"^(\d+)([smhdw]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_LIFETIME_S = 100 * 366 * 86_400


def parse_duration(value: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` or plain seconds."""
    found = DURATION.fullmatch(value.strip())
    if not found or int(found.group(1)) <= 0:
        raise click.BadParameter(f"{value!r}: use a number with s, m, h, d or w (e.g. 30d)", param_hint="--expires-in")
    seconds = int(found.group(1)) * UNITS[found.group(2)]
    if seconds > MAX_LIFETIME_S:
        raise click.BadParameter(
            f"{value!r}: at most 100 years (leave it out: until revoked)", param_hint="--expires-in"
        )
    return timedelta(seconds=seconds)


# -- tokens ------------------------------------------------------------------------------------------------


@main.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@database_option
@click.option("--name", type=TEXT, required=True, help="What the token is for (shown in listings and audit).")
@click.option(
    "--user", "user", type=TEXT, default=None, help="The user it acts as (default: the built-in administrator)."
)
@click.option("--expires-in", "expires_in", default=None, help="Lifetime, e.g. 12h, 30d (default: until revoked).")
def token_create(database_url: str | None, name: str, user: str | None, expires_in: str | None) -> None:
    """Create a token and print it alone on stdout. Only its hash is stored: keep it now.

    Without --user the token belongs to the built-in administrator, which may act everywhere."""
    if not name.strip():
        raise click.BadParameter("say what the token is for", param_hint="--name")
    expires_at = now() + parse_duration(expires_in) if expires_in else None

    async def go() -> str:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            value, _id = await auth.create_for(store, name, user=user, expires_at=expires_at)
            return value

    click.echo(run(go()))


@token.command("list")
@database_option
def token_list(database_url: str | None) -> None:
    """List tokens (never their values): id, name, user, created, state."""

    async def go() -> None:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            at = now()
            for token_id, name, created, revoked, expires, user in await listing(store):
                if revoked:
                    state = f"revoked {revoked}"
                elif expires and (parse_time(expires) or at) <= at:
                    state = f"expired {expires}"
                else:
                    state = f"active until {expires}" if expires else "active"
                click.echo(f"{token_id}\t{name}\t{user}\t{created}\t{state}")

    run(go())


@token.command("revoke")
@database_option
@click.argument("token_id", type=Int64(1))
def token_revoke(database_url: str | None, token_id: int) -> None:
    """Revoke the token with this id (see `sirena token list`); it stops working at once."""

    async def go() -> bool:
        async with opened(settings_from(database_url=database_url)) as (store, _):
            return await revoke(store, token_id)

    if not run(go()):
        click.echo(f"sirena: {messages.t('token.not_found', token_id=token_id)}", err=True)
        sys.exit(1)
    click.echo(messages.t("token.revoked", token_id=token_id))
