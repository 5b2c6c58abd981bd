"""The storage CAP exchange needs: a store that runs SQL functions (``sirena.store.cap``) in its writer
transaction and on its readers, as ``SQLiteStore.transaction`` and ``SQLiteStore.read`` do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from sirena.errors import ConfigurationError
from sirena.store.sql import Connection

T = TypeVar("T")


@runtime_checkable
class SqlStore(Protocol):
    async def transaction(self, fn: Callable[[Connection], T]) -> T: ...
    async def read(self, fn: Callable[[Connection], T]) -> T: ...


def sql(store: object) -> SqlStore:
    """``store`` as a :class:`SqlStore`, or a configuration error naming the backend that cannot do it."""
    if isinstance(store, SqlStore):
        return store
    raise ConfigurationError("cap.error.store_unsupported", store=type(store).__name__)
