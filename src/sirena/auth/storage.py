"""The storage accounts, approvals and the audit log need: a store that runs SQL functions in its writer
transaction and on its readers (``SQLiteStore.transaction`` / ``SQLiteStore.read``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from sirena.errors import ConfigurationError
from sirena.store.sql import Connection

T = TypeVar("T")


@runtime_checkable
class Transactional(Protocol):
    async def transaction(self, fn: Callable[[Connection], T]) -> T: ...
    async def read(self, fn: Callable[[Connection], T]) -> T: ...


def sql_store(store: object) -> Transactional:
    """``store`` as a :class:`Transactional`, or a configuration error naming what is missing."""
    if isinstance(store, Transactional):
        return store
    raise ConfigurationError("error.auth_store_unsupported", store=type(store).__name__)
