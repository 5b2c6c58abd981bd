"""Why a field was refused, in the client's language: the catalogue's text for each pydantic error type."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.types import Strict
from test_alerts_api import alert_count, assert_problem

from sirena import messages
from sirena.testing import Api
from sirena.web import problems


@pytest.mark.parametrize(
    ("body", "field", "uk", "en"),
    [
        ({"regions": ["31"], "threats": [{"level": "red"}]}, "threats.0.type", "Поле обов'язкове.", "Field required"),
        (
            {"regions": ["31"], "headline": {"en": "x" * 2001}},
            "headline.en",
            "Довжина рядка має бути щонайбільше 2000.",
            "String length should be at most 2000",
        ),
        (
            {"regions": ["31"], "time_to_shelter_s": "soon"},
            "time_to_shelter_s",
            "Значення має бути цілим числом.",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"regions": ["31"], "surprise": 1},
            "surprise",
            "Такого поля немає: зайві поля не дозволені.",
            "Extra inputs are not permitted",
        ),
        (
            {"regions": ["31"], "level": "green"},
            "level",
            "Значення має бути 'red' або 'yellow'.",
            "Input should be 'red' or 'yellow'",
        ),
        (
            {"regions": ["31"], "time_to_shelter_s": 90_000},
            "time_to_shelter_s",
            "Значення має бути не більшим за 86400.",
            "Input should be less than or equal to 86400",
        ),
        (
            {"circle": {"lat": 50.45, "lon": 30.52, "radius_km": 0}},
            "circle.radius_km",
            "Значення має бути більшим за 0.",
            "Input should be greater than 0",
        ),
        (
            {"regions": []},
            "regions",
            "Кількість елементів має бути щонайменше 1.",
            "Number of items should be at least 1",
        ),
    ],
)
async def test_an_alert_body_is_refused_in_the_clients_language(
    api: Api, body: dict[str, Any], field: str, uk: str, en: str
) -> None:
    for lang, reason in (("uk", uk), ("en", en)):
        headers = {**api.auth, "Accept-Language": lang}
        problem = assert_problem(await api.client.post("/api/v1/alerts", json=body, headers=headers), 422)
        assert problem["type"] == "/problems/validation-failed"
        assert [(e["field"], e["reason"]) for e in problem["errors"]] == [(field, reason)]
        assert problem["detail"] == f"{field}: {reason}"
    assert await alert_count(api) == 0


@pytest.mark.parametrize(
    ("query", "field", "uk", "en"),
    [
        ("limit=0", "limit", "Значення має бути не меншим за 1.", "Input should be greater than or equal to 1"),
        (
            "region=" + "9" * 65,
            "region",
            "Довжина рядка має бути щонайбільше 64.",
            "String length should be at most 64",
        ),
        (
            "state=gone",
            "state",
            "Значення має бути 'active', 'ended', 'cancelled' або 'all'.",
            "Input should be 'active', 'ended', 'cancelled' or 'all'",
        ),
        (
            "since=yesterday",
            "since",
            "Значення має бути датою або датою й часом у форматі ISO 8601.",
            "Input should be a valid datetime or date, input is too short",
        ),
    ],
)
async def test_a_query_parameter_is_refused_in_the_clients_language(
    api: Api, query: str, field: str, uk: str, en: str
) -> None:
    for lang, reason in (("uk", uk), ("en", en)):
        response = await api.client.get(f"/api/v1/alerts?{query}", headers={"Accept-Language": lang})
        problem = assert_problem(response, 422, "validation-failed")
        assert [(e["field"], e["reason"]) for e in problem["errors"]] == [(field, reason)]
        assert problem["detail"] == f"{field}: {reason}"


_SQUARE = "[[[30.4, 50.4], [30.6, 50.4], [30.6, 50.5], [30.4, 50.4]]]"
_TWO_TARGETS = '{"regions": ["31"], "circle": {"lat": 50.45, "lon": 30.52, "radius_km": 5}}'

# each of the API's own checks (web/schemas.py): a request that fails it, and its reason in both languages
OWN_CHECKS = [
    pytest.param(
        "post",
        '{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "name": "\\udc00"}}',
        "area",
        "Текст має бути коректним рядком Unicode.",
        "text must be valid Unicode",
        id="text_not_unicode",
    ),
    pytest.param(
        "post",
        '{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "n": 1e400}}',
        "area",
        "Числа мають бути скінченними.",
        "numbers must be finite",
        id="number_not_finite",
    ),
    pytest.param(
        "post",
        '{"area": {"type": "Polygon", "coordinates": ' + _SQUARE + ', "n": 100000000000000000000000}}',
        "area",
        "Цілі числа мають вміщатися в 64 біти.",
        "integers must fit in 64 bits",
        id="integer_too_big",
    ),
    pytest.param(
        "post",
        _TWO_TARGETS,
        "body",
        "Укажіть рівно одне з полів: regions, area або circle.",
        "give exactly one of regions, area or circle",
        id="target_exactly_one",
    ),
    pytest.param(
        "patch",
        _TWO_TARGETS,
        "body",
        "Укажіть щонайбільше одне з полів: regions, area або circle.",
        "give at most one of regions, area or circle",
        id="target_at_most_one",
    ),
    pytest.param("patch", "{}", "body", "Немає чого змінювати.", "nothing to change", id="nothing_to_change"),
]


@pytest.mark.parametrize("lang", ["uk", "en"])
@pytest.mark.parametrize(("method", "raw", "field", "uk", "en"), OWN_CHECKS)
async def test_the_apis_own_checks_are_refused_in_the_clients_language(
    api: Api, lang: str, method: str, raw: str, field: str, uk: str, en: str
) -> None:
    path = "/api/v1/alerts" if method == "post" else "/api/v1/alerts/nope"
    headers = {**api.auth, "Accept-Language": lang, "Content-Type": "application/json"}
    response = await api.client.request(method.upper(), path, content=raw.encode(), headers=headers)
    problem = assert_problem(response, 422, "validation-failed")
    reason = uk if lang == "uk" else en
    assert [(e["field"], e["reason"]) for e in problem["errors"]] == [(field, reason)]
    assert problem["detail"] == f"{field}: {reason}"
    assert problem["title"] == messages.t("error.validation.title", lang)
    assert await alert_count(api) == 0


def test_uncatalogued_types_keep_their_words() -> None:
    url = _refusal(HttpUrl, '"not a url"')
    assert url["type"] == "url_parsing"
    assert _reason(url, "uk") == _reason(url, "en") == url["msg"]
    plain = _refusal(Annotated[int, AfterValidator(_odd)], "2")
    assert plain["type"] == "value_error"
    assert _reason(plain, "uk") == _reason(plain, "en") == "an odd number"


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError("an odd number")
    return value


class _Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int


# for every error type the catalogue gives a text, an input that makes pydantic raise it (with its real ctx)
SAMPLES: dict[str, tuple[Any, str]] = {
    "missing": (_Model, "{}"),
    "extra_forbidden": (_Model, '{"n": 1, "m": 2}'),
    "model_type": (_Model, '"n"'),
    "dict_type": (dict[str, int], "[]"),
    "list_type": (list[int], "{}"),
    "too_short": (Annotated[list[int], Field(min_length=1)], "[]"),
    "too_long": (Annotated[list[int], Field(max_length=2)], "[1, 2, 3]"),
    "string_type": (str, "1"),
    "string_too_short": (Annotated[str, StringConstraints(min_length=1)], '""'),
    "string_too_long": (Annotated[str, StringConstraints(max_length=128)], '"' + "x" * 129 + '"'),
    "string_pattern_mismatch": (Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], '"ukr1"'),
    "int_type": (int, "null"),
    "int_parsing": (int, '"x"'),
    "int_parsing_size": (int, '"' + "9" * 5000 + '"'),
    "int_from_float": (int, "1.5"),
    "float_type": (float, "null"),
    "float_parsing": (float, '"x"'),
    "finite_number": (Annotated[float, Field(allow_inf_nan=False)], '"nan"'),
    "greater_than": (Annotated[float, Field(gt=0)], "0"),
    "greater_than_equal": (Annotated[float, Field(ge=-90)], "-91"),
    "less_than": (Annotated[float, Field(lt=1.5)], "2"),
    "less_than_equal": (Annotated[int, Field(le=86_400)], "86401"),
    "bool_type": (StrictBool, '"yes"'),
    "bool_parsing": (bool, '"maybe"'),
    "literal_error": (Literal["csv", "geojson", "parquet"], '"xml"'),
    "enum": (_Colour, '"green"'),
    "datetime_type": (datetime, "[]"),
    "datetime_parsing": (Annotated[datetime, Strict()], '"soon"'),
    "datetime_from_date_parsing": (datetime, '"soon"'),
    "timezone_aware": (AwareDatetime, '"2026-11-26T03:00:00"'),
}

BOUNDS = {"gt", "ge", "lt", "le", "min_length", "max_length"}


def _refusal(annotation: Any, raw: str) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotation).validate_json(raw)
    (error,) = caught.value.errors()
    return dict(error)


def _reason(error: dict[str, Any], lang: str) -> str:
    refused = problems.from_validation(RequestValidationError([error]), lang)
    (listed,) = refused.data["errors"]
    return str(listed["reason"])


# the API's own checks: request bodies (OWN_CHECKS above) and WebSocket messages (tests/delivery/test_websocket.py)
OWN_TYPES = {p.id for p in OWN_CHECKS} | {"region_list", "status_list", "channel_list", "sequence_number"}


def test_every_catalogued_error_type_is_sampled() -> None:
    catalogued = {
        key.removeprefix("validation.type.") for key in messages.catalogue() if key.startswith("validation.type.")
    }
    assert catalogued == set(SAMPLES) | OWN_TYPES
    assert not set(SAMPLES) & OWN_TYPES


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_catalogued_error_type_reads_in_both_languages_with_its_context(kind: str) -> None:
    error = _refusal(*SAMPLES[kind])
    assert error["type"] == kind
    texts = messages.catalogue()[f"validation.type.{kind}"]
    assert texts.get("uk") and texts.get("en")
    uk, en = _reason(error, "uk"), _reason(error, "en")
    assert uk != en
    for reason in (uk, en):
        assert "{" not in reason and "}" not in reason, reason
        for name, value in (error.get("ctx") or {}).items():
            if name in BOUNDS:  # shown as pydantic shows it: ``-90``, not ``-90.0``
                assert re.search(rf"(?<![\d.]){re.escape(f'{value:g}')}(?!\.?\d)", reason), reason
    assert " or " not in uk
