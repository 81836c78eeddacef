"""Shared fixtures: settings on a temp data dir, a leased Redis database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.resilience.shared_redis import create_redis_client
from folionaut.settings import Settings, test_settings
from tests.helpers.backends import open_database_backend
from tests.helpers.redis_server import RedisServer
from tests.helpers.webhook_receiver import WebhookReceiver

REDIS_HOST = "127.0.0.1"
REDIS_PORT = int(os.environ.get("FOLIONAUT_TEST_REDIS_PORT", "6379"))
LEASE_KEY = "folionaut-test:lease"


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """Lease a Redis database number (1–15) for this test session and flush it.

    A lease is a key with a TTL in that database, so concurrent test runs on the
    same machine each get their own database and never see each other's keys.
    """
    token = f"{os.getpid()}"
    for number in range(1, 16):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=2)
        try:
            if client.set(LEASE_KEY, token, nx=True, ex=1800):
                client.flushdb()
                client.set(LEASE_KEY, token, ex=1800)
                try:
                    yield number
                finally:
                    client.flushdb()
                    client.close()
                return
        except redis.ConnectionError as exc:
            pytest.fail(f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT}: {exc} (.ci/run starts it)")
        client.close()
    pytest.fail("no free Redis database number between 1 and 15")


@pytest.fixture
def redis_url(redis_db: int) -> Iterator[str]:
    """A Redis URL on the leased database, emptied (but for the lease) after each test."""
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
    yield url
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db)
    for key in client.scan_iter(count=1000):
        if key != LEASE_KEY.encode():
            client.delete(key)
    client.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


# --- the real app on a loopback port ---------------------------------------------

ADMIN_KEY = "test-admin-key-0123456789abcdefghijklmnop"


#: The database behind the ``settings`` fixture: "sqlite" (default), "hrana-http" or "hrana-ws"
#: (FOLIONAUT_TEST_BACKEND=hrana-ws pytest tests/content runs those tests on libSQL over WebSocket).
#: tests/backends runs the core behaviours on all three in every run regardless.
TEST_BACKEND = os.environ.get("FOLIONAUT_TEST_BACKEND", "sqlite").strip() or "sqlite"


@pytest.fixture
async def backend_settings_changes(data_dir: Path) -> AsyncIterator[dict[str, str]]:
    """Settings changes for FOLIONAUT_TEST_BACKEND: none for SQLite, else a Hrana server for this test.

    The server's SQLite file is ``settings.database_path``, so tests reading the file directly still can.
    """
    if TEST_BACKEND == "sqlite":
        yield {}
        return
    async with open_database_backend(TEST_BACKEND, data_dir, filename="folionaut.db") as backend:
        yield backend.settings_changes()


@pytest.fixture
def settings(data_dir: Path, backend_settings_changes: dict[str, str]) -> Settings:
    """Test settings: a fresh database (SQLite file in tmp by default), a known admin key, rate limiting off."""
    return test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
                         **backend_settings_changes)


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"X-Admin-Key": ADMIN_KEY}


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """An HTTP client talking to the real app served on 127.0.0.1 (random port)."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def make_client(aiohttp_client: Any) -> Callable[..., Awaitable[TestClient]]:
    """Start the real app with custom settings/clock: ``await make_client(settings, clock=...)``."""

    async def start(app_settings: Settings, **app_options: Any) -> TestClient:
        return await aiohttp_client(create_app(app_settings, **app_options))

    return start


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client on the leased database, configured as the app configures its own."""
    connection = create_redis_client(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free loopback port, to stop and start at will."""
    server = RedisServer.start()
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run last: their one shared Playwright driver keeps an event loop running
    in this thread for as long as it lives, which no asyncio test after it could start under."""
    browser = [item for item in items if item.nodeid.replace("\\", "/").startswith("tests/browser/")]
    if browser:
        last = set(map(id, browser))
        items[:] = [item for item in items if id(item) not in last] + browser


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on a loopback port (tests/helpers/webhook_receiver.py), stopped after the test."""
    receiver = await WebhookReceiver().start()
    yield receiver
    await receiver.stop()
