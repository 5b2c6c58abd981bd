"""Operating a cluster: `sirena migrate` on PostgreSQL, liveness and readiness, backends chosen by URL, and
passwords in URLs kept out of listings."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from sirena import testing
from sirena.cluster.testing import NatsServer, free_port, nats_url, scratch_database
from sirena.errors import ConfigurationError
from sirena.runtime import Runtime
from sirena.settings import Settings
from sirena.store import open_store
from sirena.store.postgres import PostgresStore
from sirena.store.postgres_migrations import POSTGIS_ONLY, migrations


def test_migrate_creates_and_upgrades_a_postgres_database(tmp_path: Path) -> None:
    with scratch_database() as url:
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-m", "sirena", "migrate", "--database-url", url],
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "database is up to date"
        with psycopg.connect(url) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
            collation = conn.execute(
                "SELECT collation_name FROM information_schema.columns WHERE table_name = 'alerts' AND column_name = 'id'"
            ).fetchone()
        optional = {name for name, _ in POSTGIS_ONLY}  # recorded where PostGIS is installed
        assert [n for n in names if n not in optional] == sorted(name for name, _ in migrations())
        assert collation == ("C",)


def test_backends_are_chosen_by_url() -> None:
    assert isinstance(open_store("postgresql://postgres@127.0.0.1:5432/x"), PostgresStore)
    with pytest.raises(ConfigurationError):
        open_store("mysql://x")
    with pytest.raises(ConfigurationError) as info:
        Runtime(Settings.from_env({}, bus_url=nats_url(), bus_stream="no.dots"))
    assert "no.dots" in info.value.detail()
    with pytest.raises(ConfigurationError):
        Runtime(Settings.from_env({}, bus_url="kafka://x"))


def test_passwords_in_urls_are_masked_in_settings_listings() -> None:
    settings = Settings.from_env({"SIRENA_DATABASE_URL": "postgresql://sirena:s3cret@db:5432/sirena"})
    assert settings.masked()["database_url"] == "postgresql://sirena:**********@db:5432/sirena"
    assert "s3cret" not in str(settings.masked())


async def test_livez_and_readyz_report_the_node(tmp_path: Path) -> None:
    async with testing.api(tmp_path) as api:
        live = await api.client.get("/livez")
        assert live.status_code == 200
        assert live.json()["node"] == api.runtime.node_id
        ready = await api.client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ok"
        assert body["database"]["status"] == "ok"
        assert body["bus"] == {"status": "ok", "kind": "memory"}
        assert "webhook-enqueuer" in body["leases"]
        api.runtime.begin_drain()
        draining = await api.client.get("/readyz")
        assert draining.status_code == 503
        assert draining.json()["status"] == "draining"
        assert draining.headers["retry-after"]
        assert (await api.client.get("/livez")).status_code == 200


async def _readyz_when(client: httpx.AsyncClient, bus: str, within_s: float = 20.0) -> httpx.Response:
    """``/readyz`` once it reports the bus as ``bus`` (or the last answer when it never does)."""
    for _ in range(int(within_s / 0.05)):
        answer = await client.get("/readyz")
        if answer.json()["bus"]["status"] == bus:
            break
        await asyncio.sleep(0.05)
    return answer


@pytest.mark.parametrize("requires_bus", [False, True])
async def test_readyz_reflects_a_bus_outage(tmp_path: Path, requires_bus: bool) -> None:
    nats = NatsServer(free_port(), str(tmp_path / "nats"))
    nats.start()
    try:
        overrides = {"bus_url": nats.url, "bus_stream": "ready", "ready_requires_bus": requires_bus}
        async with testing.api(tmp_path, **overrides) as api:
            up = await _readyz_when(api.client, "ok")
            assert (up.status_code, up.json()["status"]) == (200, "ok")
            await asyncio.to_thread(nats.stop)
            down = await _readyz_when(api.client, "down")
            assert down.json()["bus"]["status"] == "down"
            assert down.json()["database"]["status"] == "ok"
            if requires_bus:
                assert (down.status_code, down.json()["status"]) == (503, "unready")
                assert down.headers["retry-after"]
            else:
                assert (down.status_code, down.json()["status"]) == (200, "degraded")
            await asyncio.to_thread(nats.start)
            back = await _readyz_when(api.client, "ok")
            assert (back.status_code, back.json()["status"]) == (200, "ok")
    finally:
        nats.stop()


def test_an_area_not_verified_on_postgres_stops_start_up_with_its_name() -> None:
    from sirena.store.postgres_migrations import unverified

    names = [name for name, _ in migrations()]
    assert unverified(names) == []
    assert unverified([*names, "0950_weather_feeds"]) == ["0950_weather_feeds"]
    message = ConfigurationError("error.postgres_area", name="0950_weather_feeds", area="weather").detail()
    assert "weather" in message
    assert "0950_weather_feeds" in message


async def test_nodes_can_serve_as_a_user_that_may_not_create_tables() -> None:
    from sirena.cluster.testing import admin_url, unique_name

    role = unique_name("sirena_node")
    with scratch_database() as url:
        owner = open_store(url)  # migrates, as the database's owner
        await owner.open()
        await owner.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
            conn.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        try:
            store = open_store(url.replace("postgresql://postgres@", f"postgresql://{role}@"))
            await store.open()
            try:
                token = await store.create_token("node", "hash")
                assert (await store.find_token("hash")) == token
            finally:
                await store.close()
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP OWNED BY "{role}"')
            with psycopg.connect(admin_url(), autocommit=True) as conn:
                conn.execute(f'DROP ROLE "{role}"')
