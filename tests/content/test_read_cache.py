"""The public read cache: hits skip the database; writes invalidate it at once, in process and in Redis."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import redis.asyncio as aioredis

from folionaut.http.app import create_app
from folionaut.settings import Settings
from tests.content.conftest import ADMIN, PUBLIC


async def test_writes_invalidate_the_shared_cache(aiohttp_client: Any, settings: Settings, redis_url: str,
                                                  admin_headers: dict[str, str]) -> None:
    shared = settings.replace(redis_url=redis_url)
    writer = await aiohttp_client(create_app(shared))
    created = await writer.post(ADMIN, headers=admin_headers, json={
        "type": "project", "slug": "p", "data": {"title": "Before"}, "status": "published"})
    item = (await created.json())["data"]
    paths = [f"{PUBLIC}/project/p", PUBLIC, f"{PUBLIC}/bundle"]
    for path in paths:
        assert (await writer.get(path)).status == 200

    redis = aioredis.from_url(redis_url)
    try:
        cached = sorted([key.decode() async for key in redis.scan_iter(match="content:*")])
        assert cached == ["content:bundle", "content:item:project:p", "content:list:*"]

        await writer.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"data": {"title": "After"}})
        assert [key async for key in redis.scan_iter(match="content:*")] == []  # gone before the PUT returned
    finally:
        await redis.aclose()

    # The writer itself and an instance that has never read anything both see the new data.
    reader = await aiohttp_client(create_app(shared))
    for client in (writer, reader):
        assert (await (await client.get(paths[0])).json())["data"]["data"] == {"title": "After"}
        assert (await (await client.get(paths[1])).json())["data"][0]["data"] == {"title": "After"}
        assert (await (await client.get(paths[2])).json())["data"]["project"][0]["data"] == {"title": "After"}


async def test_a_cache_hit_never_reaches_the_database(client: Any, admin_headers: dict[str, str],
                                                      settings: Settings) -> None:
    created = await client.post(ADMIN, headers=admin_headers, json={
        "type": "project", "slug": "p", "data": {"title": "Cached"}, "status": "published"})
    item = (await created.json())["data"]
    first = await client.get(f"{PUBLIC}/project/p")
    # Change the row behind the service's back: only a read that skips SQL still sees the old data.
    # From a thread, so the app's own writers (the webhook dispatcher) can finish theirs while this one waits.
    def sneak() -> None:
        connection = sqlite3.connect(settings.database_path)
        with connection:
            connection.execute("UPDATE content SET data = '{\"title\":\"Sneaky\"}' WHERE id = ?", (item["id"],))
        connection.close()

    await asyncio.to_thread(sneak)
    second = await client.get(f"{PUBLIC}/project/p")
    assert await second.read() == await first.read()
    assert second.headers["ETag"] == first.headers["ETag"]
    # An admin write invalidates it: the next read comes from the database again.
    await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"sortOrder": 1})
    third = await (await client.get(f"{PUBLIC}/project/p")).json()
    assert (third["data"]["data"], third["data"]["sortOrder"]) == ({"title": "Sneaky"}, 1)
