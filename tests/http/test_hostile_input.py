"""Hostile input over real HTTP on loopback (raw sockets where a client would refuse the bytes): key bytes
that are not UTF-8, JSON nested too deep, whole numbers beyond 2^53, names ending in a newline, numbers in
other scripts, and Vary: Origin on every answer CORS can change (issue 15)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from folionaut.core import jsonutil
from folionaut.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.http.test_server_protocol import logs, read_response, serving  # noqa: F401  (logs: a fixture)


async def raw_request(port: int, head: bytes) -> tuple[int, dict[str, str], Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        status, headers, body = await read_response(reader)
        return status, headers, jsonutil.loads(body) if body else None
    finally:
        writer.close()


@pytest.mark.parametrize("credential", [
    b"X-Admin-Key: " + ADMIN_KEY.encode()[:10] + b"\xff\xfe" + ADMIN_KEY.encode()[12:],
    b"X-Admin-Key: \xc3\x28\xa0\xa1",
    b"Authorization: Bearer \xff\xfe\xfd-not-utf8",
    b"Cookie: folionaut_session=\xff\xfe\xfd",
])
async def test_key_bytes_that_are_not_utf8_are_refused_and_audited(
    settings: Settings, logs: io.StringIO, credential: bytes  # noqa: F811
) -> None:
    async with serving(settings, feature_admin_ui=True) as port:
        status, headers, body = await raw_request(
            port, b"GET /api/v1/admin/content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + credential + b"\r\n\r\n")
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED", body
    assert headers["www-authenticate"].startswith("Bearer")
    audit = [jsonutil.loads(line) for line in logs.getvalue().splitlines() if '"context":"audit"' in line]
    assert len(audit) == 1 and "refused (401" in audit[0]["message"] and audit[0]["path"] == "/api/v1/admin/content"


def nested(depth: int) -> str:
    """JSON text of objects and arrays nested ``depth`` deep (the value itself is level 1)."""
    opening = "".join('{"in": ' if level % 2 == 0 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 == 0 else "]" for level in reversed(range(depth)))
    return f'{opening}"bottom"{closing}'


async def post(port: int, path: str, body: bytes, method: str = "POST") -> tuple[int, dict[str, str], Any]:
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Admin-Key: {ADMIN_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return await raw_request(port, head + body)


async def test_content_data_nested_too_deep_or_with_huge_whole_numbers_is_a_validation_error(
    settings: Settings,
) -> None:
    async with serving(settings) as port:
        ok = await post(port, "/api/v1/admin/content", (
            f'{{"type": "note", "slug": "deep", "data": {{"title": "t", "tree": {nested(63)}, "big": {2**53}}}}}'
        ).encode())
        assert ok[0] == 201, ok
        item = ok[2]["data"]
        assert item["data"]["big"] == 2**53
        for depth in (64, 300, 1_000):  # 300 and 1,000 used to be 500s (serialising fails near 254)
            status, _, body = await post(port, "/api/v1/admin/content", (
                f'{{"type": "note", "slug": "deep-{depth}", "data": {{"tree": {nested(depth)}}}}}').encode())
            assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", (depth, body)
            assert "64 levels" in body["error"]["fields"]["data"][0]
            status, _, body = await post(port, f"/api/v1/admin/content/{item['id']}",
                                         f'{{"data": {{"tree": {nested(depth)}}}}}'.encode(), method="PUT")
            assert status == 400 and "data" in body["error"]["fields"], (depth, body)
        beyond_the_parser = b'{"type": "note", "data": {"x": ' + b"[" * 2_000 + b"]" * 2_000 + b"}}"
        status, _, body = await post(port, "/api/v1/admin/content", beyond_the_parser)
        assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR" and "body" in body["error"]["fields"]
        for number in (b"9007199254740993", b"-9007199254740993", b"18446744073709551616",
                       b"-123456789012345678901234567890"):
            status, _, body = await post(port, "/api/v1/admin/content",
                                         b'{"type": "note", "data": {"title": "n", "n": [' + number + b"]}}")
            assert status == 400 and "2^53" in body["error"]["fields"]["data"][0], (number, body)
        status, _, body = await post(port, "/api/v1/admin/content", b'{"type": "note", "data": {"title": "n", '
                                     b'"n": 0.5, "m": -9007199254740992, "f": 1e300, "g": 1.8446744073709552e19, '
                                     b'"s": "18446744073709551616"}}')
        assert status == 201, body  # floats written as floats, and digits in strings, are data like any other
        assert body["data"]["data"]["f"] == 1e300 and body["data"]["data"]["s"] == "18446744073709551616"


async def test_mcp_create_and_update_tools_refuse_deep_data_with_fields(settings: Settings) -> None:
    async with serving(settings) as port:
        headers = {"Accept": "application/json, text/event-stream"}

        async def rpc(message: dict[str, Any] | str, session: str | None = None) -> tuple[int, dict[str, str], Any]:
            extra = "".join(f"{name}: {value}\r\n" for name, value in {
                **headers, **({"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"} if session else {}),
            }.items())
            body = message.encode() if isinstance(message, str) else jsonutil.dumps(message)
            head = (f"POST /api/mcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Admin-Key: {ADMIN_KEY}\r\n{extra}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            return await raw_request(port, head + body)

        _, init_headers, _ = await rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        session = init_headers["mcp-session-id"]
        await rpc({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        _, _, created = await rpc({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "create_content", "arguments": {"type": "note", "data": {"title": "t"}}}}, session)
        item_id = created["result"]["structuredContent"]["item"]["id"]
        for call_id, (name, arguments) in enumerate([
            ("create_content", f'{{"type": "note", "data": {{"tree": {nested(500)}}}}}'),
            ("update_content", f'{{"id": "{item_id}", "data": {{"tree": {nested(500)}}}}}'),
            ("create_content", f'{{"type": "note", "data": {{"title": "n", "n": {2**60}}}}}'),
        ], start=3):
            _, _, answer = await rpc(f'{{"jsonrpc": "2.0", "id": {call_id}, "method": "tools/call", '
                                     f'"params": {{"name": "{name}", "arguments": {arguments}}}}}', session)
            result = answer["result"]
            assert result["isError"] is True, answer
            assert "data:" in result["content"][0]["text"] and ("64 levels" in result["content"][0]["text"]
                                                                or "2^53" in result["content"][0]["text"])


@pytest.mark.parametrize("name", ["nl\n", "nl\r\n", "nl\n\n", " nl", "nl "])
async def test_names_must_match_whole(settings: Settings, name: str) -> None:
    async with serving(settings) as port:
        for field, body in (("type", {"type": name, "slug": "ok", "data": {"title": "t"}}),
                            ("slug", {"type": "note", "slug": name, "data": {"title": "t"}})):
            status, _, answer = await post(port, "/api/v1/admin/content", jsonutil.dumps(body))
            assert status == 400 and field in answer["error"]["fields"], (field, answer)
        status, _, listing = await raw_request(port, b"GET /api/v1/content HTTP/1.1\r\nHost: x\r\n"
                                                     b"Connection: close\r\n\r\n")
        assert listing["data"] == []


@pytest.mark.parametrize("value", ["\u0661\u0662", "1_0", "\uff11\uff10", " 10", "10 ", "+10", "0x10", "1e1",
                                   "99999999999999999999999"])
async def test_numeric_parameters_take_ascii_digits_only(settings: Settings, value: str) -> None:
    async with serving(settings) as port:
        from urllib.parse import quote

        for path in ("/api/v1/content?limit=", "/api/v1/admin/content?offset="):
            status, _, body = await raw_request(port, (
                f"GET {path}{quote(value)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Admin-Key: {ADMIN_KEY}"
                "\r\n\r\n").encode())
            assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", (path, value, body)
            assert set(body["error"]["fields"]) in ({"limit"}, {"offset"})
        status, _, _ = await raw_request(port, b"GET /api/v1/content?limit=10 HTTP/1.1\r\nHost: x\r\n"
                                               b"Connection: close\r\n\r\n")
        assert status == 200


@pytest.mark.parametrize("origins", [("https://allowed.example",), ("*",)])
async def test_every_answer_cors_can_change_says_vary_origin(settings: Settings, origins: tuple[str, ...]) -> None:
    async with serving(settings, cors_origins=origins) as port:
        assert (await post(port, "/api/v1/admin/content", jsonutil.dumps(
            {"type": "note", "slug": "n", "status": "published", "data": {"title": "t"}})))[0] == 201
        for path in ("/api/v1/content", "/api/v1/content/note/n", "/api/v1/content/note/missing",
                     "/api/health/live"):
            for origin in ("", "Origin: https://allowed.example\r\n", "Origin: https://other.example\r\n"):
                for _ in range(2):  # the second is a cached read: its head is pre-serialised
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{origin}\r\n".encode())
                    head = (await asyncio.wait_for(reader.read(), 10)).split(b"\r\n\r\n")[0].decode()
                    writer.close()
                    vary = [line.split(":", 1)[1] for line in head.split("\r\n") if line.lower().startswith("vary:")]
                    assert any("Origin" in value for value in vary), (path, origin, head)
                    if "public" in head:
                        assert any("Accept-Encoding" in value for value in vary) or "missing" in path


async def test_without_cors_cached_reads_vary_on_encoding_only(settings: Settings) -> None:
    async with serving(settings) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/v1/content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, _ = await read_response(reader)
        writer.close()
        assert status == 200 and headers["vary"] == "Accept-Encoding"
