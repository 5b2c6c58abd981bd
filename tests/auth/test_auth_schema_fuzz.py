"""Schemathesis against the OpenAPI schema, in process (ASGI): whatever it generates, the server never answers
5xx, and every 4xx is an RFC 9457 problem document.

Requests carry a token of a non-built-in approver with a nationwide scope, so the generated alerts go through
authorisation, the two-person rule and the audit log. Examples are bounded to keep the run near a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from sirena import auth, testing
from sirena.auth import accounts
from sirena.settings import Settings
from sirena.web import create_app

EXAMPLES = 10
STREAMS = {"/api/v1/stream", "/api/v1/coordination/stream"}
FOREIGN_ERRORS = ("/compat/",)
"""The compatible APIs answer errors in the shape of the API they imitate; they too must never answer 5xx."""
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def fuzz_settings(folder: Path) -> Settings:
    return testing.settings_for(
        folder,
        rate_limit_writes=0,
        rate_limit_writes_ip=0,
        rate_limit_logins=0,
        compat_public=True,
        stream_heartbeat_s=0.05,
    )


async def _prepare(values: Settings) -> str:
    async with testing.running(values) as rt:
        await accounts.add_user(
            rt.store, rt.registry, "fuzzer", "approver", scopes=("UA",), password="fuzzing password"
        )
        token, _ = await auth.create_for(rt.store, "fuzz", user="fuzzer")
        return token


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    values = fuzz_settings(tmp_path_factory.mktemp("fuzz"))
    token = asyncio.run(_prepare(values))
    app = create_app(values)
    yield app, {"Authorization": f"Bearer {token}"}
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def check(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
    if 400 <= response.status_code < 500 and not case.operation.path.startswith(FOREIGN_ERRORS):
        kind = response.headers.get("content-type", [""])
        kind = kind[0] if isinstance(kind, list) else kind
        assert kind.startswith("application/problem+json"), f"{where}: {response.status_code} {kind}"
        body = response.json()
        assert body.keys() >= PROBLEM_KEYS, f"{where}: {body}"
        assert body["status"] == response.status_code, f"{where}: {body}"


def fuzzer(strategy: Any, headers: dict[str, str], timeout: float) -> Any:
    """A Hypothesis test calling the app with each generated request and checking the answer."""

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        check(case, case.call(headers=headers, timeout=timeout))

    return run


@pytest.mark.timeout(300)  # about a second per operation, and there are nearly a hundred
def test_no_input_makes_a_server_error_and_every_error_is_a_problem(fuzz_app: tuple[Any, dict[str, str]]) -> None:
    from schemathesis.python.asgi import get_client

    app, headers = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    with get_client(app) as client:  # real things for generated requests to act on, besides made-up ids
        alert = client.post("/api/v1/alerts", json={"regions": ["31"]}, headers=headers)
        waiting = client.post("/api/v1/alerts", json={"regions": ["UA"]}, headers=headers)
    assert (alert.status_code, waiting.status_code) == (201, 202)
    known = {"alert_id": alert.json()["id"], "approval_id": waiting.json()["approval"]["id"]}
    for operation in operations:
        timeout = 0.3 if operation.path in STREAMS else 30  # a stream is read until the timeout, then kept
        passes: list[tuple[GenerationMode, dict[str, Any] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        real = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
        if real:
            passes.append((GenerationMode.POSITIVE, real))
        for mode, path_parameters in passes:
            run = fuzzer(operation.as_strategy(mode, path_parameters=path_parameters), headers, timeout)
            try:
                run()
            except Unsatisfiable:  # nothing to get wrong: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.path
