"""CAP from outside the shared corpus through ``POST /api/v1/cap`` and ``sirena cap check``: wrappers and quirks are
applied or refused with a reason, and hostile input is a problem (one line on the command line) with nothing stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cap_samples import cap
from click.testing import CliRunner
from test_cap_api import get_alert, nothing_stored, post, problem

from sirena.cli import main
from sirena.testing import Api

WILD = Path(__file__).resolve().parent / "wild"


def wild(name: str) -> bytes:
    return (WILD / name).read_bytes()


async def test_cap_in_an_edxl_de_distribution_is_applied(api: Api) -> None:
    result = await post(api, wild("edxl_de.xml"), content_type="application/xml")
    assert (result["format"], result["version"], result["alerts"]) == ("edxl-de", "1.2", 1)
    assert result["links"] == []
    assert [w["code"] for w in result["warnings"]] == ["edxl_content_not_read"]
    ((message,),) = [result["messages"]]
    assert (message["identifier"], message["result"]) == ("EDXL-CAP-0001", "issued")
    alert = await get_alert(api, message["alert_id"])
    assert (alert["headline"], alert["source"]) == ({"en": "Air raid alert in Kyiv"}, "cap")
    assert "31" in alert["regions"] + alert["partial_regions"]


async def test_blank_lines_before_a_latin1_declaration_still_make_an_alert(api: Api) -> None:
    result = await post(api, wild("blank_before_latin1_declaration.xml"))
    assert [w["code"] for w in result["warnings"]] == ["declaration_not_first"]
    assert [r["code"] for r in result["repairs"]] == ["coordinate_separators", "polygon_closed"]
    alert = await get_alert(api, result["alert_ids"][0])
    assert alert["headline"] == {"fr-CA": "Alerte aérienne à Kyiv"}
    assert alert["started_at"] == "2025-03-01T06:15:00.000Z"


async def test_an_update_full_of_quirks_maps_every_language_and_area(api: Api) -> None:
    result = await post(api, wild("quirks_update.xml"))
    assert (result["schema_valid"], result["signature"]) == (False, "invalid")
    (message,) = result["messages"]
    assert (message["msg_type"], message["result"]) == ("Update", "issued")  # its references were never seen
    assert [tuple(k) for k in message["unknown_references"]] == [
        ("civil-protection@alerts.example.org", "QUIRKS-0001", "2025-03-01T08:15:00+02:00"),
        ("civil-protection@alerts.example.org", "QUIRKS-0002", "2025-03-01T06:30:00+00:00"),
    ]
    alert = await get_alert(api, message["alert_id"])
    assert alert["headline"] == {"en": "Air raid alert extended", "fr-CA": "Alerte aérienne prolongée"}
    assert alert["instruction"] == {"en": "Stay in the shelter."}
    assert (alert["regions"], alert["started_at"]) == (["31"], "2025-03-01T06:45:00.000Z")


async def test_messages_without_an_identity_are_refused_not_taken_for_duplicates(api: Api) -> None:
    for n in (1, 2):  # two different alerts without identifier and sender would share one (sender, identifier, sent)
        body = cap(f"ID-{n}", headline=f"Тривога {n}").replace(f"<identifier>ID-{n}</identifier>".encode(), b"")
        response = await api.client.post("/api/v1/cap", content=body, headers=api.auth)
        assert (
            problem(response, 422, "cap-not-usable")["detail"]
            == "The CAP message has no identifier, so it cannot be applied."
        )
    no_type = cap("ID-3").replace(b"<msgType>Alert</msgType>", b"")
    response = await api.client.post("/api/v1/cap", content=no_type, headers=api.auth)
    assert "has no msgType" in problem(response, 422, "cap-not-usable")["detail"]
    assert await nothing_stored(api)


async def test_a_prefixed_alert_with_unprefixed_children_is_applied(api: Api) -> None:
    body = cap("NS-1").replace(b"<alert xmlns=", b"<cap:alert xmlns:cap=").replace(b"</alert>", b"</cap:alert>")
    result = await post(api, body)
    assert ([r["code"] for r in result["repairs"]], result["messages"][0]["result"]) == (
        ["namespace_missing"],
        "issued",
    )


EMPTY_RSS = b'<rss version="2.0"><channel><title>Alerts</title></channel></rss>'
ESCAPED_ATOM = (
    b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id><title>t</title><updated>2025-03-01T06:15:00Z</updated>'
    b'<entry><id>urn:e</id><title>t</title><updated>2025-03-01T06:15:00Z</updated><content type="text">'
    + cap("ESC-1").split(b"?>", 1)[1].replace(b"&", b"&amp;").replace(b"<", b"&lt;")
    + b"</content></entry></feed>"
)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (wild("atom_links_only.xml"), "https://alerts.example.org/cap/ATOM-0001.xml"),
        (wild("edxl_de_links_only.xml"), "https://alerts.example.org/cap/EDXL-CAP-0002.xml"),
        (EMPTY_RSS, "no CAP message"),
        (ESCAPED_ATOM, "escaped text"),
    ],
    ids=["atom-links", "edxl-links", "empty-rss", "escaped-atom"],
)
async def test_a_document_without_cap_messages_is_refused_with_the_reason(api: Api, body: bytes, says: str) -> None:
    response = await api.client.post("/api/v1/cap", content=body, headers=api.auth)
    assert says in problem(response, 422, "cap-not-usable")["detail"]
    assert await nothing_stored(api)


async def test_a_message_refused_for_want_of_an_area_comes_with_the_report_saying_why(api: Api) -> None:
    body = cap("NAN-1", area="<polygon>nan,30.40 50.35,inf 50.52,30.65 nan,30.40</polygon>")
    response = await api.client.post("/api/v1/cap", content=body, headers=api.auth)
    report = problem(response, 422, "cap-not-usable")["report"]
    assert [(e["code"], e["path"]) for e in report["errors"]] == [
        ("polygon_unparsable", "/alert/info[1]/area[1]/polygon[1]")
    ]
    assert await nothing_stored(api)


DEEP = cap("DEEP-1").replace(b"</info>", b"<x>" * 10_000 + b"</x>" * 10_000 + b"</info>")
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>'
    + cap("PE-1").split(b"?>", 1)[1]
)
HOSTILE = {
    "parameter-entity": (PARAMETER_ENTITY, 400, "unsafe-xml"),
    "doctype-inside": (cap("DT-1").replace(b"<identifier>", b"<!DOCTYPE x><identifier>"), 400, "malformed-cap"),
    "deep-nesting": (DEEP, 400, "malformed-cap"),
    "json-deep-nesting": (b"[" * 100_000 + b"]" * 100_000, 400, "malformed-cap"),
    "binary": (bytes(range(256)) * 4, 400, "not-cap"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 400, "not-cap"),
    "empty": (b"", 400, "not-cap"),
    "blanks": (b" \r\n\t ", 400, "not-cap"),
    "not-a-charset": (
        b'<?xml version="1.0" encoding="unicode_escape"?>' + cap("UE-1").split(b"?>", 1)[1],
        400,
        "undecodable",
    ),
    "50-mb": (
        cap("BIG-1").replace(b"</alert>", b"<!--" + b"x" * (50 << 20) + b"--></alert>"),
        413,
        "payload-too-large",
    ),
}


@pytest.mark.parametrize(("body", "status", "slug"), list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_input_is_a_problem_and_nothing_is_stored(api: Api, body: bytes, status: int, slug: str) -> None:
    response = await api.client.post("/api/v1/cap", content=body, headers=api.auth)
    body_text = problem(response, status, slug)["detail"]
    assert "root:" not in body_text  # nothing of /etc/passwd
    assert await nothing_stored(api)


def test_cap_check_gives_one_line_per_wild_or_hostile_file(tmp_path: Path) -> None:
    files = sorted(p for p in WILD.glob("*.xml"))
    for name, (body, _, _) in HOSTILE.items():
        (tmp_path / f"{name}.xml").write_bytes(body)
        files.append(tmp_path / f"{name}.xml")
    result = CliRunner().invoke(
        main, ["cap", "check", "--json", *map(str, files)], env={"SIRENA_CAP_TRUST_ANCHORS": ""}
    )
    assert result.exit_code == 1, result.output
    lines = {Path(line["file"]).stem: line for line in map(json.loads, result.output.splitlines())}
    assert list(lines) == [p.stem for p in files]
    usable = {name: (line["format"], line["alerts"]) for name, line in lines.items() if line["usable"]}
    assert usable == {
        "atom_links_only": ("atom", 0),
        "blank_before_latin1_declaration": ("cap-xml", 1),
        "edxl_de": ("edxl-de", 1),
        "edxl_de_links_only": ("edxl-de", 0),
        "quirks_update": ("cap-xml", 1),
    }
    refused = {name: line["errors"][0]["code"] for name, line in lines.items() if not line["usable"]}
    assert refused == {name: slug if status != 413 else "cap-too-large" for name, (_, status, slug) in HOSTILE.items()}
