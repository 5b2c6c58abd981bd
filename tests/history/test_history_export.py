"""Export as CSV, GeoJSON and Parquet, over HTTP and from the command line, with filters."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from history_support import Imported, ms, raw_alerts

from sirena import testing
from sirena.cli import main
from sirena.history.export import COLUMNS
from sirena.regions import RegionRegistry

WINDOW = {"from": "2022-10-01T00:00:00Z", "to": "2022-11-01T00:00:00Z"}
LOW, HIGH = ms("2022-10-01T00:00:00+00:00"), ms("2022-11-01T00:00:00+00:00")


@pytest.fixture
async def api(imported: Imported, tmp_path: Path) -> AsyncIterator[testing.Api]:
    imported.copy(tmp_path, "sirena.db")
    async with testing.api(tmp_path) as value:
        yield value


def _expected(
    raw: dict[str, list[dict[str, str]]], ua: RegionRegistry, regions: set[str]
) -> list[tuple[str, str, int]]:
    return sorted(
        (region, source, started)
        for (source, region, started) in raw_alerts(raw, ua)
        if region in regions and LOW <= started < HIGH
    )


async def test_csv_over_http(api: testing.Api, raw: dict[str, list[dict[str, str]]], ua: RegionRegistry) -> None:
    response = await api.client.get("/api/v1/export", params={"region": "9", **WINDOW})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="sirena-history.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    regions = {"9", *ua.descendants("9")}
    got = sorted((r["region_id"], r["source"], ms(r["started_at"].replace("Z", "+00:00"))) for r in rows)
    assert got == _expected(raw, ua, regions)
    assert {r["oblast_id"] for r in rows} == {"9"}
    assert any(r["level"] == "hromada" for r in rows)
    assert [r["started_at"] for r in rows] == sorted(r["started_at"] for r in rows)
    nikopol = next(r for r in rows if r["level"] == "hromada")
    assert nikopol["region_uk"].startswith("м. Нікополь")
    assert float(nikopol["duration_s"]) > 0
    own = await api.client.get("/api/v1/export", params={"region": "9", "descendants": "false", **WINDOW})
    assert {r["region_id"] for r in csv.DictReader(io.StringIO(own.text))} == {"9"}
    official = await api.client.get("/api/v1/export", params={"region": "9", "source": "volunteer", **WINDOW})
    assert {r["source"] for r in csv.DictReader(io.StringIO(official.text))} == {"volunteer"}


async def test_geojson_over_http(api: testing.Api, raw: dict[str, list[dict[str, str]]], ua: RegionRegistry) -> None:
    response = await api.client.get("/api/v1/export", params={"format": "geojson", "region": "31", **WINDOW})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    document = response.json()
    assert document["type"] == "FeatureCollection"
    assert "OpenStreetMap" in document["attribution"]
    assert len(document["features"]) == len(_expected(raw, ua, {"31"})) > 0
    feature = document["features"][0]
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert feature["properties"]["region_en"] == "Kyiv"
    empty = await api.client.get(
        "/api/v1/export", params={"format": "geojson", "region": "31", "from": "2030-01-01", "to": "2030-01-02"}
    )
    assert empty.json()["features"] == []


async def test_parquet_needs_its_extra(api: testing.Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    response = await api.client.get("/api/v1/export", params={"format": "parquet", "region": "31", **WINDOW})
    assert response.status_code == 501
    assert response.headers["content-type"] == "application/problem+json"
    assert "sirena[parquet]" in response.json()["detail"]


def test_the_export_command(
    imported: Imported, tmp_path: Path, raw: dict[str, list[dict[str, str]]], ua: RegionRegistry
) -> None:
    db = ["--database-url", f"sqlite:///{imported.copy(tmp_path)}"]
    runner = CliRunner()
    out = tmp_path / "kyiv.parquet"
    window = ["--from", WINDOW["from"], "--to", WINDOW["to"]]
    result = runner.invoke(main, ["export", "--format", "parquet", "--region", "31", "-o", str(out), *window, *db])
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # as any new file, not a private temporary one
    table = pq.read_table(out)
    expected = _expected(raw, ua, {"31"})
    assert table.num_rows == len(expected)
    assert table.column_names == list(COLUMNS)
    assert str(table.schema.field("started_at").type) == "timestamp[ms, tz=UTC]"
    starts = sorted(int(t.timestamp() * 1000) for t in table.column("started_at").to_pylist())
    assert starts == sorted(s for _, _, s in expected)
    as_csv = runner.invoke(main, ["export", "--region", "31", "--source", "official", *window, *db])
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.output.strip().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) - 1 == sum(1 for _, source, _ in expected if source == "official")
    geo = runner.invoke(main, ["export", "--format", "geojson", "--region", "14", *window, *db])
    assert geo.exit_code == 0, geo.output
    assert json.loads(geo.output)["type"] == "FeatureCollection"

    # a refused export leaves the file it was to replace as it was, and no file where there was none
    kept = out.read_bytes()
    refused = runner.invoke(main, ["export", "--region", "99999", "-o", str(out), *db])
    assert refused.exit_code == 1 and "unknown region id 99999" in refused.output
    assert out.read_bytes() == kept
    out.chmod(0o640)  # a later export keeps the permissions the file was given
    again = runner.invoke(main, ["export", "--format", "parquet", "--region", "31", "-o", str(out), *window, *db])
    assert again.exit_code == 0 and stat.S_IMODE(out.stat().st_mode) == 0o640
    fresh = tmp_path / "none.csv"
    assert runner.invoke(main, ["export", "--source", "rumours", "-o", str(fresh), *db]).exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in {".csv", ".part", ".parquet"}) == ["kyiv.parquet"]
    nowhere = runner.invoke(main, ["export", "-o", str(tmp_path / "missing" / "x.csv"), *window, *db])
    assert nowhere.exit_code == 1 and isinstance(nowhere.exception, SystemExit)  # a one-line error, no traceback
    assert "No such file or directory" in nowhere.output
