"""How Sirena writes its alerts in CAP: identifiers, parameter and geocode names, and the value mappings.

Each version of an alert is one CAP message, identified as ``urn:sirena:<sender>:<alert id>:<version>``. The names
here are shared by the writer (:mod:`sirena.cap.outbound`) and the reader (:mod:`sirena.cap.inbound`), and are
documented in ``docs/cap.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from sirena.domain.model import AlertState, Kind, Level, Status
from sirena.errors import ConfigurationError

URN_PREFIX: Final = "urn:sirena:"

#: ``eventCode`` naming the alert's kind (``air_raid`` …).
EVENT_CODE_KIND: Final = "sirena:kind"

#: ``parameter`` names. ``threat`` repeats, one per threat, as ``type:level``.
PARAM_LEVEL: Final = "sirena:level"
PARAM_THREAT: Final = "sirena:threat"
PARAM_TIME_TO_SHELTER: Final = "sirena:time_to_shelter_s"
PARAM_TARGET: Final = "sirena:target"
PARAM_ISSUER: Final = "sirena:issuer"
PARAM_SOURCE: Final = "sirena:source"
PARAM_STARTED_AT: Final = "sirena:started_at"
PARAM_UPDATED_AT: Final = "sirena:updated_at"
PARAM_ENDED_AT: Final = "sirena:ended_at"
PARAM_EXPIRES_AT: Final = "sirena:expires_at"

#: ``sirena:target`` values: what the alert was issued for.
TARGET_REGIONS: Final = "regions"
TARGET_CIRCLE: Final = "circle"
TARGET_POLYGON: Final = "Polygon"
TARGET_MULTIPOLYGON: Final = "MultiPolygon"

#: ``geocode`` name of a Sirena region id; region codes (``katottg``, ``iso3166_2`` …) are written upper-case
#: with ``-`` for ``_`` (``KATOTTG``, ``ISO3166-2``).
GEOCODE_REGION: Final = "SIRENA"
#: Geocode names read as Sirena region ids (compared by :func:`code_key`).
REGION_ID_GEOCODES: Final = frozenset({"sirena", "sirenaregion", "region", "regionid", "uid", "locationuid"})
#: Region codes never written as geocodes (not codes of an area).
SKIPPED_CODES: Final = frozenset({"osmrelation"})

STATUS_TO_CAP: Final = MappingProxyType({Status.ACTUAL: "Actual", Status.EXERCISE: "Exercise", Status.TEST: "Test"})
CAP_TO_STATUS: Final = MappingProxyType({cap: status for status, cap in STATUS_TO_CAP.items()})

CATEGORY: Final = MappingProxyType(
    {
        Kind.AIR_RAID: "Security",
        Kind.ARTILLERY_SHELLING: "Security",
        Kind.URBAN_FIGHTS: "Security",
        Kind.CHEMICAL: "CBRNE",
        Kind.NUCLEAR: "CBRNE",
    }
)

_SENDER: Final = re.compile(r"[^\s,<&]+")


@dataclass(frozen=True, slots=True)
class Urgency:
    """``responseType``, ``urgency``, ``severity`` and ``certainty`` of one alert version."""

    response_type: str
    urgency: str
    severity: str
    certainty: str


def urgency_of(state: AlertState, level: Level) -> Urgency:
    """Active red: shelter now; active yellow: prepare; ended: all clear; cancelled: no action, unlikely."""
    severity = "Extreme" if level is Level.RED else "Severe"
    if state is AlertState.ENDED:
        return Urgency("AllClear", "Past", severity, "Observed")
    if state is AlertState.CANCELLED:
        return Urgency("None", "Past", severity, "Unlikely")
    if level is Level.RED:
        return Urgency("Shelter", "Immediate", severity, "Observed")
    return Urgency("Prepare", "Expected", severity, "Likely")


def identifier(sender: str, alert_id: str, version: int) -> str:
    """``urn:sirena:<sender>:<alert id>:<version>``: one CAP message per alert version."""
    return f"{URN_PREFIX}{sender}:{alert_id}:{version}"


def incident(sender: str, alert_id: str) -> str:
    """The ``incidents`` entry grouping every version of one alert (also the Atom entry id)."""
    return f"{URN_PREFIX}{sender}:{alert_id}"


def parse_identifier(sender: str, text: str) -> tuple[str, int] | None:
    """(alert id, version) of an identifier written by :func:`identifier` for ``sender``; otherwise ``None``."""
    prefix = f"{URN_PREFIX}{sender}:"
    if not text.startswith(prefix):
        return None
    alert_id, sep, version = text[len(prefix) :].rpartition(":")
    if not sep or not alert_id or ":" in alert_id or not version.isdigit():
        return None
    return alert_id, int(version)


def code_key(name: str) -> str:
    """A geocode or region-code name compared loosely: ``ISO3166-2``, ``iso3166_2`` → ``iso31662``."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def geocode_name(code: str) -> str:
    """How a region code is named in a geocode: ``iso3166_2`` → ``ISO3166-2``."""
    return code.upper().replace("_", "-")


def check_sender(sender: str) -> str:
    """A CAP sender must be non-empty and contain no whitespace, comma, ``<`` or ``&``."""
    if not _SENDER.fullmatch(sender):
        raise ConfigurationError(
            "error.bad_setting", name="SIRENA_CAP_SENDER", value=sender, type="text without spaces, commas, < or &"
        )
    return sender
