"""The small TTL key-value store (idempotency records, chat sessions): memory, Redis, fail-open."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from folionaut.cache.key_value_file import FileKeyValueStore
from folionaut.cache.key_value_store import (
    FailOpenKeyValueStore,
    KeyValueStore,
    MemoryKeyValueStore,
    RedisKeyValueStore,
)
from folionaut.core.clock import ManualClock
from folionaut.observability.metrics import Metrics
from folionaut.resilience.shared_redis import SharedRedis, create_redis_client
from tests.helpers.redis_server import RedisServer


async def check_basic_contract(store: KeyValueStore) -> None:
    assert await store.get("session:v1") is None
    await store.set("session:v1", b"sess_1", 60)
    assert await store.get("session:v1") == b"sess_1"
    assert await store.set_if_absent("idempotency:k", b"lock", 60) is True
    assert await store.set_if_absent("idempotency:k", b"other", 60) is False
    assert await store.get("idempotency:k") == b"lock"
    await store.delete("idempotency:k")
    assert await store.set_if_absent("idempotency:k", b"again", 60) is True
    # counters (the chat's daily token budget): absent counts as 0, increments add up
    assert await store.increment("chat:tokens:2025-01-25", 150, 60) == 150
    assert await store.increment("chat:tokens:2025-01-25", 50, 60) == 200
    assert await store.get("chat:tokens:2025-01-25") == b"200"


async def test_memory_store_contract_and_per_key_ttl() -> None:
    clock = ManualClock()
    store = MemoryKeyValueStore(clock)
    await check_basic_contract(store)

    await store.set("session:short", b"a", 10)
    await store.set("idempotency:long", b"b", 86_400)
    clock.advance(11)
    assert await store.get("session:short") is None
    assert await store.get("idempotency:long") == b"b"
    assert await store.set_if_absent("session:short", b"c", 10) is True  # expired keys count as absent

    # A counter's TTL runs from its creation, not from its last increment.
    await store.increment("chat:tokens:day", 5, 10)
    clock.advance(6)
    await store.increment("chat:tokens:day", 5, 10)
    clock.advance(5)
    assert await store.increment("chat:tokens:day", 1, 10) == 1


async def test_file_store_is_one_store_for_every_opener(tmp_path: Path) -> None:
    """The workers of a server each open the same file: what one stores, the others find; claims are exclusive."""
    clock = ManualClock()
    first, second = FileKeyValueStore(tmp_path / "kv", clock), FileKeyValueStore(tmp_path / "kv", clock)
    try:
        await check_basic_contract(first)
        assert await second.get("session:v1") == b"sess_1"
        assert await second.set_if_absent("idempotency:k", b"mine", 60) is False  # first's claim holds
        await first.set("session:short", b"a", 10)
        clock.advance(11)
        assert await second.get("session:short") is None
        assert await second.set_if_absent("session:short", b"c", 10) is True  # expired keys count as absent
        assert await first.get("session:short") == b"c"
        await second.delete("session:v1")
        assert await first.get("session:v1") is None
    finally:
        await first.close()
        await second.close()


async def test_memory_store_is_bounded() -> None:
    store = MemoryKeyValueStore(ManualClock(), max_entries=10)
    for number in range(50):
        await store.set(f"session:{number}", b"x", 60)
    assert await store.get("session:49") == b"x"
    assert await store.get("session:0") is None


async def test_redis_store_contract_and_ttls(redis_client: aioredis.Redis) -> None:
    store = RedisKeyValueStore(redis_client)
    await check_basic_contract(store)
    await store.set("session:visitor-1", b"sess_x", 1800)
    assert 0 < await redis_client.ttl("session:visitor-1") <= 1800
    await store.set_if_absent("idempotency:POST:/x:key", b"{}", 86_400)
    assert 86_000 < await redis_client.ttl("idempotency:POST:/x:key") <= 86_400
    # Two instances count into one total; the TTL is set once, when the counter is created.
    other = RedisKeyValueStore(redis_client)
    assert await store.increment("chat:tokens:day", 100, 172_800) == 100
    assert await other.increment("chat:tokens:day", 23, 10) == 123
    assert 172_000 < await redis_client.ttl("chat:tokens:day") <= 172_800


async def test_fail_open_store_survives_outage_and_returns_to_redis(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    metrics, clock = Metrics(), ManualClock()
    redis_client = create_redis_client(private_redis.url, timeout_seconds=0.5)
    inspector = create_redis_client(private_redis.url)
    health = SharedRedis(redis_client, clock, metrics)
    store = FailOpenKeyValueStore(
        RedisKeyValueStore(redis_client), MemoryKeyValueStore(clock), health, component="idempotency"
    )
    try:
        with caplog.at_level(logging.WARNING, logger="folionaut.redis"):
            await check_basic_contract(store)
            assert await inspector.get("session:v1") == b"sess_1"

            private_redis.stop()
            assert await store.get("session:v1") is None  # lived in Redis only
            assert await store.set_if_absent("idempotency:during", b"1", 60) is True
            assert await store.set_if_absent("idempotency:during", b"2", 60) is False
            await store.set("session:during", b"s", 60)
            assert await store.get("session:during") == b"s"

            private_redis.restart()
            clock.advance(2)
            await store.set("session:after", b"a", 60)
            assert await inspector.get("session:after") == b"a"
    finally:
        await redis_client.aclose()
        await inspector.aclose()
    messages = [r.getMessage() for r in caplog.records if r.name == "folionaut.redis"]
    assert len(messages) == 2
    assert "idempotency" in messages[0]
    assert metrics.registry.get_sample_value("redis_fallbacks_total", {"component": "idempotency"}) == 5
