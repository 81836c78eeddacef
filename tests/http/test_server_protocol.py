"""Connections at the edge, over raw sockets on loopback: slow and idle clients are closed and counted, the
connection cap sheds the oldest idle connection, and what aiohttp's parser refuses is answered in the error
envelope without echoing the request's bytes (issue 15)."""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_server import Server

from folionaut.core import jsonutil
from folionaut.core.logging import configure_logging
from folionaut.http.app import create_app
from folionaut.http.server import make_runner
from folionaut.settings import Settings
from tests.conftest import ADMIN_KEY

#: Every wait in these tests is bounded by this.
WAIT = 10.0


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[int]:
    """The app as `folionaut serve` runs it (its runner, connections with limits) on 127.0.0.1, port 0."""
    app_settings = settings.replace(metrics_public=True, **changes)
    runner = make_runner(create_app(app_settings), app_settings, descriptors=1024)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes the connection (bounded by WAIT)."""
    return await asyncio.wait_for(reader.read(), WAIT)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), WAIT)
    return status, headers, body


async def request(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return await read_response(reader)
    finally:
        writer.close()


async def closed_count(port: int, reason: str) -> float:
    status, _, body = await request(port, "/api/metrics")
    assert status == 200
    match = re.search(rf'^http_connections_closed_total\{{reason="{reason}"\}} (\S+)$', body.decode(), re.M)
    assert match is not None, body.decode()
    return float(match.group(1))


async def test_a_silent_connection_is_closed_after_the_head_timeout_and_counted(settings: Settings) -> None:
    async with serving(settings, http_head_timeout_ms=200) as port:
        assert await closed_count(port, "head_timeout") == 0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await read_until_closed(reader) == b""  # closed by the server, nothing said
        writer.close()
        assert await closed_count(port, "head_timeout") == 1


async def test_headers_dripped_slowly_are_cut_off(settings: Settings) -> None:
    async with serving(settings, http_head_timeout_ms=300) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/health/live HTTP/1.1\r\n")
        closed = False
        for index in range(40):  # a header every 50 ms would take 2 s: longer than the head may take
            try:
                writer.write(f"X-Drip-{index}: 1\r\n".encode())
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if reader.at_eof():
                closed = True
                break
            try:
                data = await asyncio.wait_for(reader.read(1), 0.05)
            except TimeoutError:
                continue
            assert data == b""  # no response: the head never completed
            closed = True
            break
        writer.close()
        assert closed
        assert await closed_count(port, "head_timeout") == 1


async def test_an_idle_keep_alive_connection_is_kept_then_closed(settings: Settings) -> None:
    # The head timeout is shorter than the idle wait: it must not cut an idle keep-alive connection.
    async with serving(settings, http_head_timeout_ms=150, http_keepalive_timeout_ms=1_500) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):
            writer.write(b"GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, _ = await read_response(reader)
            assert status == 200 and headers.get("connection") != "close"
            await asyncio.sleep(0.4)  # idle, longer than the head timeout
        assert await read_until_closed(reader) == b""  # then the keep-alive timeout closes it
        writer.close()
        assert await closed_count(port, "head_timeout") == 0


async def test_a_stalled_body_is_cut_off_and_counted(settings: Settings) -> None:
    async with serving(settings, http_body_timeout_ms=300) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST /api/v1/admin/content HTTP/1.1\r\nHost: x\r\nX-Admin-Key: {ADMIN_KEY}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":".encode())
        assert b"201" not in await read_until_closed(reader)
        writer.close()
        assert await closed_count(port, "body_timeout") == 1
        status, _, body = await request(port, "/api/v1/content")
        assert status == 200 and jsonutil.loads(body)["data"] == []  # nothing half-written


async def test_at_the_cap_the_oldest_idle_connection_makes_room(settings: Settings) -> None:
    async with serving(settings, http_max_connections=8, http_head_timeout_ms=60_000) as port:
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
        await asyncio.sleep(0.1)  # all accepted
        status, _, _ = await request(port, "/api/health/live")  # the ninth connection
        assert status == 200
        oldest_reader, _ = silent[0]
        assert await read_until_closed(oldest_reader) == b""
        newest_reader, _ = silent[-1]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(newest_reader.read(1), 0.2)  # still open
        assert await closed_count(port, "shed") >= 1
        for _, writer in silent:
            writer.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The service's JSON log lines, and aiohttp's own log records at every level (in caplog)."""
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    yield buffer
    logger = logging.getLogger("folionaut")
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


KEY_BYTES = ADMIN_KEY.encode()
MALFORMED = {
    "control character after the key": (b"GET /api/v1/admin/content HTTP/1.1\r\nHost: x\r\nX-Admin-Key: "
                                         + KEY_BYTES + b"\x01\r\n\r\n", 400),
    "space before the colon": b"GET /api/v1/admin/content HTTP/1.1\r\nHost: x\r\nX-Admin-Key : " + KEY_BYTES
                              + b"\r\n\r\n",
    "bad request line": b"GET /" + KEY_BYTES + b" \x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "header line too long": b"GET / HTTP/1.1\r\nHost: x\r\nX-Admin-Key: " + KEY_BYTES * 300 + b"\r\n\r\n",
    "HTTP/0.9 without a version": (b"GET /" + KEY_BYTES + b"\r\n\r\n", 505),
    "HTTP/0.9": (b"GET /api/health/live HTTP/0.9\r\nX-Admin-Key: " + KEY_BYTES + b"\r\n\r\n", 505),
    "HTTP/2.0": (b"GET /api/health/live HTTP/2.0\r\nHost: x\r\nX-Admin-Key: " + KEY_BYTES + b"\r\n\r\n", 505),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_requests_get_the_envelope_and_no_echo(
    settings: Settings, logs: io.StringIO, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    sent = MALFORMED[name]
    raw, expected = sent if isinstance(sent, tuple) else (sent, 400)
    async with serving(settings) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        status, headers, body = await read_response(reader)
        writer.close()
    assert status == expected
    error = jsonutil.loads(body)["error"]
    assert error["code"] == ("HTTP_VERSION_NOT_SUPPORTED" if expected == 505 else "BAD_REQUEST")
    assert error["requestId"] == headers["x-request-id"]
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff" and "default-src 'none'" in headers[
        "content-security-policy"]
    assert headers["server"] == "folionaut"
    assert KEY_BYTES not in body and ADMIN_KEY[:12].encode() not in body
    lines = [jsonutil.loads(line) for line in logs.getvalue().splitlines()]
    malformed = [line for line in lines if str(line["message"]).startswith("malformed request")]
    assert len(malformed) == 1 and malformed[0]["requestId"] == error["requestId"]
    assert ADMIN_KEY[:12] not in logs.getvalue()
    assert not [record for record in caplog.records if ADMIN_KEY[:12] in record.getMessage()
                or record.exc_info is not None]


async def test_ordinary_answers_name_no_server_version(settings: Settings) -> None:
    async with serving(settings) as port:
        for path in ("/api/health/live", "/api/v1/content", "/no/such/route"):
            _, headers, _ = await request(port, path)
            assert headers["server"] == "folionaut", path


def test_the_aiohttp_internals_the_protocol_uses_are_there() -> None:
    """Fails first when an aiohttp upgrade changes what http/fastpath/server_protocol.py relies on."""
    assert list(inspect.signature(RequestHandler.handle_error).parameters) == [
        "self", "request", "status", "exc", "message"]
    assert [field.name for field in _ErrInfo.__attrs_attrs__] == ["status", "exc", "message"]  # type: ignore[attr-defined]
    for name in ("_messages", "_request_count", "_waiter", "_loop"):
        assert name in RequestHandler.__slots__ or hasattr(RequestHandler, name), name
    server_init = inspect.signature(Server.__init__).parameters
    assert {"handler", "request_factory", "handler_cancellation", "loop"} <= set(server_init)
    assert "_kwargs" in inspect.getsource(Server.__init__) and "_connections" in inspect.getsource(Server.__init__)
    assert "_make_server" in vars(web.AppRunner)
    source: Callable[..., Any] = RequestHandler.data_received
    assert "_request_count += 1" in inspect.getsource(source)
