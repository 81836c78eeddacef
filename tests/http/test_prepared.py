"""Pre-serialised responses are, on the wire, what aiohttp's own Response writes.

Both kinds are served side by side by a real aiohttp server on 127.0.0.1 and
read over a raw socket, so framing (Content-Length, Connection, HEAD, 304,
HTTP/1.0) is compared byte for byte, apart from header order and Date.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from folionaut.http.fastpath.prepared import BODY_CHUNK, LARGE_BODY, PreparedResponse, serialise_head
from folionaut.http.headers import SECURITY_HEADERS

BODY = b'{"data":{"greeting":"hello"}}'
#: Over LARGE_BODY and not a whole number of chunks: written after the head, in slices.
LARGE = b'{"data":"' + bytes(range(97, 123)) * ((3 * BODY_CHUNK + 1234) // 26) + b'"}'
assert len(LARGE) > LARGE_BODY and len(LARGE) % BODY_CHUNK
FIXED = {"ETag": 'W/"abc"', "Cache-Control": "public, max-age=60", "Content-Type": "application/json"}


def _body(request: web.Request) -> bytes:
    return LARGE if request.path.endswith("-large") else BODY


def plain(request: web.Request) -> web.Response:
    headers = {**FIXED, **SECURITY_HEADERS}
    if request.headers.get("If-None-Match") == FIXED["ETag"]:
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    return web.Response(body=_body(request), headers=headers)


def prepared(request: web.Request) -> PreparedResponse:
    if request.headers.get("If-None-Match") == FIXED["ETag"]:
        validators = {k: v for k, v in FIXED.items() if k != "Content-Type"}
        return PreparedResponse(304, serialise_head(304, validators))
    body = _body(request)
    return PreparedResponse(200, serialise_head(200, {**FIXED, "Content-Length": str(len(body))}), body)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async def plain_handler(request: web.Request) -> web.StreamResponse:
        return plain(request)

    async def prepared_handler(request: web.Request) -> web.StreamResponse:
        response = prepared(request)
        response.request_id = "req-1"
        return response

    async def hooked_handler(request: web.Request) -> web.StreamResponse:
        return prepared(request)

    async def add_hook_header(request: web.Request, response: web.StreamResponse) -> None:
        if request.path == "/hooked":
            response.headers["X-Hook"] = "seen"

    app = web.Application()
    app.router.add_get("/plain", plain_handler)
    app.router.add_get("/prepared", prepared_handler)
    app.router.add_get("/plain-large", plain_handler)
    app.router.add_get("/prepared-large", prepared_handler)
    app.router.add_get("/hooked", hooked_handler)
    app.on_response_prepare.append(add_hook_header)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def read_response(reader: asyncio.StreamReader, head_request: bool = False) -> dict[str, Any]:
    raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = raw_head.decode().split("\r\n")[:-2]
    headers = [tuple(line.split(": ", 1)) for line in lines]
    length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
    status = int(status_line.split(" ")[1])
    body = b"" if head_request or status == 304 else await asyncio.wait_for(reader.readexactly(length), 5)
    return {"status_line": status_line, "headers": headers, "body": body}


async def exchange(port: int, raw_requests: list[bytes],
                   head_request: bool = False) -> tuple[list[dict[str, Any]], str]:
    """Send the requests on one connection; return the responses and what followed them:
    "closed" (by the server), "open" (kept alive, nothing more sent) or stray bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"".join(raw_requests))
        responses = [await read_response(reader, head_request) for _ in raw_requests]
        try:
            after = (await asyncio.wait_for(reader.read(100), 0.2)).decode() or "closed"
        except TimeoutError:
            after = "open"
    finally:
        writer.close()
    return responses, after


def comparable(response: dict[str, Any], drop: tuple[str, ...] = ("date",)) -> tuple[str, list[tuple[str, str]], bytes]:
    headers = sorted((k.lower(), v) for k, v in response["headers"] if k.lower() not in drop)
    return response["status_line"], headers, response["body"]


REQUESTS = {
    "HTTP/1.1 keep-alive": (b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n", False),
    "HTTP/1.1 Connection: close": (b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
    "HTTP/1.0": (b"GET %s HTTP/1.0\r\n\r\n", False),
    "HTTP/1.0 keep-alive": (b"GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False),
    "HEAD": (b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n", True),
    "304": (b'GET %s HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/"abc"\r\n\r\n', False),
}


@pytest.mark.parametrize("size", ["", "-large"])
@pytest.mark.parametrize("case", list(REQUESTS))
async def test_a_prepared_response_is_written_as_aiohttp_writes_the_same_response(
        port: int, case: str, size: str) -> None:
    template, head_request = REQUESTS[case]
    (ours,), ours_after = await exchange(port, [template % f"/prepared{size}".encode()], head_request)
    (theirs,), theirs_after = await exchange(port, [template % f"/plain{size}".encode()], head_request)
    assert ("x-request-id", "req-1") in [(k.lower(), v) for k, v in ours["headers"]]
    assert comparable(ours, drop=("date", "x-request-id")) == comparable(theirs)
    assert ours_after == theirs_after  # keep-alive decided alike, and nothing sent after the response
    assert theirs_after in ("open", "closed")
    assert [k.lower() for k, _ in ours["headers"]].count("date") == 1


async def test_pipelined_requests_on_one_connection_each_get_their_response(port: int) -> None:
    request = b"GET /prepared HTTP/1.1\r\nHost: x\r\n\r\n"
    responses, after = await exchange(port, [request, request, request])
    assert [r["body"] for r in responses] == [BODY, BODY, BODY]
    assert after == "open"


async def test_large_bodies_pipelined_to_a_slow_reader_arrive_whole_and_in_order(port: int) -> None:
    # The socket fills and the writer waits for it to drain between chunks; nothing is lost or mixed up.
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
    try:
        writer.write(b"GET /prepared-large HTTP/1.1\r\nHost: x\r\n\r\n" * 2
                     + b"GET /prepared HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.3)  # let the server run ahead until the socket buffers are full
        bodies = [(await read_response(reader))["body"] for _ in range(3)]
    finally:
        writer.close()
    assert bodies == [LARGE, LARGE, BODY]


async def test_headers_added_before_sending_are_written(port: int) -> None:
    (response,), _ = await exchange(port, [b"GET /hooked HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert ("X-Hook", "seen") in response["headers"]  # on_response_prepare ran, as for any response
    assert response["body"] == BODY


def test_a_header_value_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="newline or carriage return"):
        serialise_head(200, {"X-Bad": "a\r\nSet-Cookie: x=1"})


def test_the_status_of_a_prepared_response_cannot_change() -> None:
    response = PreparedResponse(200, serialise_head(200, {}))
    with pytest.raises(RuntimeError):
        response.set_status(500)


def test_aiohttp_is_the_release_the_fast_path_is_tested_on() -> None:
    """PreparedResponse sets aiohttp's private fields: pyproject pins the minor release this file passes on,
    and the installed aiohttp must be inside that pin (an upgrade means re-running these tests first)."""
    import tomllib
    from importlib import metadata
    from pathlib import Path

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    pin = next(Requirement(r) for r in pyproject["project"]["dependencies"] if Requirement(r).name == "aiohttp")
    upper = [spec for spec in pin.specifier if spec.operator == "<"]
    assert upper, f"aiohttp must have an upper bound in pyproject.toml, got {pin}"
    assert pin.specifier.contains(metadata.version("aiohttp")), (metadata.version("aiohttp"), str(pin))
