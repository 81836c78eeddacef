"""The edge and routes that stream (streams=True): headers before the head goes out, the deadline
handed over, a failure after the head ends the stream; routes that do not stream get none of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.http.routing import Access, Route
from folionaut.http.streaming import STREAM_EDGE, sse_event
from folionaut.settings import Settings
from tests.http.test_edge import assert_edge_headers

ORIGIN = "https://allowed.example"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECONDS_LEFT = web.RequestKey("seconds_left", float)
BOUNDED = aiohttp.ClientTimeout(total=5)  # a broken stream fails the test instead of hanging it


def route(path: str, handler: Handler, **facts: Any) -> Route:
    return Route("GET", path, handler, Access.PUBLIC, operation={"summary": "test only"}, **facts)


async def start(aiohttp_client: Any, settings: Settings, *routes: Route) -> TestClient:
    app = create_app(settings.replace(cors_origins=(ORIGIN,), request_timeout_ms=300, feature_rate_limiting=True),
                     extra_routes=routes)
    return await aiohttp_client(app)


async def open_stream(request: web.Request, *, take_deadline: bool = False) -> web.StreamResponse:
    edge = request[STREAM_EDGE]
    if take_deadline:
        left = edge.take_deadline()
        assert left is not None
        request[SECONDS_LEFT] = left
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    edge.prepare_headers(response)
    await response.prepare(request)
    await response.write(sse_event("one", {"n": 1}))
    return response


async def test_a_stream_carries_the_edge_headers_once(aiohttp_client: Any, settings: Settings) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write_eof()
        return response

    client = await start(aiohttp_client, settings, route("/test-only/stream", stream, streams=True,
                                                          limiter="content"))
    response = await client.get("/test-only/stream", timeout=BOUNDED,
                                headers={"Origin": ORIGIN, "X-Request-Id": "stream-1"})
    assert response.status == 200 and await response.text() == 'event: one\ndata: {"n":1}\n\n'
    assert_edge_headers(response)
    assert response.headers["X-Request-Id"] == "stream-1"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["X-RateLimit-Limit"] == str(settings.content_rate_limit_capacity)
    names = [name.decode().lower() for name, _ in response.raw_headers]
    assert len(names) == len(set(names)), names


async def test_a_route_that_does_not_stream_gets_no_stream_edge(aiohttp_client: Any, settings: Settings) -> None:
    async def plain(request: web.Request) -> web.Response:
        return web.json_response({"streamEdge": STREAM_EDGE in request})

    async def streaming(request: web.Request) -> web.Response:
        return web.json_response({"streamEdge": STREAM_EDGE in request})

    client = await start(aiohttp_client, settings, route("/test-only/plain", plain),
                         route("/test-only/streaming", streaming, streams=True))
    assert await (await client.get("/test-only/plain", timeout=BOUNDED)).json() == {"streamEdge": False}
    # A streaming route may still answer plainly; the edge then adds its headers as for any response.
    answered = await client.get("/test-only/streaming", timeout=BOUNDED, headers={"Origin": ORIGIN})
    assert await answered.json() == {"streamEdge": True}
    assert_edge_headers(answered)
    assert answered.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_a_failure_after_the_head_went_out_ends_the_stream(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    async def breaks(request: web.Request) -> web.StreamResponse:
        await open_stream(request)
        raise RuntimeError("broke mid-stream")

    client = await start(aiohttp_client, settings, route("/test-only/breaks", breaks, streams=True))
    response = await client.get("/test-only/breaks", timeout=BOUNDED, headers={"X-Request-Id": "broken-stream"})
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    # What was sent stays as it was: no error envelope (or second head) written into the stream.
    assert await response.text() == 'event: one\ndata: {"n":1}\n\n'
    [logged] = [record for record in caplog.records if record.name == "folionaut.http"]
    assert logged.levelno == logging.ERROR and logged.exc_info and "broke mid-stream" in str(logged.exc_info[1])
    assert (await client.get("/api/health/live")).status == 200  # the connection is still sound


async def test_a_stream_keeps_its_deadline_once_taken_and_is_cut_when_not(
    aiohttp_client: Any, settings: Settings,
) -> None:
    async def keeps(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request, take_deadline=True)
        await asyncio.sleep(0.5)  # past the 300 ms deadline, which is the handler's now
        await response.write(sse_event("late", {"left": request[SECONDS_LEFT]}))
        await response.write_eof()
        return response

    async def overruns(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await asyncio.sleep(5)  # the edge's deadline cancels this
        await response.write(sse_event("never", {}))
        return response

    client = await start(aiohttp_client, settings, route("/test-only/keeps", keeps, streams=True),
                         route("/test-only/overruns", overruns, streams=True))
    kept = await (await client.get("/test-only/keeps", timeout=BOUNDED)).text()
    # The seconds left when it took over (deadlines share 10 ms slots, so up to 10 ms more).
    assert "event: late" in kept and 0 < float(kept.split('"left":')[1].split("}")[0]) <= 0.31
    cut = await client.get("/test-only/overruns", timeout=BOUNDED)
    # The head went out before the deadline, so there is no 504 to give: the stream just ends.
    assert cut.status == 200 and await cut.text() == 'event: one\ndata: {"n":1}\n\n'
