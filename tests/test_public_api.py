"""The public API is what ``__all__`` says, and every module imports cleanly."""

from __future__ import annotations

import importlib
import pkgutil

import sirena


def test_every_module_imports_without_side_effects() -> None:
    for module in pkgutil.walk_packages(sirena.__path__, "sirena."):
        if module.name == "sirena.__main__":
            continue
        importlib.import_module(module.name)


def test_exported_members() -> None:
    import sirena.domain
    import sirena.store
    import sirena.stream

    assert set(sirena.domain.__all__) >= {"Alert", "AlertDraft", "issue", "update", "end", "cancel", "derive"}
    assert set(sirena.store.__all__) >= {"Store", "SQLiteStore", "open_store"}
    assert set(sirena.stream.__all__) == {"Client", "EventFilter", "Hub", "HubStats"}
    for module in (sirena.domain, sirena.store, sirena.stream):
        for name in module.__all__:
            assert hasattr(module, name), name
