"""Idempotency-Key on the admin mutations: replay, conflicting reuse, concurrent duplicates, shared Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from folionaut.cache.key_value_store import RedisKeyValueStore
from folionaut.core.clock import ManualClock
from folionaut.http.app import create_app
from folionaut.http.idempotency import record_key
from folionaut.http.state import RUNTIME
from folionaut.settings import Settings
from tests.content.conftest import ADMIN, Create, error_of, fields_of

Rows = Callable[..., list[dict[str, Any]]]


def keyed(admin_headers: dict[str, str], key: str) -> dict[str, str]:
    return {**admin_headers, "Idempotency-Key": key}


async def test_create_replays_the_stored_response(client: Any, admin_headers: dict[str, str], db_rows: Rows) -> None:
    body = {"type": "project", "data": {"title": "Once"}}
    first = await client.post(ADMIN, json=body, headers=keyed(admin_headers, "create-1"))
    assert first.status == 201 and "X-Idempotent-Replayed" not in first.headers
    second = await client.post(ADMIN, json=body, headers=keyed(admin_headers, "create-1"))
    assert second.status == 201
    assert second.headers["X-Idempotent-Replayed"] == "true"
    assert await second.read() == await first.read()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]  # the edge still does its part
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert len(db_rows("SELECT id FROM content")) == 1 and len(db_rows("SELECT id FROM content_history")) == 1

    # A new key, or no key, is a new request.
    third = await client.post(ADMIN, json=body, headers=keyed(admin_headers, "create-2"))
    assert third.status == 201 and "X-Idempotent-Replayed" not in third.headers
    assert (await client.post(ADMIN, json=body, headers=admin_headers)).status == 201
    assert len(db_rows("SELECT id FROM content")) == 3


async def test_same_key_different_body_is_409(client: Any, admin_headers: dict[str, str], db_rows: Rows) -> None:
    headers = keyed(admin_headers, "reused")
    assert (await client.post(ADMIN, json={"type": "project", "data": {"title": "A"}}, headers=headers)).status == 201
    response = await client.post(ADMIN, json={"type": "project", "data": {"title": "B"}}, headers=headers)
    error = await error_of(response, 409, "CONFLICT")
    assert "Idempotency-Key" in error["message"]
    assert [row["slug"] for row in db_rows("SELECT slug FROM content")] == ["a"]


async def test_same_key_on_another_path_or_method_is_independent(client: Any, create: Create,
                                                                 admin_headers: dict[str, str], db_rows: Rows) -> None:
    first, second = await create(data={"title": "One"}), await create(data={"title": "Two"})
    headers = keyed(admin_headers, "shared-key")
    for item in (first, second):
        response = await client.put(f"{ADMIN}/{item['id']}", json={"status": "published"}, headers=headers)
        assert response.status == 200 and "X-Idempotent-Replayed" not in response.headers
    delete = await client.delete(f"{ADMIN}/{first['id']}", headers=headers)
    assert delete.status == 200 and "X-Idempotent-Replayed" not in delete.headers
    assert db_rows("SELECT version FROM content ORDER BY version") == [{"version": 2}, {"version": 3}]


async def test_update_delete_and_restore_replay(client: Any, create: Create, admin_headers: dict[str, str],
                                                db_rows: Rows) -> None:
    item = await create(data={"title": "T"})
    url = f"{ADMIN}/{item['id']}"

    put_headers = keyed(admin_headers, "put-1")
    first_put = await client.put(url, json={"data": {"title": "T2"}}, headers=put_headers)
    # Another writer moves the item on; the replay still returns what the first PUT returned.
    await client.put(url, json={"data": {"title": "T3"}}, headers=admin_headers)
    replayed_put = await client.put(url, json={"data": {"title": "T2"}}, headers=put_headers)
    assert replayed_put.headers["X-Idempotent-Replayed"] == "true"
    assert await replayed_put.read() == await first_put.read()
    assert (await replayed_put.json())["data"]["version"] == 2
    # A different precondition under the same key is a different request.
    other_precondition = await client.put(url, json={"data": {"title": "T2"}},
                                          headers={**put_headers, "If-Match": 'W/"v3"'})
    await error_of(other_precondition, 409, "CONFLICT")

    restore_headers = keyed(admin_headers, "restore-1")
    for attempt in range(3):
        response = await client.post(f"{url}/restore", json={"version": 1}, headers=restore_headers)
        assert response.status == 200
        assert (await response.json())["data"]["version"] == 4
        assert ("X-Idempotent-Replayed" in response.headers) == (attempt > 0)

    delete_headers = keyed(admin_headers, "delete-1")
    for attempt in range(3):
        response = await client.delete(url, headers=delete_headers)
        assert response.status == 200 and (await response.json()) == {"success": True}
        assert ("X-Idempotent-Replayed" in response.headers) == (attempt > 0)
    # A different query string is a different request under the same key.
    await error_of(await client.delete(url, params={"hard": "true"}, headers=delete_headers), 409, "CONFLICT")

    rows = db_rows("SELECT version, change_type FROM content_history ORDER BY version")
    assert [row["change_type"] for row in rows] == ["created", "updated", "updated", "restored", "deleted"]


async def test_failed_requests_are_not_stored(client: Any, create: Create, admin_headers: dict[str, str],
                                              db_rows: Rows) -> None:
    await create(type="project", slug="taken", data={"title": "A"})
    headers = keyed(admin_headers, "retry-me")
    conflict = await client.post(ADMIN, json={"type": "project", "slug": "taken", "data": {"t": 1}}, headers=headers)
    await error_of(conflict, 409, "CONFLICT")
    invalid = await client.post(ADMIN, json={"type": "project", "slug": "BAD", "data": {"t": 1}}, headers=headers)
    assert list(await fields_of(invalid)) == ["slug"]
    # The key is free again: a corrected request with the same key executes.
    fixed = await client.post(ADMIN, json={"type": "project", "slug": "free", "data": {"t": 1}}, headers=headers)
    assert fixed.status == 201 and "X-Idempotent-Replayed" not in fixed.headers
    again = await client.post(ADMIN, json={"type": "project", "slug": "free", "data": {"t": 1}}, headers=headers)
    assert again.headers["X-Idempotent-Replayed"] == "true"
    assert sorted(row["slug"] for row in db_rows("SELECT slug FROM content")) == ["free", "taken"]


@pytest.mark.parametrize("bad_key", ["", "has space", "x" * 256, "tab\there", "ü"])
async def test_malformed_key_is_400(client: Any, admin_headers: dict[str, str], db_rows: Rows, bad_key: str) -> None:
    response = await client.post(ADMIN, json={"type": "project", "data": {"title": "T"}},
                                 headers={**admin_headers, "Idempotency-Key": bad_key})
    assert list(await fields_of(response)) == ["Idempotency-Key"]
    assert db_rows("SELECT id FROM content") == []


async def test_unauthenticated_requests_never_touch_the_store(client: Any, admin_headers: dict[str, str],
                                                              db_rows: Rows) -> None:
    body = {"type": "project", "data": {"title": "T"}}
    denied = await client.post(ADMIN, json=body, headers={"Idempotency-Key": "k", "X-Admin-Key": "nope"})
    await error_of(denied, 401, "UNAUTHORIZED")
    store = client.app[RUNTIME].records
    assert await store.get(record_key("POST", ADMIN, "k")) is None
    created = await client.post(ADMIN, json=body, headers=keyed(admin_headers, "k"))
    assert created.status == 201 and "X-Idempotent-Replayed" not in created.headers


async def test_concurrent_duplicates_execute_once(client: Any, admin_headers: dict[str, str], db_rows: Rows) -> None:
    body = {"type": "project", "data": {"title": "Racing"}}
    responses = await asyncio.gather(*(
        client.post(ADMIN, json=body, headers=keyed(admin_headers, "race")) for _ in range(12)))
    assert [response.status for response in responses] == [201] * 12
    bodies = {await response.read() for response in responses}
    assert len(bodies) == 1
    replayed = [response.headers.get("X-Idempotent-Replayed") for response in responses]
    assert replayed.count("true") == 11 and replayed.count(None) == 1
    assert len(db_rows("SELECT id FROM content")) == 1 and len(db_rows("SELECT id FROM content_history")) == 1


async def test_concurrent_duplicates_with_different_bodies(client: Any, admin_headers: dict[str, str],
                                                           db_rows: Rows) -> None:
    responses = await asyncio.gather(*(
        client.post(ADMIN, json={"type": "project", "data": {"title": f"T{n % 2}"}},
                    headers=keyed(admin_headers, "mixed")) for n in range(6)))
    statuses = sorted(response.status for response in responses)
    assert statuses == [201, 201, 201, 409, 409, 409]
    assert len(db_rows("SELECT id FROM content")) == 1


async def test_records_are_shared_between_instances_through_redis(
    aiohttp_client: Any, settings: Settings, admin_headers: dict[str, str], redis_url: str, db_rows: Rows
) -> None:
    """Two app instances on one database and one Redis: duplicates sent to both execute once."""
    redis_settings = settings.replace(redis_url=redis_url)
    first = await aiohttp_client(create_app(redis_settings))
    second = await aiohttp_client(create_app(redis_settings))
    body = {"type": "project", "data": {"title": "Shared"}}
    responses = await asyncio.gather(*(
        (first if n % 2 else second).post(ADMIN, json=body, headers=keyed(admin_headers, "across"))
        for n in range(10)))
    assert [response.status for response in responses] == [201] * 10
    assert len({await response.read() for response in responses}) == 1
    assert [response.headers.get("X-Idempotent-Replayed") for response in responses].count("true") == 9
    assert len(db_rows("SELECT id FROM content")) == 1

    # The record lives in Redis under idempotency:*, with a 24 h TTL.
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match="idempotency:*")]
        assert keys == [record_key("POST", ADMIN, "across").encode()]
        assert 23 * 3600 < await client.ttl(keys[0]) <= 24 * 3600
        store = RedisKeyValueStore(client)
        assert b'"state":"done"' in (await store.get(keys[0].decode()) or b"")
    finally:
        await client.aclose()


async def test_records_expire_after_24_hours(make_client: Any, settings: Settings, admin_headers: dict[str, str],
                                             db_rows: Rows) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    body, headers = {"type": "project", "data": {"title": "Daily"}}, keyed(admin_headers, "daily")
    assert (await client.post(ADMIN, json=body, headers=headers)).status == 201
    clock.advance(24 * 3600 - 60)
    assert (await client.post(ADMIN, json=body, headers=headers)).headers["X-Idempotent-Replayed"] == "true"
    clock.advance(120)
    later = await client.post(ADMIN, json=body, headers=headers)
    assert later.status == 201 and "X-Idempotent-Replayed" not in later.headers
    assert sorted(row["slug"] for row in db_rows("SELECT slug FROM content")) == ["daily", "daily-2"]
