"""Shared request helpers: the runtime, the caller's token, list parameters."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

from fastapi import Request

from sirena import auth
from sirena.errors import UnknownRegion, ValidationFailed
from sirena.runtime import Runtime
from sirena.store.base import TokenRecord

E = TypeVar("E", bound=StrEnum)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def require_token(request: Request) -> TokenRecord:
    """The caller's live token (``Authorization: Bearer …``), or 401."""
    return await auth.authenticate(runtime(request).store, auth.bearer(request.headers.get("authorization")))


def split(value: str | None) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]``; ``None`` or blank → ``None``."""
    if value is None or not value.strip():
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def enums(kind: type[E], values: Iterable[str], field: str) -> frozenset[E]:
    out = set()
    for value in values:
        try:
            out.add(kind(value))
        except ValueError:
            raise ValidationFailed(
                "error.bad_choice", field=field, value=value, choices=[k.value for k in kind]
            ) from None
    return frozenset(out)


def check_regions(rt: Runtime, ids: Iterable[str], field: str) -> list[str]:
    ids = list(ids)
    for region_id in ids:
        if region_id not in rt.registry:
            raise UnknownRegion("error.unknown_region", field=field, value=region_id)
    return ids
