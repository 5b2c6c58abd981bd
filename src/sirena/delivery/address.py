"""Outgoing URLs (webhook receivers, push services) checked before Sirena sends anything to them.

Only ``http`` and ``https`` are allowed, and, unless the operator allows it, no host that resolves to a private,
loopback, link-local, multicast, reserved or unspecified address: a public API must not become a way to probe the
operator's own network. The check runs when a subscription is made and again before every attempt, so a name
that later resolves elsewhere is caught too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from sirena.delivery.errors import UnsafeTarget

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def parse(url: str, field: str = "url") -> tuple[str, int]:
    """The host and port of an ``http``/``https`` URL; :class:`UnsafeTarget` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("error.webhook_url_invalid", field=field, value=url) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        raise UnsafeTarget("error.webhook_url_invalid", field=field, value=url)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    found: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        found.append(ipaddress.ip_address(raw))
    return found


async def check(url: str, *, allow_private: bool, field: str = "url", must_resolve: bool = True) -> None:
    """Refuse ``url`` unless it is http(s) and (when ``allow_private`` is off) every address it resolves to is
    public. ``must_resolve`` refuses a name that does not resolve at all."""
    host, port = parse(url, field)
    if allow_private:
        return
    addresses = await resolve(host, port)
    if not addresses:
        if must_resolve:
            raise UnsafeTarget("error.webhook_unresolvable", field=field, value=url, host=host)
        return
    for address in addresses:
        if not is_public(address):
            raise UnsafeTarget("error.webhook_private_address", field=field, value=url, address=str(address))


async def pick(url: str, *, allow_private: bool, field: str = "url") -> IPAddress:
    """The address to connect to for ``url``: the first one its host resolves to, after the same check as
    :func:`check` (so the connection goes where the check looked, even if the name changes in between)."""
    host, port = parse(url, field)
    addresses = await resolve(host, port)
    if not addresses:
        raise UnsafeTarget("error.webhook_unresolvable", field=field, value=url, host=host)
    if not allow_private:
        for candidate in addresses:
            if not is_public(candidate):
                raise UnsafeTarget("error.webhook_private_address", field=field, value=url, address=str(candidate))
    return addresses[0]
