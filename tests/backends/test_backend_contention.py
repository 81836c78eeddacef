"""Concurrent writers over real HTTP on libSQL (HTTP and WebSocket), against a server whose streams contend.

The Hrana test server runs every stream on its own SQLite connection and thread
and holds each statement's locks a little longer (``statement_delay``), so
these writers collide on SQLite's write lock as they would on a busy Turso
database: what a client sees must be exactly what it sees on embedded SQLite —
never a 5xx, one winner per version, 409 for the rest.
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
from folionaut.settings import test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import DatabaseBackend, open_database_backend

ADMIN = "/api/v1/admin/content"
HEADERS = {"X-Admin-Key": ADMIN_KEY}
STATEMENT_DELAY = 0.002
VERSIONED_RACERS = 12
WRITERS, PUTS_EACH = 4, 4


@pytest.fixture(params=["hrana-http", "hrana-ws"])
async def contended(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    async with open_database_backend(request.param, tmp_path / "db", statement_delay=STATEMENT_DELAY) as backend:
        yield backend


@pytest.fixture
async def api(aiohttp_client: Any, contended: DatabaseBackend, data_dir: Path) -> TestClient:
    settings = test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
                             **contended.settings_changes())
    return await aiohttp_client(create_app(settings))


async def _create(api: TestClient, title: str) -> dict[str, Any]:
    response = await api.post(ADMIN, headers=HEADERS, json={"type": "project", "data": {"title": title}})
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def test_versioned_puts_race_one_winner_per_version(api: TestClient, contended: DatabaseBackend) -> None:
    item = await _create(api, "Raced")

    async def put(version: int, n: int) -> int:
        response = await api.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                                 json={"data": {"title": f"v{version} by {n}"}, "version": version})
        await response.read()
        return response.status

    for version in (1, 2, 3):
        statuses = Counter(await asyncio.gather(*(put(version, n) for n in range(VERSIONED_RACERS))))
        assert statuses == {200: 1, 409: VERSIONED_RACERS - 1}, (version, statuses)
    final = await (await api.get(f"{ADMIN}/{item['id']}", headers=HEADERS)).json()
    assert final["data"]["version"] == 4
    history = await (await api.get(f"{ADMIN}/{item['id']}/history", headers=HEADERS)).json()
    assert [entry["version"] for entry in history["data"]] == [4, 3, 2, 1]
    assert contended.server is not None and contended.server.error_codes["SQLITE_BUSY"] > 0  # they did collide


async def test_unversioned_writers_all_succeed(api: TestClient, contended: DatabaseBackend) -> None:
    item = await _create(api, "Shared")
    statuses: Counter[int] = Counter()

    async def writer(n: int) -> None:
        for step in range(PUTS_EACH):
            response = await api.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                                     json={"data": {"title": f"writer {n} step {step}"}})
            await response.read()
            statuses[response.status] += 1

    # Writers on one item, and creates on their own, all at once.
    creates = [api.post(ADMIN, headers=HEADERS, json={"type": "note", "data": {"title": "Same title"}})
               for _ in range(WRITERS)]
    created = await asyncio.gather(*(writer(n) for n in range(WRITERS)), *creates)
    assert statuses == {200: WRITERS * PUTS_EACH}, statuses
    assert [response.status for response in created[WRITERS:]] == [201] * WRITERS
    slugs = {(await response.json())["data"]["slug"] for response in created[WRITERS:]}
    assert slugs == {"same-title", *(f"same-title-{n}" for n in range(2, WRITERS + 1))}
    history = await (await api.get(f"{ADMIN}/{item['id']}/history", headers={**HEADERS}, params={"limit": "100"})
                     ).json()
    versions = [entry["version"] for entry in history["data"]]
    assert versions == list(range(WRITERS * PUTS_EACH + 1, 0, -1))  # every version once, none lost
