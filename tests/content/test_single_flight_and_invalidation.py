"""One rebuild per change, however many readers; a write drops what it touches and nothing else;
this service's own writes never clear the cache a second time, another process's writes still do."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from folionaut.http.app import create_app
from folionaut.http.state import RUNTIME
from folionaut.runtime import EXTERNAL_CHANGE_POLL_SECONDS
from folionaut.settings import Settings
from tests.content.conftest import ADMIN, PUBLIC
from tests.helpers.generated_portfolio import new_portfolio_database

BUNDLE = f"{PUBLIC}/bundle"


def builds(app: Any, kind: str) -> float:
    return app[RUNTIME].metrics.registry.get_sample_value("published_builds_total", {"kind": kind}) or 0.0


def memory_hits(app: Any) -> float:
    return app[RUNTIME].metrics.registry.get_sample_value(
        "cache_operations_total", {"operation": "get", "result": "hit", "layer": "memory"}) or 0.0


async def started(aiohttp_client: Any, settings: Settings, items: int = 600) -> tuple[Any, Any]:
    # A portfolio big enough that a bundle build takes a while, written straight into the file.
    await new_portfolio_database(Path(settings.database_path), items)
    app = create_app(settings)
    return app, await aiohttp_client(app)


async def admin_id(client: Any, headers: dict[str, str], slug: str) -> str:
    listing = await (await client.get(f"{ADMIN}?type={slug.split('-')[0]}&limit=100", headers=headers)).json()
    return next(item["id"] for item in listing["data"] if item["slug"] == slug)


@pytest.mark.parametrize("with_redis", [False, True], ids=["memory", "redis"])
async def test_concurrent_misses_wait_for_one_build(aiohttp_client: Any, settings: Settings, redis_url: str,
                                                    admin_headers: dict[str, str], with_redis: bool) -> None:
    if with_redis:
        settings = settings.replace(redis_url=redis_url)
    app, client = await started(aiohttp_client, settings)
    first = await client.get(BUNDLE)
    assert first.status == 200 and builds(app, "bundle") == 1

    item_id = await admin_id(client, admin_headers, "project-8")
    updated = await client.put(f"{ADMIN}/{item_id}", headers=admin_headers, json={"sortOrder": 3})
    assert updated.status == 200

    responses = await asyncio.gather(*(client.get(BUNDLE) for _ in range(32)))
    bodies = {await response.read() for response in responses}
    assert [response.status for response in responses] == [200] * 32
    assert len(bodies) == 1 and bodies != {await first.read()}  # everyone got the new version
    assert builds(app, "bundle") == 2  # one rebuild for 32 readers

    # The same for an item nobody has read yet, and for a missing one (the 404 is shared, not cached).
    items = await asyncio.gather(*(client.get(f"{PUBLIC}/post/post-5") for _ in range(16)))
    assert {response.status for response in items} == {200}
    assert builds(app, "item") == 1
    missing = await asyncio.gather(*(client.get(f"{PUBLIC}/post/nothing-here") for _ in range(16)))
    assert {response.status for response in missing} == {404}
    assert builds(app, "item") == 2


async def test_a_write_drops_what_it_touches_and_leaves_the_rest(
        aiohttp_client: Any, settings: Settings, admin_headers: dict[str, str]) -> None:
    app, client = await started(aiohttp_client, settings, items=40)
    unrelated = f"{PUBLIC}/skill/skill-2"
    touched = f"{PUBLIC}/project/project-8"
    for path in (unrelated, touched, BUNDLE, f"{PUBLIC}?type=skill"):
        assert (await client.get(path)).status == 200
    built = {kind: builds(app, kind) for kind in ("item", "list", "bundle")}

    item_id = await admin_id(client, admin_headers, "project-8")
    assert (await client.put(f"{ADMIN}/{item_id}", headers=admin_headers,
                             json={"data": {"title": "Changed"}})).status == 200
    hits = memory_hits(app)
    assert (await client.get(unrelated)).status == 200
    assert (await client.get(f"{PUBLIC}?type=skill")).status == 200
    assert memory_hits(app) == hits + 2  # the other type's item and list are still hits
    changed = await (await client.get(touched)).json()
    assert changed["data"]["data"] == {"title": "Changed"}
    assert (await client.get(BUNDLE)).status == 200
    assert builds(app, "item") == built["item"] + 1 and builds(app, "bundle") == built["bundle"] + 1
    assert builds(app, "list") == built["list"]

    # Long enough for the watch of other processes' writes to see the counter our write moved: it
    # knows the write was ours and clears nothing (it used to drop every cached read a second later).
    await asyncio.sleep(EXTERNAL_CHANGE_POLL_SECONDS * 2.5)
    hits = memory_hits(app)
    for path in (unrelated, touched, BUNDLE, f"{PUBLIC}?type=skill"):
        assert (await client.get(path)).status == 200
    assert memory_hits(app) == hits + 4
    assert builds(app, "item") == built["item"] + 1


async def test_another_processs_write_still_clears_the_cache(
        aiohttp_client: Any, settings: Settings, admin_headers: dict[str, str]) -> None:
    _, client = await started(aiohttp_client, settings, items=40)
    path = f"{PUBLIC}/skill/skill-2"
    before = await (await client.get(path)).json()
    # Our own write first, so the watch has one of ours and one of theirs to tell apart.
    item_id = await admin_id(client, admin_headers, "project-8")
    assert (await client.put(f"{ADMIN}/{item_id}", headers=admin_headers, json={"sortOrder": 5})).status == 200
    connection = sqlite3.connect(settings.database_path)
    with connection:
        connection.execute("UPDATE content SET data = '{\"title\":\"From elsewhere\"}' WHERE slug = 'skill-2'")
    connection.close()
    for _ in range(50):  # bounded: 5 s
        body = await (await client.get(path)).json()
        if body["data"]["data"] != before["data"]["data"]:
            break
        await asyncio.sleep(0.1)
    assert body["data"]["data"] == {"title": "From elsewhere"}
