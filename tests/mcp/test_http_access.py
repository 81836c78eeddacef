"""/api/mcp as the transport spec and our scopes want it: Origin checks, sessions bound to their credential,
each revision's shape of tools (2024-11-05 included), resource paging and the HTTP+SSE transport."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from folionaut.settings import Settings
from tests.access.conftest import ADMIN, bearer, create_token
from tests.mcp.conftest import seed_content

ACCEPT = {"Accept": "application/json, text/event-stream"}


def _init(version: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}


async def _session(client: Any, headers: dict[str, str], version: str = "2025-11-25") -> dict[str, str]:
    response = await client.post("/api/mcp", headers={**headers, **ACCEPT}, json=_init(version))
    assert response.status == 200, await response.text()
    assert (await response.json())["result"]["protocolVersion"] == version
    return {**headers, **ACCEPT, "Mcp-Session-Id": response.headers["Mcp-Session-Id"]}


async def _rpc(client: Any, headers: dict[str, str], method: str, params: dict[str, Any] | None = None,
               request_id: int = 2) -> Any:
    response = await client.post("/api/mcp", headers=headers,
                                 json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_foreign_origin_is_refused_with_403(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(cors_origins=("https://editor.example",)))
    for origin, status in (("https://evil.example", 403), ("http://127.0.0.1:9", 403), ("null", 403),
                           ("https://editor.example", 200), ("https://editor.example/", 200), (None, 200)):
        headers = {**ADMIN, **ACCEPT, **({"Origin": origin} if origin else {})}
        response = await client.post("/api/mcp", headers=headers, json=_init("2025-06-18"))
        assert response.status == status, origin
        if status == 403:
            body = await response.json()
            assert body["id"] is None and "Origin" in body["error"]["message"] and "Mcp-Session-Id" not in \
                response.headers
    session = await _session(client, ADMIN)
    for method in ("GET", "DELETE"):  # every MCP route checks it, sessions' too
        refused = await client.request(method, "/api/mcp", headers={**session, "Origin": "https://evil.example"})
        assert refused.status == 403, method
    stream = await client.get("/api/mcp/sse", headers={**ADMIN, "Accept": "text/event-stream",
                                                        "Origin": "https://evil.example"})
    assert stream.status == 403


async def test_any_origin_when_cors_allows_any(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(cors_origins=("*",)))
    response = await client.post("/api/mcp", headers={**ADMIN, **ACCEPT, "Origin": "https://anywhere.example"},
                                 json=_init("2025-06-18"))
    assert response.status == 200


async def test_a_session_belongs_to_the_credential_that_opened_it(client: Any) -> None:
    reader = bearer(await create_token(client, "reader", "read"))
    other = bearer(await create_token(client, "other", "write"))
    session = await _session(client, reader)
    assert len((await _rpc(client, session, "tools/list"))["result"]["tools"]) == 5
    # Another credential cannot ride on it (nor gain its own scope in it); X-Admin-Key is read before Bearer.
    for hijack in ({**session, **other}, {**session, **ADMIN}):
        response = await client.post("/api/mcp", headers=hijack, json={"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert response.status == 404
    assert (await _rpc(client, session, "ping"))["result"] == {}


async def test_each_revision_gets_the_tool_shape_it_defines(client: Any) -> None:
    for version, titled, annotated in (("2024-11-05", False, False), ("2025-03-26", False, True),
                                       ("2025-06-18", True, True), ("2025-11-25", True, True)):
        session = await _session(client, ADMIN, version)
        tools = (await _rpc(client, session, "tools/list"))["result"]["tools"]
        assert all(("title" in tool) is titled and ("outputSchema" in tool) is titled for tool in tools), version
        assert all(("annotations" in tool) is annotated for tool in tools), version
        called = (await _rpc(client, session, "tools/call", {"name": "list_types", "arguments": {}}))["result"]
        assert ("structuredContent" in called) is titled and json.loads(called["content"][0]["text"]) == {"types": []}
        prompts = (await _rpc(client, session, "prompts/list"))["result"]["prompts"]
        assert all(("title" in prompt) is titled for prompt in prompts), version
        initialized = await client.post("/api/mcp", headers={**ADMIN, **ACCEPT}, json=_init(version))
        assert ("title" in (await initialized.json())["result"]["serverInfo"]) is titled
    old = await _session(client, ADMIN, "2024-11-05")  # plain JSON-RPC 2.0: batches are answered
    batch = await client.post("/api/mcp", headers=old, json=[{"jsonrpc": "2.0", "id": "a", "method": "ping"},
                                                            {"jsonrpc": "2.0", "id": "b", "method": "tools/list"}])
    assert [reply["id"] for reply in await batch.json()] == ["a", "b"]


async def test_resources_page_with_cursors(client: Any) -> None:
    for number in range(120):
        created = await client.post("/api/v1/admin/content", headers=ADMIN, json={
            "type": "note", "slug": f"note-{number:03d}", "data": {"title": f"Note {number}"},
            "status": "published" if number % 2 else "draft"})
        assert created.status == 201
    session = await _session(client, ADMIN)
    uris: list[str] = []
    params: dict[str, Any] = {}
    for _ in range(5):  # bounded: 122 resources in pages of 100
        result = (await _rpc(client, session, "resources/list", params))["result"]
        uris += [resource["uri"] for resource in result["resources"]]
        if "nextCursor" not in result:
            break
        params = {"cursor": result["nextCursor"]}
    assert len(uris) == len(set(uris)) == 122  # the whole, the one type, every item (drafts too) once
    bad = await _rpc(client, session, "resources/list", {"cursor": "bm9wZQ"})
    assert bad["error"]["code"] == -32602


async def test_the_http_sse_transport_of_2024_11_05(client: Any) -> None:
    await seed_content(client, ADMIN)
    token = bearer(await create_token(client, "old-client", "read"))
    stream = await client.get("/api/mcp/sse", headers={**token, "Accept": "text/event-stream"})
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")

    async def event() -> tuple[str, str]:
        lines: list[str] = []
        while True:
            line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().rstrip("\n")
            if line == "" and lines:
                break
            if line and not line.startswith(":"):
                lines.append(line)
        fields = dict(line.split(": ", 1) for line in lines)
        return fields["event"], fields["data"]

    kind, endpoint = await event()
    assert kind == "endpoint" and endpoint.startswith("messages?sessionId=")
    post_url = "/api/mcp/" + endpoint
    posted = await client.post(post_url, headers=token, json=_init("2024-11-05"))
    assert posted.status == 202
    kind, data = await event()
    assert kind == "message" and json.loads(data)["result"]["protocolVersion"] == "2024-11-05"
    await client.post(post_url, headers=token, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    await client.post(post_url, headers=token, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                     "params": {"name": "create_content", "arguments": {}}})
    refused = json.loads((await event())[1])
    assert refused["id"] == 2 and "needs write access" in refused["error"]["message"]

    other = bearer(await create_token(client, "someone-else", "write"))
    assert (await client.post(post_url, headers=other, json={"jsonrpc": "2.0", "id": 3, "method": "ping"})).status \
        == 404
    assert (await client.post("/api/mcp/messages?sessionId=nope", headers=token, json={})).status == 404
    assert (await client.post("/api/mcp/messages", headers=token, json={})).status == 400
    assert (await client.post(post_url, json={})).status == 401
    stream.close()  # the session ends with its stream
    for _ in range(50):  # bounded wait for the server to notice
        gone = await client.post(post_url, headers=token, json={"jsonrpc": "2.0", "id": 4, "method": "ping"})
        if gone.status == 404:
            break
        await asyncio.sleep(0.05)
    assert gone.status == 404


async def test_the_http_sse_stream_carries_the_edge_headers(make_client: Any, settings: Settings) -> None:
    # Its head goes out before the handler returns, so the edge adds its headers first (streams=True).
    origin = "https://inspector.example"
    client = await make_client(settings.replace(cors_origins=(origin,)))
    stream = await client.get("/api/mcp/sse", headers={**ADMIN, "Accept": "text/event-stream", "Origin": origin,
                                                        "X-Request-Id": "mcp-sse-stream-1"})
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["X-Request-Id"] == "mcp-sse-stream-1"
    assert stream.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in stream.headers["Content-Security-Policy"]
    assert stream.headers["Access-Control-Allow-Origin"] == origin
    names = [name.decode().lower() for name, _ in stream.raw_headers]
    assert len(names) == len(set(names)), names
    assert (await asyncio.wait_for(stream.content.readline(), 10)).startswith(b"event: endpoint")
    stream.close()
