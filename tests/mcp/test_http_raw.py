"""Raw JSON-RPC over /api/mcp: sessions, errors, headers, SSE, batches and the feature switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from folionaut.core.clock import ManualClock
from folionaut.mcp.sessions import SESSION_IDLE_SECONDS
from folionaut.settings import test_settings
from tests.conftest import ADMIN_KEY

MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def _headers(**extra: str) -> dict[str, str]:
    return {"X-Admin-Key": ADMIN_KEY, "Accept": "application/json, text/event-stream", **extra}


async def _initialize(client: Any, version: str = "2025-06-18") -> str:
    response = await client.post("/api/mcp", headers=_headers(), json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    assert response.status == 200
    assert (await response.json())["result"]["protocolVersion"] == version
    session_id = response.headers["Mcp-Session-Id"]
    ack = await client.post("/api/mcp", headers=_headers(**{"Mcp-Session-Id": session_id}),
                            json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert ack.status == 202
    return session_id


async def test_session_lifecycle_and_errors(client: Any) -> None:
    session_id = await _initialize(client)
    in_session = _headers(**{"Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-06-18"})

    tools = await client.post("/api/mcp", headers=in_session, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert len((await tools.json())["result"]["tools"]) == 11

    unknown = await client.post("/api/mcp", headers=in_session, json={"jsonrpc": "2.0", "id": 3, "method": "nope"})
    assert (await unknown.json())["error"]["code"] == -32601

    bad_params = await client.post("/api/mcp", headers=in_session,
                                   json={"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {}})
    assert (await bad_params.json())["error"]["code"] == -32602

    malformed = await client.post("/api/mcp", headers=in_session, data=b'{"jsonrpc": "2.0", "id": 5,',
                                  skip_auto_headers={"Content-Type"})
    assert malformed.status == 415  # no JSON content type
    malformed = await client.post("/api/mcp", headers={**in_session, "Content-Type": "application/json"},
                                  data=b'{"jsonrpc": "2.0", "id": 5,')
    assert malformed.status == 400
    assert (await malformed.json())["error"]["code"] == -32700

    not_rpc = await client.post("/api/mcp", headers=in_session, json={"hello": "world"})
    assert not_rpc.status == 400 and (await not_rpc.json())["error"]["code"] == -32600

    batch = await client.post("/api/mcp", headers=in_session, json=[{"jsonrpc": "2.0", "id": 6, "method": "ping"}])
    assert (await batch.json())["error"]["code"] == -32600  # batches were removed in 2025-06-18

    wrong_version = await client.post("/api/mcp", headers={**in_session, "MCP-Protocol-Version": "2025-03-26"},
                                      json={"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert wrong_version.status == 400
    unsupported = await client.post("/api/mcp", headers={**in_session, "MCP-Protocol-Version": "1999-01-01"},
                                    json={"jsonrpc": "2.0", "id": 8, "method": "ping"})
    assert unsupported.status == 400
    assert (await unsupported.json())["error"]["data"]["requested"] == "1999-01-01"

    missing = await client.post("/api/mcp", headers=_headers(), json={"jsonrpc": "2.0", "id": 9, "method": "ping"})
    assert missing.status == 400 and "Mcp-Session-Id" in (await missing.json())["error"]["message"]
    unknown_session = await client.post("/api/mcp", headers=_headers(**{"Mcp-Session-Id": "not-a-session"}),
                                        json={"jsonrpc": "2.0", "id": 10, "method": "ping"})
    assert unknown_session.status == 404

    ended = await client.delete("/api/mcp", headers=in_session)
    assert ended.status == 204
    after = await client.post("/api/mcp", headers=in_session, json={"jsonrpc": "2.0", "id": 11, "method": "ping"})
    assert after.status == 404
    assert (await client.delete("/api/mcp", headers=in_session)).status == 404
    assert (await client.delete("/api/mcp", headers=_headers())).status == 400


async def test_wrong_or_missing_admin_key(client: Any) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "x", "version": "1"}}}
    for headers in ({}, {"X-Admin-Key": "wrong-key-" + "x" * 30}):
        for method in ("POST", "GET", "DELETE"):
            response = await client.request(method, "/api/mcp", json=body, headers=headers)
            assert response.status == 401, method
            assert "Mcp-Session-Id" not in response.headers
            # The challenge tells Inspector, fastmcp and the SDKs to send a bearer token (no OAuth discovery).
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="folionaut"')


async def test_batches_in_2025_03_26(client: Any) -> None:
    session_id = await _initialize(client, "2025-03-26")
    response = await client.post("/api/mcp", headers=_headers(**{"Mcp-Session-Id": session_id}), json=[
        {"jsonrpc": "2.0", "id": "a", "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "zzz"}},
        {"jsonrpc": "2.0", "id": "b", "method": "nope"},
        {"jsonrpc": "2.0", "id": "c", "method": "initialize", "params": {}},
    ])
    replies = await response.json()
    assert [reply["id"] for reply in replies] == ["a", "b", "c"]
    assert replies[0]["result"] == {}
    assert replies[1]["error"]["code"] == -32601 and replies[2]["error"]["code"] == -32600


async def test_sse_only_client_and_get_stream(client: Any) -> None:
    session_id = await _initialize(client)
    sse_only = {"X-Admin-Key": ADMIN_KEY, "Accept": "text/event-stream", "Mcp-Session-Id": session_id}
    response = await client.post("/api/mcp", headers=sse_only,
                                 json={"jsonrpc": "2.0", "id": 1, "method": "prompts/list"})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    text = await response.text()
    assert text.startswith("event: message\ndata: {") and '"summarize_portfolio"' in text

    stream = await client.get("/api/mcp", headers=sse_only)
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert (await stream.content.readline()).startswith(b": stream open")
    second = await client.get("/api/mcp", headers=sse_only)
    assert second.status == 409
    assert (await client.delete("/api/mcp", headers=sse_only)).status == 204
    rest = await stream.content.read()  # ending the session ends its stream
    assert b"data:" not in rest
    json_only = await client.get("/api/mcp", headers={**sse_only, "Accept": "application/json"})
    assert json_only.status == 406


async def test_sse_answers_and_the_get_stream_carry_the_edge_headers(make_client: Any, settings: Any) -> None:
    # Their heads go out before the handler returns, so the edge adds its headers first (streams=True).
    origin = "https://inspector.example"
    client = await make_client(settings.replace(cors_origins=(origin,)))
    session_id = await _initialize(client)
    sse_only = {"X-Admin-Key": ADMIN_KEY, "Accept": "text/event-stream", "Mcp-Session-Id": session_id,
                "Origin": origin}
    answer = await client.post("/api/mcp", headers={**sse_only, "X-Request-Id": "mcp-sse-1"},
                               json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    stream = await client.get("/api/mcp", headers={**sse_only, "X-Request-Id": "mcp-stream-1"})
    assert (await stream.content.readline()).startswith(b": stream open")
    for response, request_id in ((answer, "mcp-sse-1"), (stream, "mcp-stream-1")):
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Request-Id"] == request_id
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Access-Control-Allow-Origin"] == origin
        names = [name.decode().lower() for name, _ in response.raw_headers]
        assert len(names) == len(set(names)), names
    assert (await client.delete("/api/mcp", headers=sse_only)).status == 204
    await stream.content.read()  # ending the session ends its stream


async def test_stateless_revision_raw(client: Any) -> None:
    def modern(method: str, **extra: str) -> dict[str, str]:
        return _headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": method, **extra})

    discover = await client.post("/api/mcp", headers=modern("server/discover"), json={
        "jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": ENVELOPE}})
    result = (await discover.json())["result"]
    assert "Mcp-Session-Id" not in discover.headers
    assert result["resultType"] == "complete" and MODERN in result["supportedVersions"]
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "folionaut"

    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "list_types", "arguments": {}, "_meta": ENVELOPE}}
    ok = await client.post("/api/mcp", headers=modern("tools/call", **{"Mcp-Name": "list_types"}), json=call)
    assert (await ok.json())["result"]["structuredContent"] == {"types": []}
    wrong_name = await client.post("/api/mcp", headers=modern("tools/call", **{"Mcp-Name": "get_content"}), json=call)
    assert wrong_name.status == 400 and (await wrong_name.json())["error"]["code"] == -32020
    wrong_method = await client.post("/api/mcp", headers=modern("tools/list"), json=call)
    assert wrong_method.status == 400

    no_envelope = await client.post("/api/mcp", headers=modern("tools/list"),
                                    json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    assert no_envelope.status == 400 and (await no_envelope.json())["error"]["code"] == -32602
    old_envelope = {**ENVELOPE, "io.modelcontextprotocol/protocolVersion": "2025-11-25"}
    mismatch = await client.post("/api/mcp", headers=modern("tools/list"),
                                 json={"jsonrpc": "2.0", "id": 4, "method": "tools/list",
                                       "params": {"_meta": old_envelope}})
    assert mismatch.status == 400 and (await mismatch.json())["error"]["code"] == -32020
    unknown = await client.post("/api/mcp", headers=modern("ping"),
                                json={"jsonrpc": "2.0", "id": 5, "method": "ping", "params": {"_meta": ENVELOPE}})
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == -32601  # ping is gone in 2026
    batch = await client.post("/api/mcp", headers=modern("tools/list"), json=[{"jsonrpc": "2.0", "id": 6}])
    assert batch.status == 400
    notification = await client.post("/api/mcp", headers=modern("notifications/cancelled"),
                                     json={"jsonrpc": "2.0", "method": "notifications/cancelled"})
    assert notification.status == 202
    assert (await client.get("/api/mcp", headers=modern("x"))).status == 405


async def test_feature_switch_removes_the_route(make_client: Any, data_dir: Path) -> None:
    client = await make_client(test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY,
                                             feature_mcp_server=False, feature_rate_limiting=False))
    for method in ("POST", "GET", "DELETE"):
        response = await client.request(method, "/api/mcp", headers=_headers(), json={})
        assert response.status == 404, method


async def test_idle_sessions_expire(make_client: Any, settings: Any) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    session_id = await _initialize(client)
    headers = _headers(**{"Mcp-Session-Id": session_id})
    clock.advance(SESSION_IDLE_SECONDS - 1)
    alive = await client.post("/api/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert alive.status == 200  # use keeps a session alive
    clock.advance(SESSION_IDLE_SECONDS + 1)
    expired = await client.post("/api/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert expired.status == 404
