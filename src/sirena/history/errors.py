"""Errors of the history area that no other area raises."""

from __future__ import annotations

from sirena.errors import SirenaError

__all__ = ["ExtraMissing"]


class ExtraMissing(SirenaError):
    """A feature needs an optional dependency that is not installed (the detail names the extra to install)."""

    status = 501
    slug = "extra-missing"
    key = "history.error.extra_missing"
