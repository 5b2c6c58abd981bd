"""Storage: the Store protocol and its backends, chosen by URL."""

from sirena.errors import ConfigurationError
from sirena.store.base import AlertQuery, IdempotencyKey, Snapshot, Store, TokenRecord, WriteResult
from sirena.store.sqlite import SQLiteStore


def open_store(url: str, *, postgis: str = "auto") -> Store:
    """The store for a ``SIRENA_DATABASE_URL`` (not yet opened): ``sqlite:///…`` or ``postgresql://…``;
    ``postgis`` is ``SIRENA_POSTGIS`` (PostgreSQL only, see :mod:`sirena.store.postgis`)."""
    from sirena.store.postgis import check_mode

    check_mode(postgis)
    if url.startswith("sqlite:") or "://" not in url:
        return SQLiteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from sirena.store.postgres import PostgresStore

        return PostgresStore(url, postgis=postgis)
    raise ConfigurationError("error.bad_database_url", url=url)


__all__ = [
    "AlertQuery",
    "IdempotencyKey",
    "SQLiteStore",
    "Snapshot",
    "Store",
    "TokenRecord",
    "WriteResult",
    "open_store",
]
