"""`/api/v1/webhooks`: create (secret shown once), list, read, delete, validation, and the address guard."""

from __future__ import annotations

from pathlib import Path

from sirena import testing


async def test_create_shows_the_secret_once_and_defaults_to_actual(hooks_api: testing.Api) -> None:
    api = hooks_api
    created = await api.client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "regions": ["14"]}, headers=api.auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["statuses"] == ["actual"]
    assert body["regions"] == ["14"]
    assert body["kinds"] is None
    assert created.headers["location"] == f"/api/v1/webhooks/{body['id']}"
    read = (await api.client.get(f"/api/v1/webhooks/{body['id']}", headers=api.auth)).json()
    assert "secret" not in read
    assert read["messages"] == {"pending": 0, "delivered": 0, "dead": 0, "cancelled": 0}
    listed = (await api.client.get("/api/v1/webhooks", headers=api.auth)).json()["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert all("secret" not in w for w in listed)


async def test_filters_are_validated_field_by_field(hooks_api: testing.Api) -> None:
    api = hooks_api
    cases = [
        ({"url": "http://127.0.0.1:9/", "regions": ["99999"]}, "/problems/unknown-region", "regions"),
        ({"url": "http://127.0.0.1:9/", "kinds": ["tsunami"]}, "/problems/validation-failed", "kinds"),
        ({"url": "http://127.0.0.1:9/", "threats": ["frogs"]}, "/problems/validation-failed", "threats"),
        ({"url": "http://127.0.0.1:9/", "levels": ["purple"]}, "/problems/validation-failed", "levels"),
        ({"url": "http://127.0.0.1:9/", "statuses": ["rumour"]}, "/problems/validation-failed", "statuses"),
        ({"url": "ftp://example.org/hook"}, "/problems/unsafe-target", "url"),
        ({"url": "not a url"}, "/problems/unsafe-target", "url"),
        ({"url": "http://user:pw@127.0.0.1/hook"}, "/problems/unsafe-target", "url"),
    ]
    for body, kind, field in cases:
        response = await api.client.post("/api/v1/webhooks", json=body, headers=api.auth)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert (response.json()["type"], response.json()["field"]) == (kind, field), body
    all_statuses = await api.client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "statuses": ["all"]}, headers=api.auth
    )
    assert all_statuses.json()["statuses"] == ["actual", "exercise", "test"]


async def test_an_unknown_message_state_names_the_states(hooks_api: testing.Api) -> None:
    api = hooks_api
    hook = await api.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=api.auth)
    messages = f"/api/v1/webhooks/{hook.json()['id']}/messages"
    assert (await api.client.get(messages, params={"state": "dead"}, headers=api.auth)).json() == {"messages": []}
    refused = await api.client.get(messages, params={"state": "lost"}, headers=api.auth)
    assert (refused.status_code, refused.json()["field"]) == (422, "state")
    assert refused.json()["detail"] == "state: Input should be 'pending', 'delivered', 'dead' or 'cancelled'"


async def test_every_call_needs_a_token(hooks_api: testing.Api) -> None:
    for method, path in [("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks"), ("DELETE", "/api/v1/webhooks/x")]:
        response = await hooks_api.client.request(method, path, json={"url": "http://127.0.0.1:9/"})
        assert response.status_code == 401, (method, path)
        assert response.json()["type"] == "/problems/unauthorized"


async def test_delete_then_not_found(hooks_api: testing.Api) -> None:
    api = hooks_api
    hook = (await api.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=api.auth)).json()
    assert (await api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)).status_code == 204
    gone = await api.client.get(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)
    assert gone.status_code == 404
    assert gone.json()["type"] == "/problems/webhook-not-found"
    again = await api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.auth)
    assert again.status_code == 404
    assert (await api.client.get("/api/v1/webhooks", headers=api.auth)).json()["webhooks"] == []


async def test_private_and_loopback_targets_are_refused_by_default(tmp_path: Path) -> None:
    async with testing.api(tmp_path) as api:
        for url in (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://0.0.0.0/hook",
        ):
            response = await api.client.post("/api/v1/webhooks", json={"url": url}, headers=api.auth)
            assert response.status_code == 422, url
            problem = response.json()
            assert problem["type"] == "/problems/unsafe-target", url
            assert "private or loopback" in problem["detail"], problem
        public = await api.client.post("/api/v1/webhooks", json={"url": "https://93.184.215.14/hook"}, headers=api.auth)
        assert public.status_code == 201, public.text
        uk = await api.client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1/"},
            headers={**api.auth, "Accept-Language": "uk"},
        )
        assert "приватну або локальну" in uk.json()["detail"]


async def test_switched_off_channel_answers_404(tmp_path: Path) -> None:
    async with testing.api(tmp_path, webhooks=False) as api:
        response = await api.client.get("/api/v1/webhooks", headers=api.auth)
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/channel-disabled"
