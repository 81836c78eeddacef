"""Redis L2 cache (exact keys, TTL), the L1+L2 layering, and failing open to L1 when Redis goes."""

from __future__ import annotations

import logging

import pytest
import redis.asyncio as aioredis

from folionaut.cache.base import CacheEntry, bundle_key, item_key, keys_touched_by, list_key
from folionaut.cache.layered import LayeredCache
from folionaut.cache.memory import MemoryCache
from folionaut.cache.redis import RedisCache, encode_entry
from folionaut.core.clock import ManualClock
from folionaut.observability.metrics import Metrics
from folionaut.resilience.shared_redis import SharedRedis, create_redis_client
from tests.helpers.redis_server import RedisServer

ENTRY = CacheEntry(body=b'{"data":[1,2,3]}', etag='W/"abc123"')




def ops(metrics: Metrics, operation: str, result: str, layer: str) -> float | None:
    return metrics.registry.get_sample_value(
        "cache_operations_total", {"operation": operation, "result": result, "layer": layer}
    )


def layered(redis_client: aioredis.Redis, metrics: Metrics, clock: ManualClock, l1_ttl: float = 5) -> LayeredCache:
    health = SharedRedis(redis_client, clock, metrics)
    return LayeredCache(MemoryCache(l1_ttl, metrics), RedisCache(redis_client, 300, metrics), health)


async def test_redis_cache_stores_under_exact_keys_with_ttl(redis_client: aioredis.Redis) -> None:
    metrics = Metrics()
    assert ops(metrics, "get", "hit", "redis") is None
    cache = RedisCache(redis_client, 300, metrics)
    assert ops(metrics, "get", "hit", "redis") == 0  # series exist once Redis is configured

    key = item_key("project", "folionaut")
    assert key == "content:item:project:folionaut"
    assert await cache.get(key) is None
    await cache.set(key, ENTRY)
    assert await cache.get(key) == ENTRY
    assert 0 < await redis_client.ttl(key) <= 300
    assert ops(metrics, "get", "miss", "redis") == 1
    assert ops(metrics, "get", "hit", "redis") == 1

    await cache.set(bundle_key(), ENTRY)
    await cache.set(list_key("project"), ENTRY)
    await redis_client.set("session:keep-me", b"x")
    await cache.delete(key)
    assert await redis_client.exists(key) == 0
    await cache.clear()
    assert sorted(await redis_client.keys("*")) == [b"folionaut-test:lease", b"session:keep-me"]


async def test_l2_hit_fills_l1_and_invalidation_reaches_both(redis_client: aioredis.Redis) -> None:
    metrics = Metrics()
    writer = layered(redis_client, metrics, ManualClock())
    reader = layered(redis_client, metrics, ManualClock())  # a second instance sharing L2

    await writer.set(list_key(None), ENTRY)
    assert await reader.get(list_key(None)) == ENTRY  # from L2
    assert reader.l1.get_now(list_key(None)) == ENTRY  # and now in L1
    await reader.delete(*keys_touched_by("project", "x"))
    assert await redis_client.exists(list_key(None)) == 0
    assert reader.l1.get_now(list_key(None)) is None
    assert ops(metrics, "get", "hit", "redis") == 1


async def test_redis_outage_serves_l1_logs_once_and_recovers(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    metrics, clock = Metrics(), ManualClock()
    redis_client = create_redis_client(private_redis.url, timeout_seconds=0.5)
    inspector = create_redis_client(private_redis.url)
    cache = layered(redis_client, metrics, clock)
    try:
        with caplog.at_level(logging.WARNING, logger="folionaut.redis"):
            await cache.set(bundle_key(), ENTRY)
            private_redis.stop()

            assert await cache.get(bundle_key()) == ENTRY  # L1 still answers
            assert await cache.get(list_key(None)) is None  # miss, but no error
            await cache.set(list_key(None), ENTRY)  # L1 only
            assert await cache.get(list_key(None)) == ENTRY
            for _ in range(5):
                assert await cache.get(item_key("a", "b")) is None

            private_redis.restart()
            clock.advance(2)
            await cache.set(item_key("a", "b"), ENTRY)  # the probe: Redis is used again
            assert await inspector.get(item_key("a", "b")) is not None
    finally:
        await redis_client.aclose()
        await inspector.aclose()
    messages = [r.getMessage() for r in caplog.records if r.name == "folionaut.redis"]
    assert len(messages) == 2 and "unavailable" in messages[0] and "again" in messages[1]
    assert (metrics.registry.get_sample_value("redis_fallbacks_total", {"component": "cache"}) or 0) >= 7


async def test_invalidation_missed_during_outage_is_applied_on_recovery(private_redis: RedisServer) -> None:
    metrics, clock = Metrics(), ManualClock()
    redis_client = create_redis_client(private_redis.url, timeout_seconds=0.5)
    inspector = create_redis_client(private_redis.url)
    cache = layered(redis_client, metrics, clock)
    try:
        await cache.set(bundle_key(), ENTRY)
        private_redis.stop()
        await cache.delete(bundle_key())  # an admin edit during the outage
        assert cache.has_pending_invalidations
        private_redis.restart()
        # A persistent Redis comes back with the old entry still in it.
        await inspector.set(bundle_key(), encode_entry(ENTRY), ex=300)
        clock.advance(2)
        # Another instance's stale L2 copy must not be served after recovery.
        assert await cache.get(bundle_key()) is None
        assert not cache.has_pending_invalidations
        assert await inspector.exists(bundle_key()) == 0
    finally:
        await redis_client.aclose()
        await inspector.aclose()
