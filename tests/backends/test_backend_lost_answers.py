"""Faults between the service and libSQL, over real HTTP: lost answers, failing calls, a crashed server.

The Hrana test server's fault switch fails chosen SQL calls: answers an error,
never answers, or drops the connection — before running the call, or after it
committed (the client cannot tell it did). A write whose answer was lost is
looked up by its write receipt and applied exactly once; a retry under the same
Idempotency-Key replays the first answer even when the service could not tell
at the time; and a fault in every Nth call costs at most the calls it hits, on
the WebSocket transport as on HTTP.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.runtime import Runtime
from folionaut.settings import Settings, test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import DatabaseBackend, open_database_backend
from tests.helpers.hrana_server import HranaServer

ADMIN = "/api/v1/admin/content"
HEADERS = {"X-Admin-Key": ADMIN_KEY}
CALL_TIMEOUT_MS = 600


@pytest.fixture(params=["hrana-http", "hrana-ws"])
async def remote(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    async with open_database_backend(request.param, tmp_path / "db") as backend:
        yield backend


def settings_for(backend: DatabaseBackend, data_dir: Path) -> Settings:
    return test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
                         turso_call_timeout_ms=CALL_TIMEOUT_MS, **backend.settings_changes())


@pytest.fixture
async def api(aiohttp_client: Any, remote: DatabaseBackend, data_dir: Path) -> TestClient:
    # Migrated first with the default call timeout: the tests' short one is for the faults they inject,
    # and the migrations' writes could outlast it on a busy machine (an ambiguous write at setup).
    settings = settings_for(remote, data_dir)
    async with Runtime.storage_only(settings.replace(turso_call_timeout_ms=Settings().turso_call_timeout_ms),
                                    migrate=True):
        pass
    return await aiohttp_client(create_app(settings))


def server_of(backend: DatabaseBackend) -> HranaServer:
    assert backend.server is not None
    return backend.server


async def titles(api: TestClient) -> list[str]:
    listing = await api.get(ADMIN, headers=HEADERS, params={"includeDeleted": "true"})
    assert listing.status == 200
    return sorted(item["data"]["title"] for item in (await listing.json())["data"])


@pytest.mark.parametrize(("kind", "after"), [("drop", False), ("drop", True), ("stall", False), ("stall", True)])
async def test_a_write_whose_answer_was_lost_applies_once(
    api: TestClient, remote: DatabaseBackend, kind: str, after: bool
) -> None:
    server = server_of(remote)
    created = await api.post(ADMIN, headers=HEADERS, json={"type": "project", "data": {"title": "Base"}})
    item = (await created.json())["data"]

    # A create whose batch is lost: before reaching SQLite, or after it committed.
    server.inject_faults(1, kind, after=after, limit=1, only="batch")  # type: ignore[arg-type]
    response = await api.post(ADMIN, headers=HEADERS, json={"type": "project", "data": {"title": "Lost once"}})
    assert response.status == 201, await response.text()
    assert server.faults_injected == 1
    assert await titles(api) == ["Base", "Lost once"]

    # A versioned update likewise: the version it expected is gone once it applied, yet it is a 200, not a 409.
    server.inject_faults(1, kind, after=after, limit=1, only="batch")  # type: ignore[arg-type]
    update = await api.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                           json={"data": {"title": "Base v2"}, "version": 1})
    assert update.status == 200, await update.text()
    assert (await update.json())["data"]["version"] == 2
    history = await (await api.get(f"{ADMIN}/{item['id']}/history", headers=HEADERS)).json()
    assert [entry["version"] for entry in history["data"]] == [2, 1]


async def test_a_lost_answer_resolved_later_by_the_same_key(api: TestClient, remote: DatabaseBackend) -> None:
    server = server_of(remote)
    body = {"type": "project", "data": {"title": "Crash survivor"}}
    keyed = {**HEADERS, "Idempotency-Key": "crash-1"}
    # The server commits the create, then crashes before answering: the service cannot look it up.
    server.inject_faults(1, "crash", after=True, limit=1, only="batch")
    first = await api.post(ADMIN, headers=keyed, json=body)
    assert first.status == 500
    await server.restart()

    # The client retries with its key: the database's receipt replays the create instead of repeating it.
    retry = await api.post(ADMIN, headers=keyed, json=body)
    assert retry.status == 201, await retry.text()
    assert retry.headers["X-Idempotent-Replayed"] == "true"
    assert await titles(api) == ["Crash survivor"]
    again = await api.post(ADMIN, headers=keyed, json=body)
    assert again.status == 201 and await again.read() == await retry.read()
    conflict = await api.post(ADMIN, headers=keyed, json={"type": "project", "data": {"title": "Other"}})
    assert conflict.status == 409


@pytest.mark.parametrize("name", ["sqlite", "hrana-ws"])
async def test_a_key_is_replayed_by_another_instance_without_redis(
    aiohttp_client: Any, tmp_path: Path, name: str
) -> None:
    async with open_database_backend(name, tmp_path / "db") as backend:
        first = await aiohttp_client(create_app(settings_for(backend, tmp_path / "a")))
        second = await aiohttp_client(create_app(settings_for(backend, tmp_path / "b")))
        body = {"type": "project", "data": {"title": "Once anywhere"}}
        keyed = {**HEADERS, "Idempotency-Key": "anywhere-1"}
        created = await first.post(ADMIN, headers=keyed, json=body)
        assert created.status == 201
        # The second instance keeps its own in-process records, yet knows the key from the database.
        replayed = await second.post(ADMIN, headers=keyed, json=body)
        assert replayed.status == 201 and replayed.headers["X-Idempotent-Replayed"] == "true"
        assert (await replayed.json())["data"] == (await created.json())["data"]
        update = {**HEADERS, "Idempotency-Key": "anywhere-2"}
        item_id = (await created.json())["data"]["id"]
        changed = await second.put(f"{ADMIN}/{item_id}", headers=update, json={"status": "published", "version": 1})
        assert changed.status == 200
        assert (await first.put(f"{ADMIN}/{item_id}", headers=update,
                                json={"status": "published", "version": 1})).headers["X-Idempotent-Replayed"] == "true"
        assert (await second.post(ADMIN, headers=keyed, json={**body, "status": "published"})).status == 409
        assert await titles(first) == ["Once anywhere"]


@pytest.mark.parametrize("kind", ["error", "stall", "drop"])
async def test_every_fourth_call_failing_costs_only_those_calls(
    api: TestClient, remote: DatabaseBackend, kind: str
) -> None:
    server = server_of(remote)
    for n in range(3):
        assert (await api.post(ADMIN, headers=HEADERS, json={"type": "project", "data": {"title": f"T{n}"}})).status \
            == 201
    server.inject_faults(4, kind)  # type: ignore[arg-type]
    reads: Counter[int] = Counter()
    ready: Counter[int] = Counter()

    async def read() -> None:
        response = await api.get(ADMIN, headers=HEADERS)  # uncached: one database call each
        await response.read()
        reads[response.status] += 1

    async def probe() -> None:
        response = await api.get("/api/health/ready")
        await response.read()
        ready[response.status] += 1

    for _wave in range(4):
        await asyncio.gather(*(read() for _ in range(6)), probe())
    server.clear_faults()
    assert set(reads) <= {200, 500} and set(ready) <= {200, 503}
    # A failing call costs its own request at most (reads that lost their connection are retried), and
    # no more: a quarter of calls failing is never "nearly everything", and readiness stays mostly green.
    # Each failed request is paid for by an injected fault of its own (retried reads may pay none).
    assert reads[500] + ready[503] <= server.faults_injected, (reads, ready, server.faults_injected)
    assert reads[500] <= len(list(reads.elements())) // 2, reads
    assert server.faults_injected >= 4
    assert (await api.get("/api/health/ready")).status == 200
    assert (await api.get(ADMIN, headers=HEADERS)).status == 200
