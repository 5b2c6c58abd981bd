"""The shipped Ukrainian air-raid record (official channel and volunteer sets), read from package data."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

from sirena.regions import RegionRegistry

DATASETS = ("official_data_uk", "official_data_en", "volunteer_data_uk", "volunteer_data_en")


@dataclass(frozen=True, slots=True)
class HistoricAlert:
    region_id: str
    started_at: datetime
    finished_at: datetime
    source: str


def rows(dataset: str) -> Iterator[dict[str, str]]:
    """The raw CSV rows of one shipped dataset."""
    if dataset not in DATASETS:
        raise ValueError(dataset)
    blob = (resources.files("sirena") / "data" / "history" / "ua" / f"{dataset}.csv.gz").read_bytes()
    with io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(blob)), encoding="utf-8", newline="") as text:
        yield from csv.DictReader(text)


def resolve_official(registry: RegionRegistry, row: dict[str, str]) -> str | None:
    """The region id of an official-channel row (oblast, raion or hromada level), or ``None``."""
    oblast = registry.find(row["oblast"], within=registry.root_id)
    if oblast is None:
        return None
    if row["level"] == "oblast":
        return oblast.id
    raion = registry.find(row["raion"], within=oblast.id)
    if raion is None:
        return None
    if row["level"] == "raion":
        return raion.id
    hromada = registry.find(row["hromada"], within=raion.id)
    return hromada.id if hromada else None


def official_day(registry: RegionRegistry, day: date) -> list[HistoricAlert]:
    """Every official alert that started on ``day`` (UTC) and could be matched to a region."""
    prefix = day.isoformat()
    found: list[HistoricAlert] = []
    for row in rows("official_data_uk"):
        if not row["started_at"].startswith(prefix):
            continue
        region_id = resolve_official(registry, row)
        if region_id is None:
            continue
        found.append(
            HistoricAlert(
                region_id,
                datetime.fromisoformat(row["started_at"]),
                datetime.fromisoformat(row["finished_at"]),
                "official",
            )
        )
    return sorted(found, key=lambda a: a.started_at)
