"""CAP archives as history: alert chains (update, cancel), areas by code, name or polygon, every message counted."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

from click.testing import CliRunner

from sirena.cli import main
from sirena.history.importer import HistoryFile, collect
from sirena.regions import RegionRegistry

SENDER = "alerts@example.gov.ua"


def cap(
    identifier: str,
    sent: str,
    *,
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str = "",
    expires: str = "",
    areas: str = "",
) -> str:
    refs = f"<references>{references}</references>" if references else ""
    until = f"<expires>{expires}</expires>" if expires else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>{SENDER}</sender><sent>{sent}</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info>
    <category>Safety</category><event>Air raid</event><urgency>Immediate</urgency><severity>Extreme</severity>
    <certainty>Observed</certainty>{until}{areas}
  </info>
</alert>
"""


KYIV_BOX = "50.20,30.20 50.20,30.90 50.65,30.90 50.65,30.20 50.20,30.20"
DOCUMENTS = {
    "a1.xml": cap(
        "A1",
        "2023-05-01T10:00:00+00:00",
        expires="2023-05-01T12:00:00+00:00",
        areas="<area><areaDesc>м. Київ</areaDesc></area>"
        "<area><areaDesc>region</areaDesc><geocode><valueName>katottg</valueName>"
        "<value>UA32000000000030281</value></geocode></area>",
    ),
    "a1-cancel.xml": cap(
        "A1C", "2023-05-01T10:45:00+00:00", msg_type="Cancel", references=f"{SENDER},A1,2023-05-01T10:00:00+00:00"
    ),
    "a2.xml": cap(
        "A2",
        "2023-05-01T11:00:00+00:00",
        expires="2023-05-01T11:30:00+00:00",
        areas=f"<area><areaDesc>central Kyiv</areaDesc><polygon>{KYIV_BOX}</polygon></area>",
    ),
    "a2-update.xml": cap(
        "A2U",
        "2023-05-01T11:20:00+00:00",
        msg_type="Update",
        references=f"{SENDER},A2,2023-05-01T11:00:00+00:00",
        expires="2023-05-01T12:00:00+00:00",
        areas=f"<area><areaDesc>central Kyiv</areaDesc><polygon>{KYIV_BOX}</polygon></area>",
    ),
    "drill.xml": cap(
        "T1",
        "2023-05-01T09:00:00+00:00",
        status="Exercise",
        expires="2023-05-01T09:10:00+00:00",
        areas="<area><areaDesc>Kyiv</areaDesc></area>",
    ),
    "narnia.xml": cap(
        "N1",
        "2023-05-01T09:00:00+00:00",
        expires="2023-05-01T09:10:00+00:00",
        areas="<area><areaDesc>Narnia</areaDesc></area>",
    ),
    "open.xml": cap("O1", "2023-05-01T09:00:00+00:00", areas="<area><areaDesc>Kyiv</areaDesc></area>"),
    "broken.xml": "<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>",
}


def archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, text in DOCUMENTS.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


def test_a_cap_archive_becomes_history(ua: RegionRegistry) -> None:
    merged, reports, ongoing = collect([HistoryFile("cap.zip", archive())], ua)
    (report,) = reports
    assert (report.dataset, report.rows, report.matched) == ("cap", 8, 4)
    assert report.unmatched == {"not_actual": 1, "no_area": 1, "not_ended": 1, "unreadable": 1}
    assert ongoing == 0
    found = sorted((r.region_id, r.started_at.isoformat(), r.ended_at.isoformat()) for r in merged.values())
    assert found == [
        ("14", "2023-05-01T10:00:00+00:00", "2023-05-01T10:45:00+00:00"),  # cancelled at 10:45
        ("31", "2023-05-01T10:00:00+00:00", "2023-05-01T10:45:00+00:00"),
        ("31", "2023-05-01T11:00:00+00:00", "2023-05-01T12:00:00+00:00"),  # its update moved the end
    ]
    assert {r.source.value for r in merged.values()} == {"cap"}


def test_importing_a_cap_archive_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "cap.zip"
    path.write_bytes(archive())
    db = tmp_path / "cli.db"
    result = CliRunner().invoke(main, ["import", str(path), "--database-url", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert "3 alerts after merging" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM alerts WHERE source = 'cap'").fetchone()[0] == 3
        assert conn.execute("SELECT SUM(alerts) FROM history_rollup_day WHERE source = 'cap'").fetchone()[0] == 3
