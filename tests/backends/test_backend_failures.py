"""Turso outages as a client sees them, over real HTTP, driven by the Hrana server's switches.

For each failure (refused connection, a rejected token, 503, a server slower
than the call timeout) on both transports: an admin request gets a 500
envelope with its request id, ``database_connection_errors_total`` counts it,
exactly one log line names the cause and no log line holds the token, the
readiness probe says ``unhealthy`` / ``"database": "error"`` with 503, public
reads already cached keep being served, and everything comes back by itself
once the server does. A dropped WebSocket is healed without the reader noticing, and a
write it cut off is resolved (its receipt looked up, the write sent again) without the writer noticing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.core.logging import JsonFormatter
from folionaut.http.app import create_app
from folionaut.settings import test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import TEST_AUTH_TOKEN, DatabaseBackend, open_database_backend
from tests.helpers.hrana_server import HranaServer

ADMIN = "/api/v1/admin/content"
ADMIN_HEADERS = {"X-Admin-Key": ADMIN_KEY}
CALL_TIMEOUT_MS = 500  # a "slow" server answers after SLOW_SECONDS, well past this
SLOW_SECONDS = 3.0
RECOVERY_POLLS = 100  # × 0.1 s: the bound on waiting for the service to notice the server is back
_METRIC = re.compile(r"^database_connection_errors_total (\S+)$", re.MULTILINE)


class LogLines(logging.Handler):
    """Every record of the ``folionaut`` loggers, formatted as the service writes it to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, self.format(record)))

    def errors_since(self, mark: int) -> list[str]:
        return [line for level, line in self.lines[mark:] if level >= logging.ERROR]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logger = logging.getLogger("folionaut")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture(params=["hrana-http", "hrana-ws"])
async def remote(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    async with open_database_backend(request.param, tmp_path / "db") as backend:
        yield backend


@pytest.fixture
async def api(aiohttp_client: Any, remote: DatabaseBackend, data_dir: Path) -> TestClient:
    settings = test_settings(
        data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
        turso_call_timeout_ms=CALL_TIMEOUT_MS, **remote.settings_changes(),
    )
    return await aiohttp_client(create_app(settings))


async def _errors_metric(api: TestClient) -> float:
    response = await api.get("/api/metrics", headers=ADMIN_HEADERS)
    assert response.status == 200
    match = _METRIC.search(await response.text())
    assert match, "database_connection_errors_total is missing from /api/metrics"
    return float(match.group(1))


async def _ready(api: TestClient) -> tuple[int, Any]:
    response = await api.get("/api/health/ready")
    return response.status, await response.json()


async def _wait_until_ready(api: TestClient) -> None:
    for _ in range(RECOVERY_POLLS):
        status, _body = await _ready(api)
        if status == 200:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the service did not notice that the database was back")


# Each failure: how to break the server, what the cause in the log says, how to heal it.
Switch = Callable[[HranaServer], Awaitable[None]]


async def _refuse(server: HranaServer) -> None:
    await server.refuse()


async def _restart(server: HranaServer) -> None:
    await server.restart()


async def _reject_token(server: HranaServer) -> None:
    server.auth_token = "the-token-was-rotated-0123456789"
    await server.drop_sockets()  # an open WebSocket stays authenticated; its replacement is not


async def _accept_token(server: HranaServer) -> None:
    server.auth_token = TEST_AUTH_TOKEN


async def _fail_503(server: HranaServer) -> None:
    await server.fail_with_status(503)


async def _serve_again(server: HranaServer) -> None:
    await server.fail_with_status(None)


async def _slow(server: HranaServer) -> None:
    server.delay(SLOW_SECONDS)


async def _fast(server: HranaServer) -> None:
    server.delay(0)


FAILURES: dict[str, tuple[Switch, str, Switch]] = {
    "refused": (_refuse, "cannot connect", _restart),
    "bad-token": (_reject_token, "rejected the auth token", _accept_token),
    "503": (_fail_503, "503", _serve_again),
    "timeout": (_slow, "no answer within 0.5 s", _fast),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_backend_outage_is_a_clear_500_and_heals(
    api: TestClient, remote: DatabaseBackend, log_lines: LogLines, failure: str
) -> None:
    assert remote.server is not None
    break_server, cause, heal_server = FAILURES[failure]
    created = await api.post(ADMIN, headers=ADMIN_HEADERS,
                             json={"type": "project", "data": {"title": "Survivor"}, "status": "published"})
    assert created.status == 201
    cached = await api.get("/api/v1/content/bundle")
    assert cached.status == 200
    cached_body = await cached.read()
    assert await _ready(api) == (200, {"status": "ready", "checks": {"database": "ok"}})
    errors_before = await _errors_metric(api)

    await break_server(remote.server)

    mark = len(log_lines.lines)
    failed = await api.get(ADMIN, headers={**ADMIN_HEADERS, "X-Request-Id": f"outage-{failure}"})
    assert failed.status == 500
    assert await failed.json() == {"error": {
        "code": "INTERNAL_SERVER_ERROR", "message": "Internal server error", "requestId": f"outage-{failure}"}}
    assert failed.headers["X-Request-Id"] == f"outage-{failure}"
    # Exactly one line for the failure, naming its cause and the request, never the token.
    errors = log_lines.errors_since(mark)
    assert len(errors) == 1, errors
    assert cause in errors[0] and f"outage-{failure}" in errors[0]
    assert await _errors_metric(api) == errors_before + 1

    assert await _ready(api) == (503, {"status": "unhealthy", "checks": {"database": "error"}})
    # Reads already in the cache keep working through the outage; uncached ones cannot.
    during = await api.get("/api/v1/content/bundle")
    assert during.status == 200 and await during.read() == cached_body
    assert (await api.get("/api/v1/content", params={"type": "skill"})).status == 500
    write = await api.post(ADMIN, headers=ADMIN_HEADERS, json={"type": "project", "data": {"title": "Lost"}})
    assert write.status == 500
    assert await _errors_metric(api) >= errors_before + 4  # the admin read, probe, public read and write

    await heal_server(remote.server)

    await _wait_until_ready(api)
    assert (await api.get("/api/v1/content", params={"type": "skill"})).status == 200
    listing = await api.get(ADMIN, headers=ADMIN_HEADERS)
    assert listing.status == 200
    assert "Survivor" in [item["data"]["title"] for item in (await listing.json())["data"]]
    again = await api.post(ADMIN, headers=ADMIN_HEADERS, json={"type": "project", "data": {"title": "Back"}})
    assert again.status == 201
    assert all(TEST_AUTH_TOKEN not in line for _, line in log_lines.lines)


@pytest.mark.parametrize("remote", ["hrana-ws"], indirect=True)
async def test_backend_dropped_websocket_heals_reads_and_resolves_writes(
    aiohttp_client: Any, remote: DatabaseBackend, data_dir: Path, log_lines: LogLines
) -> None:
    assert remote.server is not None
    # A call timeout well beyond the server's delay below, so what fails the write is the drop.
    settings = test_settings(data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
                             turso_call_timeout_ms=10_000, **remote.settings_changes())
    api = await aiohttp_client(create_app(settings))
    created = await api.post(ADMIN, headers=ADMIN_HEADERS, json={"type": "project", "data": {"title": "Kept"}})
    assert created.status == 201
    errors_before = await _errors_metric(api)

    # A read on a connection that died under it is retried on a fresh one: the reader never knows.
    await remote.server.drop_sockets()
    listing = await api.get(ADMIN, headers=ADMIN_HEADERS)
    assert listing.status == 200 and len((await listing.json())["data"]) == 1
    assert await _errors_metric(api) == errors_before

    # A write in flight when the socket drops may or may not have applied: its receipt is looked
    # up, and (not there) it is sent again. The writer gets its 201, and the item exists once.
    remote.server.delay(2.0)  # holds the write on the server while the socket drops
    mark = len(log_lines.lines)
    write = asyncio.ensure_future(api.post(
        ADMIN, headers={**ADMIN_HEADERS, "X-Request-Id": "dropped-write"},
        json={"type": "project", "slug": "in-flight", "data": {"title": "In flight"}}))
    await asyncio.sleep(0.2)
    await remote.server.drop_sockets()
    remote.server.delay(0)
    response = await write
    assert response.status == 201, await response.text()
    assert (await response.json())["data"]["slug"] == "in-flight"
    assert log_lines.errors_since(mark) == []
    assert await _errors_metric(api) == errors_before
    listing = await api.get(ADMIN, headers=ADMIN_HEADERS)
    assert sorted(item["slug"] for item in (await listing.json())["data"]) == ["in-flight", "kept"]
    assert all(TEST_AUTH_TOKEN not in line for _, line in log_lines.lines)
