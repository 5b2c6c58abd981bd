"""What the two Ukrainian alert APIs need to know about each region, computed once per region registry.

Sirena's region ids are the alerts.in.ua location UIDs and the ukrainealarm.com region ids (``31`` is Kyiv
city), so no id mapping is needed; this module adds what those APIs say about a location that the registry does
not: its alerts.in.ua ``location_type``, its ukrainealarm ``regionType``, the oblast and raion it lies in, its
place in the IoT strings, and a small integer slot used to build stable integer record ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sirena.regions import RegionRegistry

OBLAST_ORDER: tuple[str, ...] = (
    "29",  # Автономна Республіка Крим
    "8",  # Волинська область
    "4",  # Вінницька область
    "9",  # Дніпропетровська область
    "28",  # Донецька область
    "10",  # Житомирська область
    "11",  # Закарпатська область
    "12",  # Запорізька область
    "13",  # Івано-Франківська область
    "31",  # м. Київ
    "14",  # Київська область
    "15",  # Кіровоградська область
    "16",  # Луганська область
    "27",  # Львівська область
    "17",  # Миколаївська область
    "18",  # Одеська область
    "19",  # Полтавська область
    "5",  # Рівненська область
    "30",  # м. Севастополь
    "20",  # Сумська область
    "21",  # Тернопільська область
    "22",  # Харківська область
    "23",  # Херсонська область
    "3",  # Хмельницька область
    "24",  # Черкаська область
    "26",  # Чернівецька область
    "25",  # Чернігівська область
)
"""Location UIDs in the character order of alerts.in.ua ``/v1/iot/active_air_raid_alerts_by_oblast.json``: the
27 oblast-level regions sorted by their Ukrainian names, as the alerts.in.ua documentation lists them."""

IOT_MIN_LENGTH = 1805
"""``/v1/iot/active_air_raid_alerts.json`` has at least this many characters (one per UID from 0)."""

CITY_UIDS = frozenset({"31", "30"})
"""Oblast-level regions that are cities with special status (Kyiv, Sevastopol): alerts.in.ua type ``city``."""

SLOT_LIMIT = 10_000
"""Record ids are ``issued_seq * SLOT_LIMIT + slot``; every slot is below this."""

_LOCATION_TYPES = {"oblast": "oblast", "raion": "raion", "hromada": "hromada"}
_REGION_TYPES = {"oblast": "State", "raion": "District", "hromada": "Community"}


@dataclass(frozen=True, slots=True)
class Location:
    """One region as the compatible APIs describe it."""

    id: str
    title: str
    """Ukrainian name (``location_title``, ``regionName``)."""
    title_en: str
    location_type: str
    """alerts.in.ua: ``oblast``, ``raion``, ``city``, ``hromada`` or ``unknown``."""
    region_type: str
    """ukrainealarm.com: ``State``, ``District``, ``Community`` or ``Null``."""
    oblast_id: str | None
    """The oblast-level region that is or contains this one (None for the root)."""
    raion_id: str | None
    """The raion that is or contains this one (None above raion level)."""
    slot: int


class Locations:
    """Every region of a registry as the compatible APIs see it. Immutable; build once per registry."""

    __slots__ = ("_by_id", "iot_length", "registry")

    def __init__(self, registry: RegionRegistry) -> None:
        self.registry = registry
        numeric = [r.id for r in registry if r.id != registry.root_id]
        by_uid = all(i.isdigit() and 0 < int(i) < SLOT_LIMIT for i in numeric)
        found: dict[str, Location] = {}
        for position, region in enumerate(registry, start=1):
            if region.id == registry.root_id:
                slot = 0
            elif by_uid:
                slot = int(region.id)
            else:
                slot = position % SLOT_LIMIT
            oblast = registry.oblast_of(region.id)
            raion = region.id if region.level == "raion" else None
            if region.level == "hromada" and region.parent_id is not None:
                parent = registry.get(region.parent_id)
                raion = parent.id if parent.level == "raion" else None
            location_type = _LOCATION_TYPES.get(region.level, "unknown")
            if region.level == "oblast" and region.id in CITY_UIDS:
                location_type = "city"
            found[region.id] = Location(
                id=region.id,
                title=region.name("uk"),
                title_en=region.name("en"),
                location_type=location_type,
                region_type=_REGION_TYPES.get(region.level, "Null"),
                oblast_id=oblast,
                raion_id=raion,
                slot=slot,
            )
        self._by_id: Mapping[str, Location] = MappingProxyType(found)
        highest = max((int(i) for i in numeric if i.isdigit()), default=-1)
        self.iot_length = max(IOT_MIN_LENGTH, highest + 1)

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._by_id

    def get(self, region_id: str) -> Location:
        return self._by_id[region_id]

    @property
    def root_id(self) -> str:
        return self.registry.root_id

    def expand(self, region_ids: Iterable[str]) -> list[str]:
        """The ids as the compatible APIs list them: the whole country becomes its oblast-level regions, since
        neither API has a record for the country itself. Order is kept and duplicates dropped."""
        seen: dict[str, None] = {}
        for region_id in region_ids:
            if region_id == self.registry.root_id:
                for child in self.registry.get(region_id).children:
                    seen.setdefault(child, None)
            elif region_id in self._by_id:
                seen.setdefault(region_id, None)
        return list(seen)

    def covering(self, region_id: str) -> tuple[str, ...]:
        """The region itself and its ancestors, nearest first: the regions whose alerts put it under alert."""
        return (region_id, *self.registry.ancestors(region_id))

    def title(self, region_id: str | None) -> str | None:
        return self._by_id[region_id].title if region_id is not None and region_id in self._by_id else None

    def states(self) -> tuple[str, ...]:
        """The oblast-level regions (the root's children), in registry order."""
        return self.registry.get(self.registry.root_id).children
