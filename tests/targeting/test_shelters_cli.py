"""`sirena shelters import` and `sirena shelters nearest`, through click's runner on a real database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sirena.cli import main

OSM = Path(__file__).parent / "data" / "osm_shelters.geojson"


def test_import_refuses_then_imports_partially_then_answers_nearest(tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    refused = runner.invoke(main, ["shelters", "import", str(OSM), *db])
    assert refused.exit_code == 1
    assert "line 163: error: no location (lat is missing)" in refused.output
    assert "sirena: 1 of 8 rows cannot be imported" in refused.output

    done = runner.invoke(main, ["shelters", "import", str(OSM), "--partial", "--source", "osm", *db])
    assert done.exit_code == 0, done.output
    assert "osm: 5 shelters imported from osm_shelters.geojson (replacing 0)." in done.output
    assert "line 50: skipped: not an air-raid shelter" in done.output
    assert "line 68: warning: capacity is not a whole number" in done.output

    found = runner.invoke(main, ["shelters", "nearest", "--lat", "50.448", "--lon", "30.522", "--limit", "2", *db])
    assert found.exit_code == 0, found.output
    first, second = found.output.splitlines()
    assert "Укриття у підземному переході" in first and "[osm:node/10001]" in first
    assert "wheelchair no" in first and "capacity 300" in first
    assert "Метро «Університет»" in second

    as_json = runner.invoke(main, ["shelters", "nearest", "--lat", "50.448", "--lon", "30.522", "--json", *db])
    shelters = json.loads(as_json.output)["shelters"]
    assert len(shelters) == 5 and shelters[0]["distance_m"] < shelters[1]["distance_m"]

    csv = tmp_path / "Київ укриття 2024.csv"
    csv.write_text("lat,lon,name\n50.4481,30.5221,Поруч\n", encoding="utf-8")
    report = runner.invoke(main, ["shelters", "import", str(csv), "--json", *db])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["source"] == "2024"


def test_nearest_with_nothing_imported(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["shelters", "nearest", "--lat", "50", "--lon", "30", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 0
    assert result.output.strip() == "No shelters have been imported."


def test_a_file_name_that_is_not_utf8_is_imported_under_a_readable_name(tmp_path: Path) -> None:
    """A file name's bytes that are not UTF-8 (from a disk written under another encoding) reach Python as lone
    surrogates; they are stored as U+FFFD instead of failing the import with a traceback."""
    runner = CliRunner()
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    path = tmp_path / "укриття-\udcff.csv"  # the bytes b"\xff" in the name, as os.fsdecode gives them
    path.write_text("name,lat,lon\nA,50.45,30.52\n")
    done = runner.invoke(main, ["shelters", "import", str(path), "--json", *db])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["file"] == "укриття-\ufffd.csv" and report["imported"] == 1
    found = runner.invoke(main, ["shelters", "nearest", "--lat", "50.45", "--lon", "30.52", "--json", *db])
    assert json.loads(found.stdout)["shelters"][0]["name"] == "A"
