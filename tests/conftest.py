"""Shared fixtures: settings on a temp data dir, a leased Redis database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

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
