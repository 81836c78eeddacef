"""The Hrana test server itself, at the wire level: the parts libsql-client does not exercise."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers.hrana_server import HranaServer

TOKEN = "wire-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[HranaServer]:
    async with HranaServer(tmp_path / "wire.db", auth_token=TOKEN) as hrana:
        yield hrana


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # No keep-alive: a refused/restarted server must be seen by the next request, not a stale pooled connection.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as client:
        yield client


def stmt(sql: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"sql": sql, "args": list(args)}


async def post(session: aiohttp.ClientSession, server: HranaServer, path: str, body: object,
               headers: dict[str, str] = AUTH) -> tuple[int, Any]:
    async with session.post(server.url_http + path, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_http_auth_is_required(server: HranaServer, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, server, "/v1/execute", {"stmt": stmt("SELECT 1")}, headers={})
    assert status == 401 and body["code"] == "UNAUTHORIZED"
    status, body = await post(session, server, "/v1/execute", {"stmt": stmt("SELECT 1")},
                              headers={"Authorization": "Bearer wrong"})
    assert status == 401


async def test_http_execute_encodes_values(server: HranaServer, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, server, "/v1/execute", {"stmt": {
        "sql": "SELECT :a AS a, $b AS b, NULL AS n, 1.25 AS f, x'00ff' AS blob",
        "named_args": [{"name": ":a", "value": {"type": "integer", "value": "9007199254740993"}},
                       {"name": "$b", "value": {"type": "text", "value": "é"}}],
    }})
    assert status == 200
    result = body["result"]
    assert [c["name"] for c in result["cols"]] == ["a", "b", "n", "f", "blob"]
    assert result["rows"] == [[
        {"type": "integer", "value": "9007199254740993"}, {"type": "text", "value": "é"},
        {"type": "null"}, {"type": "float", "value": 1.25}, {"type": "blob", "base64": "AP8="},
    ]]
    status, body = await post(session, server, "/v1/execute", {"stmt": stmt("SELEC 1")})
    assert status == 400 and body["code"] == "SQLITE_ERROR" and "syntax error" in body["message"]


async def test_batch_conditions(server: HranaServer, session: aiohttp.ClientSession) -> None:
    steps = [
        {"stmt": stmt("CREATE TABLE t (x INTEGER UNIQUE)")},                                   # 0 ok
        {"stmt": stmt("INSERT INTO t VALUES (1)")},                                            # 1 ok
        {"stmt": stmt("INSERT INTO t VALUES (1)")},                                            # 2 error
        {"condition": {"type": "error", "step": 2}, "stmt": stmt("INSERT INTO t VALUES (2)")},  # 3 runs
        {"condition": {"type": "ok", "step": 2}, "stmt": stmt("INSERT INTO t VALUES (3)")},     # 4 skipped
        {"condition": {"type": "and", "conds": [{"type": "ok", "step": 0}, {"type": "not", "cond": {
            "type": "ok", "step": 4}}]}, "stmt": stmt("INSERT INTO t VALUES (4)")},             # 5 runs
        {"condition": {"type": "or", "conds": [{"type": "ok", "step": 4}, {"type": "error", "step": 4}]},
         "stmt": stmt("INSERT INTO t VALUES (5)")},                                            # 6 skipped
        {"condition": {"type": "is_autocommit"}, "stmt": stmt("SELECT x FROM t ORDER BY x")},  # 7 runs
    ]
    status, body = await post(session, server, "/v1/batch", {"batch": {"steps": steps}})
    assert status == 200
    results, errors = body["result"]["step_results"], body["result"]["step_errors"]
    assert [r is not None for r in results] == [True, True, False, True, False, True, False, True]
    assert [e is not None for e in errors] == [False, False, True, False, False, False, False, False]
    assert errors[2]["code"] == "SQLITE_CONSTRAINT_UNIQUE"
    assert [row[0]["value"] for row in results[7]["rows"]] == ["1", "2", "4"]


async def test_http_request_leaves_no_open_transaction(server: HranaServer, session: aiohttp.ClientSession) -> None:
    await post(session, server, "/v1/execute", {"stmt": stmt("CREATE TABLE t (x)")})
    steps = [{"stmt": stmt("BEGIN")}, {"stmt": stmt("INSERT INTO t VALUES (1)")}]  # never committed
    status, _ = await post(session, server, "/v1/batch", {"batch": {"steps": steps}})
    assert status == 200
    _, body = await post(session, server, "/v1/execute", {"stmt": stmt("SELECT count(*) FROM t")})
    assert body["result"]["rows"] == [[{"type": "integer", "value": "0"}]]


async def ws_exchange(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send_str(json.dumps(message))
    reply = await ws.receive(timeout=5)
    assert reply.type == aiohttp.WSMsgType.TEXT, reply
    return json.loads(reply.data)


async def test_websocket_hrana2_requests(server: HranaServer, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(server.url_ws, protocols=["hrana2"]) as ws:
        assert ws.protocol == "hrana2"
        assert (await ws_exchange(ws, {"type": "hello", "jwt": TOKEN}))["type"] == "hello_ok"

        def request(number: int, body: dict[str, Any]) -> dict[str, Any]:
            return {"type": "request", "request_id": number, "request": body}

        replies = [
            await ws_exchange(ws, request(1, {"type": "open_stream", "stream_id": 7})),
            await ws_exchange(ws, request(2, {"type": "sequence", "stream_id": 7,
                                              "sql": "CREATE TABLE s (x); INSERT INTO s VALUES ('a;b');"})),
            await ws_exchange(ws, request(3, {"type": "store_sql", "sql_id": 1, "sql": "SELECT x FROM s"})),
            await ws_exchange(ws, request(4, {"type": "execute", "stream_id": 7, "stmt": {"sql_id": 1}})),
            await ws_exchange(ws, request(5, {"type": "describe", "stream_id": 7, "sql_id": 1})),
            await ws_exchange(ws, request(6, {"type": "execute", "stream_id": 99, "stmt": stmt("SELECT 1")})),
            await ws_exchange(ws, request(7, {"type": "close_sql", "sql_id": 1})),
            await ws_exchange(ws, request(8, {"type": "close_stream", "stream_id": 7})),
        ]
        assert [r["type"] for r in replies] == ["response_ok"] * 5 + ["response_error"] + ["response_ok"] * 2
        assert [r["request_id"] for r in replies] == list(range(1, 9))
        assert replies[3]["response"]["result"]["rows"] == [[{"type": "text", "value": "a;b"}]]
        assert replies[4]["response"]["result"]["is_readonly"] is True
        assert replies[5]["error"]["code"] == "STREAM_NOT_FOUND"


async def test_websocket_rejects_bad_token_and_hrana1_extras(server: HranaServer,
                                                            session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(server.url_ws, protocols=["hrana3", "hrana2"]) as ws:
        assert ws.protocol == "hrana3"
        reply = await ws_exchange(ws, {"type": "hello", "jwt": "wrong"})
        assert reply["type"] == "hello_error" and reply["error"]["code"] == "UNAUTHORIZED"
        assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

    async with session.ws_connect(server.url_ws) as ws:  # no subprotocol: hrana1
        assert (await ws_exchange(ws, {"type": "hello", "jwt": TOKEN}))["type"] == "hello_ok"
        await ws.send_str(json.dumps({"type": "request", "request_id": 1,
                                      "request": {"type": "store_sql", "sql_id": 1, "sql": "SELECT 1"}}))
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_failure_switches(server: HranaServer, session: aiohttp.ClientSession) -> None:
    port = server.port
    await server.fail_with_status(503)
    async with session.post(server.url_http + "/v1/execute", json={"stmt": stmt("SELECT 1")}, headers=AUTH) as r:
        assert r.status == 503
    await server.fail_with_status(None)
    await server.refuse()
    with pytest.raises(aiohttp.ClientConnectorError):
        await post(session, server, "/v1/execute", {"stmt": stmt("SELECT 1")})
    await server.restart()
    assert server.port == port
    status, _ = await post(session, server, "/v1/execute", {"stmt": stmt("SELECT 1")})
    assert status == 200

    async with session.ws_connect(server.url_ws, protocols=["hrana2"]) as ws:
        assert (await ws_exchange(ws, {"type": "hello", "jwt": TOKEN}))["type"] == "hello_ok"
        await server.drop_sockets()
        dropped = await ws.receive(timeout=5)
        assert dropped.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
