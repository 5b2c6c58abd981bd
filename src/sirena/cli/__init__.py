"""``sirena``: the command line, a thin adapter over the library.

Every command takes ``--database-url``; errors print one line on stderr and exit non-zero. Each area of
commands lives in its own module and registers itself on :data:`main` when imported here.
"""

from sirena.cli import admin, alerts, audit, cap, history, shelters, tokens, users
from sirena.cli.core import main

__all__ = ["admin", "alerts", "audit", "cap", "history", "main", "shelters", "tokens", "users"]
