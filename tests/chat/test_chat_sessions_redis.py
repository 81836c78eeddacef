"""Chat sessions cached in Redis (``session:<visitorId>``), the database staying the source of truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from folionaut.core.clock import ManualClock
from folionaut.http.app import create_app
from folionaut.settings import Settings
from tests.helpers.fake_llm import FakeLLM, answer


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def chat_settings(settings: Settings, fake_llm: FakeLLM, redis_url: str) -> Settings:
    fake_llm.default = answer("ok")
    return settings.replace(llm_base_url=fake_llm.base_url, llm_api_key="sk-test", llm_max_retries=0,
                            redis_url=redis_url)


async def ask(client: TestClient, visitor: str) -> str:
    response = await client.post("/api/v1/chat", json={"message": "hello", "visitorId": visitor})
    assert response.status == 200, await response.text()
    return str((await response.json())["sessionId"])


async def test_active_session_id_is_cached_with_the_idle_ttl(
    aiohttp_client: Any, chat_settings: Settings, redis_client: redis.Redis,
) -> None:
    client = await aiohttp_client(create_app(chat_settings))
    session_id = await ask(client, "visitor-r1")
    assert redis_client.get("session:visitor-r1") == session_id.encode()
    ttl = redis_client.pttl("session:visitor-r1")
    assert 29 * 60 * 1000 < ttl <= 30 * 60 * 1000
    assert await ask(client, "visitor-r1") == session_id


async def test_a_stale_or_missing_key_falls_back_to_the_database(
    aiohttp_client: Any, chat_settings: Settings, redis_client: redis.Redis,
) -> None:
    client = await aiohttp_client(create_app(chat_settings))
    session_id = await ask(client, "visitor-r2")
    other = await ask(client, "visitor-r3")

    redis_client.set("session:visitor-r2", b"sess_doesnotexist")
    assert await ask(client, "visitor-r2") == session_id
    assert redis_client.get("session:visitor-r2") == session_id.encode()  # repaired

    redis_client.set("session:visitor-r2", other.encode())  # another visitor's session
    assert await ask(client, "visitor-r2") == session_id

    redis_client.delete("session:visitor-r2")  # e.g. FLUSHDB by an operator
    assert await ask(client, "visitor-r2") == session_id


async def test_ending_a_session_deletes_its_key(
    aiohttp_client: Any, chat_settings: Settings, redis_client: redis.Redis, admin_headers: dict[str, str],
) -> None:
    client = await aiohttp_client(create_app(chat_settings))
    session_id = await ask(client, "visitor-r4")
    ended = await client.delete(f"/api/v1/admin/chat/sessions/{session_id}", headers=admin_headers)
    assert ended.status == 200
    assert redis_client.get("session:visitor-r4") is None
    new_id = await ask(client, "visitor-r4")
    assert new_id != session_id
    assert redis_client.get("session:visitor-r4") == new_id.encode()


async def test_expiry_replaces_or_deletes_the_key(
    aiohttp_client: Any, chat_settings: Settings, redis_client: redis.Redis, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await aiohttp_client(create_app(chat_settings, clock=clock))
    first = await ask(client, "visitor-r5")
    idle = await ask(client, "visitor-r6")
    clock.advance(31 * 60)  # Redis keeps real time, so the keys are still there: the DB decides

    second = await ask(client, "visitor-r5")
    assert second != first
    assert redis_client.get("session:visitor-r5") == second.encode()

    listing = await client.get("/api/v1/admin/chat/sessions?status=expired", headers=admin_headers)
    assert sorted(s["id"] for s in (await listing.json())["data"]) == sorted([first, idle])
    assert redis_client.get("session:visitor-r6") is None
