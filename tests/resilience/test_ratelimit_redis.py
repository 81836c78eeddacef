"""Redis token buckets: one shared bucket across processes, key layout, fail-open and recovery."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from folionaut.core.clock import ManualClock, SystemClock
from folionaut.observability.metrics import Metrics
from folionaut.resilience.ratelimit import (
    MAX_TAKES_PER_SCRIPT,
    FailOpenRateLimiter,
    MemoryRateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)
from folionaut.resilience.shared_redis import SharedRedis, create_redis_client
from tests.helpers.redis_server import RedisServer, closed_port_url


async def test_two_processes_share_one_bucket_exactly(redis_url: str) -> None:
    # Two clients with their own connection pools, as two app instances would have.
    first, second = create_redis_client(redis_url), create_redis_client(redis_url)
    try:
        limiters = [RedisRateLimiter("content", 10, 0.001, first), RedisRateLimiter("content", 10, 0.001, second)]
        decisions = await asyncio.wait_for(
            asyncio.gather(*(limiters[n % 2].take("shared-redis_client") for n in range(20))), timeout=10
        )
    finally:
        await first.aclose()
        await second.aclose()
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))
    assert all(d.retry_after >= 1 for d in decisions if not d.allowed)


async def evalsha_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_concurrent_takes_share_one_script_run_and_stay_exact(private_redis: RedisServer) -> None:
    client = create_redis_client(private_redis.url)
    try:
        limiter = RedisRateLimiter("content", 10, 0.001, client)
        await limiter.take("warm-up")  # loads the script
        before = await evalsha_calls(client)
        decisions = await asyncio.wait_for(asyncio.gather(*(limiter.take("one-client") for _ in range(25))), 10)
        runs = await evalsha_calls(client) - before
    finally:
        await client.aclose()
    # Taken in the order they came, each seeing the one before: 10 allowed (9, 8, ... 0 left), then refusals.
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 15
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    assert runs == 1  # 25 requests of one moment, one round trip


async def test_a_burst_larger_than_one_run_is_split_and_every_take_answered(redis_client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter("content", 1000, 0.001, redis_client)
    count = MAX_TAKES_PER_SCRIPT * 2 + 10
    decisions = await asyncio.wait_for(asyncio.gather(*(limiter.take("burst") for _ in range(count))), 10)
    assert all(d.allowed for d in decisions)
    assert sorted(d.remaining for d in decisions) == list(range(1000 - count, 1000))


async def test_a_cancelled_take_leaves_the_others_of_its_run_answered(redis_client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter("content", 10, 0.001, redis_client)
    takes = [asyncio.ensure_future(limiter.take("mixed")) for _ in range(5)]
    await asyncio.sleep(0)  # all five have joined the run
    takes[2].cancel()
    results = await asyncio.wait_for(asyncio.gather(*takes, return_exceptions=True), 10)
    assert isinstance(results[2], asyncio.CancelledError)
    assert [r.allowed for n, r in enumerate(results) if n != 2] == [True] * 4


async def test_the_script_is_loaded_again_after_redis_forgets_it(private_redis: RedisServer) -> None:
    client = create_redis_client(private_redis.url)
    try:
        limiter = RedisRateLimiter("content", 10, 0.001, client)
        await limiter.take("reload")
        await client.script_flush()  # as after a Redis restart (a server of this test's own: flush is server-wide)
        decisions = await asyncio.wait_for(asyncio.gather(*(limiter.take("reload") for _ in range(3))), 10)
        assert [d.remaining for d in decisions] == [8, 7, 6]
        assert await client.script_exists(limiter._script.sha) == [True]
    finally:
        await client.aclose()


async def test_concurrent_takes_all_fall_back_when_redis_is_unreachable() -> None:
    metrics = Metrics()
    clock = ManualClock()
    redis_client = create_redis_client(closed_port_url(), timeout_seconds=0.5)
    health = SharedRedis(redis_client, clock, metrics)
    limiter = build_rate_limiter("content", 3, 0.01, clock=clock, metrics=metrics, shared_redis=health)
    try:
        results = await asyncio.wait_for(asyncio.gather(*(limiter.take("c") for _ in range(5))), 10)
    finally:
        await redis_client.aclose()
    assert [r.allowed for r in results] == [True, True, True, False, False]  # the in-process bucket, exact
    assert metrics.registry.get_sample_value("redis_fallbacks_total", {"component": "ratelimit"}) == 5


async def test_key_layout_and_ttl(redis_client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter("chat", 5, 0.5, redis_client)
    decision = await limiter.take("abcdef0123456789")
    assert decision.allowed and decision.remaining == 4 and decision.limit == 5

    key = "ratelimit:chat:abcdef0123456789"
    assert await redis_client.exists(key) == 1
    state = await redis_client.hgetall(key)
    assert float(state[b"tokens"]) == pytest.approx(4, abs=0.01)
    ttl_ms = await redis_client.pttl(key)
    assert 0 < ttl_ms <= 11_000  # an empty bucket fills in 10 s, plus one second


async def test_redis_bucket_refuses_with_retry_after(redis_client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter("chat", 2, 0.25, redis_client)
    results = [await limiter.take("c") for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert results[2].retry_after == 4
    assert results[2].remaining == 0


async def test_script_is_loaded_once_and_reused(redis_client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter("content", 3, 1.0, redis_client)
    await limiter.take("c")
    assert await redis_client.script_exists(limiter._script.sha) == [True]


async def test_unreachable_redis_fails_open_logging_once(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    clock = ManualClock()
    redis_client = create_redis_client(closed_port_url(), timeout_seconds=0.5)
    health = SharedRedis(redis_client, clock, metrics)
    limiter = build_rate_limiter(
        "content", 3, 0.01, clock=clock, metrics=metrics,
        shared_redis=health,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="folionaut.redis"):
            results = [await limiter.take("c") for _ in range(5)]
            clock.advance(5)  # past the cool-down: one more attempt, still down, still no new warning
            results.append(await limiter.take("c"))
    finally:
        await redis_client.aclose()
    assert [r.allowed for r in results] == [True, True, True, False, False, False]
    warnings = [r for r in caplog.records if r.name == "folionaut.redis"]
    assert len(warnings) == 1
    assert "Redis unavailable" in warnings[0].getMessage()
    assert metrics.registry.get_sample_value("redis_fallbacks_total", {"component": "ratelimit"}) == 6
    assert not health.is_up


async def test_outage_mid_run_then_automatic_recovery(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    clock = ManualClock()
    redis_client = create_redis_client(private_redis.url, timeout_seconds=0.5)
    health = SharedRedis(redis_client, clock, metrics, retry_interval_seconds=2.0)
    primary = RedisRateLimiter("content", 100, 0.01, redis_client)
    limiter = FailOpenRateLimiter(primary, MemoryRateLimiter("content", 100, 0.01, SystemClock()), health)
    inspector = create_redis_client(private_redis.url)
    try:
        with caplog.at_level(logging.WARNING, logger="folionaut.redis"):
            await limiter.take("c")
            assert await inspector.exists("ratelimit:content:c") == 1

            private_redis.stop()  # outage mid-run
            during = [await limiter.take("c") for _ in range(10)]
            assert all(d.allowed for d in during)
            assert not health.is_up

            private_redis.restart()  # back, empty
            await limiter.take("c")  # still inside the cool-down: in process
            assert await inspector.exists("ratelimit:content:c") == 0

            clock.advance(2.0)
            await limiter.take("c")  # the probe reaches Redis again
            assert health.is_up
            assert await inspector.exists("ratelimit:content:c") == 1
    finally:
        await redis_client.aclose()
        await inspector.aclose()
    messages = [r.getMessage() for r in caplog.records if r.name == "folionaut.redis"]
    assert len(messages) == 2  # one "unavailable", one "reachable again"
    assert "unavailable" in messages[0] and "again" in messages[1]
    assert metrics.registry.get_sample_value("redis_fallbacks_total", {"component": "ratelimit"}) == 11


async def test_ping_reports_state(private_redis: RedisServer) -> None:
    metrics = Metrics()
    redis_client = create_redis_client(private_redis.url, timeout_seconds=0.5)
    health = SharedRedis(redis_client, ManualClock(), metrics)
    try:
        assert await health.ping()
        private_redis.stop()
        assert not await health.ping()
        assert not health.is_up
        private_redis.restart()
        assert await health.ping()  # ignores the cool-down: readiness always asks
        assert health.is_up
    finally:
        await redis_client.aclose()
