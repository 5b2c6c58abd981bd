"""CAP names shared by ingest and emit: namespaces, element order and the closed value lists.

The value lists are those of CAP 1.2 (OASIS, 2010); :func:`allowed` narrows or widens them for CAP 1.1 and 1.0,
which lack some values (``AllClear``, ``Avoid``, ``CBRNE`` …) or still had others (``Very Likely``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

CAP_1_0: Final = "1.0"
CAP_1_1: Final = "1.1"
CAP_1_2: Final = "1.2"

NS_CAP_1_0: Final = "http://www.incident.com/cap/1.0"
NS_CAP_1_1: Final = "urn:oasis:names:tc:emergency:cap:1.1"
NS_CAP_1_2: Final = "urn:oasis:names:tc:emergency:cap:1.2"
NS_DSIG: Final = "http://www.w3.org/2000/09/xmldsig#"
NS_ATOM: Final = "http://www.w3.org/2005/Atom"

#: (namespace, version) of every CAP version Sirena reads.
NAMESPACES: Final[tuple[tuple[str, str], ...]] = (
    (NS_CAP_1_0, CAP_1_0),
    (NS_CAP_1_1, CAP_1_1),
    (NS_CAP_1_2, CAP_1_2),
)

MIME_CAP_XML: Final = "application/cap+xml"

STATUS: Final = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPE: Final = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPE: Final = ("Public", "Restricted", "Private")
CATEGORY: Final = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPE: Final = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCY: Final = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY: Final = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY: Final = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

#: Message types that name earlier messages and so must carry ``references``.
REFERENCING_MSG_TYPES: Final = ("Update", "Cancel", "Ack", "Error")

#: Element order inside each CAP 1.2 block (the schema is a sequence; emitters write in this order).
ALERT_ELEMENTS: Final = (
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "source",
    "scope",
    "restriction",
    "addresses",
    "code",
    "note",
    "references",
    "incidents",
    "info",
)
INFO_ELEMENTS: Final = (
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
    "audience",
    "eventCode",
    "effective",
    "onset",
    "expires",
    "senderName",
    "headline",
    "description",
    "instruction",
    "web",
    "contact",
    "parameter",
    "resource",
    "area",
)
RESOURCE_ELEMENTS: Final = ("resourceDesc", "mimeType", "size", "uri", "derefUri", "digest")
AREA_ELEMENTS: Final = ("areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling")

#: Elements that may occur more than once in their parent (CAP-JSON writes these as arrays).
REPEATABLE_ELEMENTS: Final = frozenset(
    {
        "code",
        "info",
        "category",
        "responseType",
        "eventCode",
        "parameter",
        "resource",
        "area",
        "polygon",
        "circle",
        "geocode",
    }
)

#: Required elements of each block, in CAP 1.2 (checked by hand where no schema ran, e.g. CAP-JSON).
REQUIRED_ALERT: Final = ("identifier", "sender", "sent", "status", "msgType", "scope")
REQUIRED_INFO: Final = ("category", "event", "urgency", "severity", "certainty")
REQUIRED_RESOURCE: Final = ("resourceDesc", "mimeType")
REQUIRED_AREA: Final = ("areaDesc",)

#: The default of ``info/language`` when the element is absent.
DEFAULT_LANGUAGE: Final = "en-US"

_VALUES: Final = MappingProxyType(
    {
        "status": STATUS,
        "msgType": MSG_TYPE,
        "scope": SCOPE,
        "category": CATEGORY,
        "responseType": RESPONSE_TYPE,
        "urgency": URGENCY,
        "severity": SEVERITY,
        "certainty": CERTAINTY,
    }
)
_NOT_YET: Final = MappingProxyType(
    {
        (CAP_1_0, "status"): frozenset({"Draft"}),
        (CAP_1_0, "category"): frozenset({"CBRNE"}),
        (CAP_1_0, "responseType"): frozenset(RESPONSE_TYPE),
        (CAP_1_1, "responseType"): frozenset({"Avoid", "AllClear"}),
    }
)
_NO_LONGER: Final = MappingProxyType(
    {
        (CAP_1_0, "certainty"): ("Very Likely",),
        (CAP_1_1, "certainty"): ("Very Likely",),
    }
)

#: The element names that have a closed value list.
ENUMERATED: Final = tuple(_VALUES)


def version_of(namespace: str | None) -> str | None:
    """The CAP version whose namespace is ``namespace`` (``None`` for any other namespace)."""
    for ns, version in NAMESPACES:
        if ns == namespace:
            return version
    return None


def namespace_of(version: str) -> str:
    """The namespace of CAP ``version`` (``"1.0"``, ``"1.1"`` or ``"1.2"``)."""
    for ns, known in NAMESPACES:
        if known == version:
            return ns
    raise ValueError(f"unknown CAP version {version!r}")


def allowed(element: str, version: str | None = CAP_1_2) -> tuple[str, ...]:
    """The values CAP ``version`` allows for ``element`` (CAP 1.2's when the version is not known)."""
    values = _VALUES[element]
    version = version or CAP_1_2
    missing = _NOT_YET.get((version, element), frozenset())
    return tuple(v for v in values if v not in missing) + _NO_LONGER.get((version, element), ())
