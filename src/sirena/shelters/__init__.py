"""Shelters: import them from GeoJSON or CSV, find the nearest by great-circle distance.

* :func:`read` reads a file into an :class:`ImportReport` (shelters, and every bad row with its line).
* :class:`ShelterDirectory` stores imports (all or nothing, or the valid rows on request) and answers
  ``await directory.nearest(lat, lon, limit)`` from memory, or with PostGIS on a PostgreSQL store.

See ``docs/targeting.md``.
"""

from sirena.shelters.directory import ShelterDirectory, ShelterImportRefused, Snapshot
from sirena.shelters.importer import FORMATS, default_source, read
from sirena.shelters.model import Accessibility, Shelter
from sirena.shelters.report import ImportReport, RowProblem, Severity

__all__ = [
    "FORMATS",
    "Accessibility",
    "ImportReport",
    "RowProblem",
    "Severity",
    "Shelter",
    "ShelterDirectory",
    "ShelterImportRefused",
    "Snapshot",
    "default_source",
    "read",
]
