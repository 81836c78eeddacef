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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.settings import Settings, test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import DatabaseBackend, open_database_backend

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
