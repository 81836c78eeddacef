"""Rate limits, Redis fail-open and readiness over real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
from aiohttp import web

from folionaut.http.app import create_app
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.routing import Access, Route
from folionaut.settings import Settings
from tests.helpers.redis_server import RedisServer

MakeClient = Callable[..., Awaitable[Any]]


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.replace(feature_rate_limiting=True, content_rate_limit_capacity=2,
                            content_rate_limit_refill_rate=0.01)


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


async def test_429_shape_and_headers(make_client: MakeClient, limited: Settings) -> None:
    client = await make_client(limited)
    first = await client.get("/api/v1/content")
    second = await client.get("/api/v1/content")
    refused = await client.get("/api/v1/content")

    assert first.status == second.status == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert [first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]] == ["1", "0"]
    assert int(second.headers["X-RateLimit-Reset"]) > 1_600_000_000  # epoch seconds
    assert "Retry-After" not in second.headers

    assert refused.status == 429
    body = await refused.json()
    error = body["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert isinstance(error["retryAfter"], int) and error["retryAfter"] >= 1
    assert refused.headers["Retry-After"] == str(error["retryAfter"])
    assert error["requestId"] == refused.headers["X-Request-Id"]
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "fields" not in error


async def test_every_public_content_route_shares_the_content_bucket(make_client: MakeClient, limited: Settings) -> None:
    client = await make_client(limited)
    assert (await client.get("/api/v1/content/bundle")).status == 200
    assert (await client.get("/api/v1/content/project/missing")).status == 404  # still takes a token
    limited_again = await client.get("/api/v1/content?type=project")
    assert limited_again.status == 429
    health = await client.get("/api/health/live")
    assert health.status == 200 and "X-RateLimit-Limit" not in health.headers


async def test_feature_flag_off_disables_limits(make_client: MakeClient, settings: Settings) -> None:
    client = await make_client(settings.replace(feature_rate_limiting=False, content_rate_limit_capacity=1))
    for _ in range(5):
        response = await client.get("/api/v1/content")
        assert response.status == 200
        assert "X-RateLimit-Limit" not in response.headers


async def test_forwarded_for_only_counts_behind_trusted_proxies(make_client: MakeClient, limited: Settings) -> None:
    direct = await make_client(limited)
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        response = await direct.get("/api/v1/content", headers={"X-Forwarded-For": address})
    assert response.status == 429  # forged headers do not buy new buckets

    proxied = await make_client(limited.replace(trust_proxy=1))
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        response = await proxied.get("/api/v1/content", headers={"X-Forwarded-For": f"6.6.6.6, {address}"})
        assert response.status == 200  # one bucket per real client behind the proxy


async def test_two_instances_share_one_redis_bucket(
    make_client: MakeClient, limited: Settings, redis_url: str
) -> None:
    shared = limited.replace(redis_url=redis_url, content_rate_limit_capacity=4)
    first, second = await make_client(shared), await make_client(shared)
    statuses = [(await (first if n % 2 else second).get("/api/v1/content")).status for n in range(8)]
    assert statuses.count(200) == 4 and statuses.count(429) == 4
    inspector = redis.Redis.from_url(redis_url)
    try:
        keys = [key.decode() for key in inspector.scan_iter(match="ratelimit:*")]
    finally:
        inspector.close()
    assert len(keys) == 1 and keys[0].startswith("ratelimit:content:")
    assert "127.0.0.1" not in keys[0]


async def test_redis_killed_mid_run_degrades_then_recovers(
    make_client: MakeClient, limited: Settings, private_redis: RedisServer
) -> None:
    client = await make_client(limited.replace(redis_url=private_redis.url, content_rate_limit_capacity=1000))
    ready = await client.get("/api/health/ready")
    assert ready.status == 200
    assert await ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    assert (await client.get("/api/v1/content")).status == 200

    private_redis.stop()
    for _ in range(5):
        response = await client.get("/api/v1/content")
        assert response.status == 200
        assert "X-RateLimit-Remaining" in response.headers
    ready = await client.get("/api/health/ready")
    assert ready.status == 200
    assert await ready.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "error"}}

    private_redis.restart()
    ready = await client.get("/api/health/ready")
    assert (await ready.json())["status"] == "ready"
    assert (await client.get("/api/v1/content/bundle")).status == 200  # not yet in L1: goes to L2
    inspector = redis.Redis.from_url(private_redis.url)
    try:
        assert any(inspector.scan_iter(match="ratelimit:content:*"))  # back on the shared bucket
        assert inspector.exists("content:bundle") == 1  # and the shared cache
    finally:
        inspector.close()


async def test_chat_bucket_is_separate_and_sized_by_rate_limit_settings(
    aiohttp_client: Any, limited: Settings
) -> None:
    seen: list[str] = []

    async def chat_like(request: web.Request) -> web.Response:
        seen.append(client_ip_hash(request))
        return web.json_response({"ok": True})

    chat_like_route = Route("POST", "/test/chat", chat_like, Access.PUBLIC, limiter="chat",
                            operation={"summary": "a test route limited like chat"})
    app = create_app(limited.replace(rate_limit_capacity=3, rate_limit_refill_rate=0.01),
                     extra_routes=[chat_like_route])
    client = await aiohttp_client(app)
    statuses = [(await client.post("/test/chat")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert (await client.get("/api/v1/content")).status == 200  # content bucket untouched
    assert len(set(seen)) == 1 and len(seen[0]) == 16
