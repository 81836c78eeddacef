"""Two instances of the service on one libSQL database (the Hrana test server) and one Redis, as one service.

Each instance is a whole app on its own loopback port with its own process
state (caches, limiters, MCP and chat bookkeeping); only the database and
Redis are shared, as between two hosts. A client may reach either for any
request: writes made on one are read on the other, an MCP session opened on
one is used (and ended) on the other, and a visitor whose first two messages
arrive at both at once gets one chat session.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.settings import Settings, test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import DatabaseBackend, open_database_backend
from tests.helpers.redis_server import RedisServer

ADMIN = "/api/v1/admin/content"
HEADERS = {"X-Admin-Key": ADMIN_KEY}
MCP_HEADERS = {**HEADERS, "Accept": "application/json, text/event-stream"}


@pytest.fixture(params=["hrana-ws", "hrana-http"])
async def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    async with open_database_backend(request.param, tmp_path / "db") as backend:
        yield backend


def instance_settings(backend: DatabaseBackend, data_dir: Path, redis_url: str) -> Settings:
    return test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
                         redis_url=redis_url, **backend.settings_changes())


@pytest.fixture
async def pair(aiohttp_client: Any, shared_database: DatabaseBackend, tmp_path: Path,
               redis_url: str) -> tuple[TestClient, TestClient]:
    first = await aiohttp_client(create_app(instance_settings(shared_database, tmp_path / "a", redis_url)))
    second = await aiohttp_client(create_app(instance_settings(shared_database, tmp_path / "b", redis_url)))
    return first, second


async def test_writes_on_one_are_read_on_the_other(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    created = await first.post(ADMIN, headers=HEADERS, json={
        "type": "project", "slug": "shared", "status": "published", "data": {"title": "Version 1"}})
    assert created.status == 201
    item = (await created.json())["data"]
    # Both instances read it (and cache it).
    for instance in pair:
        response = await instance.get("/api/v1/content/project/shared")
        assert (await response.json())["data"]["data"]["title"] == "Version 1"

    updated = await first.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                              json={"data": {"title": "Version 2"}, "version": 1})
    assert updated.status == 200
    # The other instance drops its cached copy as soon as the write is acknowledged.
    response = await second.get("/api/v1/content/project/shared")
    assert (await response.json())["data"]["data"]["title"] == "Version 2"
    bundle = await second.get("/api/v1/content/bundle")
    assert [entry["data"]["title"] for entry in (await bundle.json())["data"]["project"]] == ["Version 2"]

    # And a version conflict is a conflict whichever instance the stale writer reaches.
    stale = await second.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                             json={"data": {"title": "Lost update"}, "version": 1})
    assert stale.status == 409


async def test_an_mcp_session_opened_on_one_is_used_on_the_other(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    opened = await first.post("/api/mcp", headers=MCP_HEADERS, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "two", "version": "1"}}})
    assert opened.status == 200
    session = {**MCP_HEADERS, "Mcp-Session-Id": opened.headers["Mcp-Session-Id"],
               "MCP-Protocol-Version": "2025-06-18"}
    ack = await second.post("/api/mcp", headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert ack.status == 202
    tools = await second.post("/api/mcp", headers=session, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert tools.status == 200
    names = {tool["name"] for tool in (await tools.json())["result"]["tools"]}
    assert {"list_content", "create_content"} <= names  # the admin key's session: read and write tools
    # The negotiated version travels with the session: a different one is refused on either instance.
    other_version = await first.post("/api/mcp", headers={**session, "MCP-Protocol-Version": "2025-03-26"},
                                     json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    assert other_version.status == 400

    ended = await second.delete("/api/mcp", headers=session)
    assert ended.status == 204
    gone = await first.post("/api/mcp", headers=session, json={"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert gone.status == 404


async def test_a_visitors_first_messages_on_both_get_one_session(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair

    async def say(instance: TestClient, visitor: str, text: str) -> str:
        response = await instance.post("/api/v1/chat", json={"message": text, "visitorId": visitor})
        assert response.status == 200, await response.text()
        return str((await response.json())["sessionId"])

    for round_number in range(3):  # each round is a race of its own
        visitor = f"two-tabs-{round_number}"
        one, two = await asyncio.gather(say(first, visitor, "Hello"), say(second, visitor, "Which projects?"))
        assert one == two
        assert await say(second, visitor, "And skills?") == one
        listing = await first.get("/api/v1/admin/chat/sessions", headers=HEADERS)
        sessions = [entry for entry in (await listing.json())["data"] if entry["visitorId"] == visitor]
        assert len(sessions) == 1 and sessions[0]["messageCount"] == 6, sessions


async def test_an_http_sse_session_answers_messages_posted_to_the_other_instance(
    pair: tuple[TestClient, TestClient]
) -> None:
    first, second = pair
    stream = await first.get("/api/mcp/sse", headers={**HEADERS, "Accept": "text/event-stream"})
    assert stream.status == 200

    async def event() -> tuple[str, str]:
        fields: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().rstrip("\n")
            if not line and "event" in fields:
                return fields["event"], fields["data"]
            if line.startswith(("event: ", "data: ")):
                name, _, value = line.partition(": ")
                fields[name] = value

    kind, endpoint = await event()
    assert kind == "endpoint"
    for number, instance in enumerate((second, first, second), start=1):
        posted = await instance.post("/api/mcp/" + endpoint, headers=HEADERS,
                                     json={"jsonrpc": "2.0", "id": number, "method": "ping"})
        assert posted.status == 202
        assert json.loads((await event())[1]) == {"jsonrpc": "2.0", "id": number, "result": {}}
    stream.close()


async def test_a_change_made_while_redis_was_away_still_reaches_the_other_instance(
    aiohttp_client: Any, shared_database: DatabaseBackend, tmp_path: Path, private_redis: RedisServer
) -> None:
    first = await aiohttp_client(create_app(instance_settings(shared_database, tmp_path / "a", private_redis.url)))
    second = await aiohttp_client(create_app(instance_settings(shared_database, tmp_path / "b", private_redis.url)))
    created = await first.post(ADMIN, headers=HEADERS, json={
        "type": "project", "slug": "outage", "status": "published", "data": {"title": "Before"}})
    item = (await created.json())["data"]
    assert (await (await second.get("/api/v1/content/project/outage")).json())["data"]["data"]["title"] == "Before"

    private_redis.stop()  # the change below reaches no one through Redis
    updated = await first.put(f"{ADMIN}/{item['id']}", headers=HEADERS,
                              json={"data": {"title": "During"}, "version": 1})
    assert updated.status == 200
    private_redis.restart()
    # Back: the other instance resubscribes and drops what it cached (it cannot know what it missed);
    # the change counter's watch would catch it too, within a second.
    for _ in range(100):  # bounded: 10 s
        read = await second.get("/api/v1/content/project/outage")
        if (await read.json())["data"]["data"]["title"] == "During":
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the other instance kept serving what changed while Redis was away")
